//! Resize policies (tmux's `window-size`): which clients' sizes decide the
//! terminal's.

use ptyhub_protocol::api::ResizePolicy;
use ptyhub_pty::WindowSize;

/// The size a policy picks. `latest` is the size just asked for; `smallest`
/// and `largest` go per dimension over the writable clients' sizes; `fixed`
/// and an empty set keep `current`.
pub(crate) fn pick(
    policy: ResizePolicy,
    current: WindowSize,
    latest: Option<WindowSize>,
    writable: &[WindowSize],
) -> WindowSize {
    match policy {
        ResizePolicy::Fixed => current,
        ResizePolicy::Latest => latest.unwrap_or(current),
        ResizePolicy::Smallest | ResizePolicy::Largest if writable.is_empty() => current,
        ResizePolicy::Smallest => WindowSize {
            cols: writable
                .iter()
                .map(|s| s.cols)
                .min()
                .unwrap_or(current.cols),
            rows: writable
                .iter()
                .map(|s| s.rows)
                .min()
                .unwrap_or(current.rows),
        },
        ResizePolicy::Largest => WindowSize {
            cols: writable
                .iter()
                .map(|s| s.cols)
                .max()
                .unwrap_or(current.cols),
            rows: writable
                .iter()
                .map(|s| s.rows)
                .max()
                .unwrap_or(current.rows),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUR: WindowSize = WindowSize { cols: 80, rows: 24 };

    #[test]
    fn policies() {
        let a = WindowSize {
            cols: 100,
            rows: 20,
        };
        let b = WindowSize { cols: 60, rows: 40 };
        assert_eq!(pick(ResizePolicy::Latest, CUR, Some(b), &[a, b]), b);
        assert_eq!(
            pick(ResizePolicy::Smallest, CUR, Some(b), &[a, b]),
            WindowSize { cols: 60, rows: 20 }
        );
        assert_eq!(
            pick(ResizePolicy::Largest, CUR, Some(b), &[a, b]),
            WindowSize {
                cols: 100,
                rows: 40
            }
        );
        assert_eq!(pick(ResizePolicy::Fixed, CUR, Some(b), &[a, b]), CUR);
        assert_eq!(pick(ResizePolicy::Smallest, CUR, None, &[]), CUR);
    }
}
