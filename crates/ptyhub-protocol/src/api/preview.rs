//! A session's screen preview: its last non-blank lines with their colours,
//! for a dashboard that shows every session small (the SSE event
//! `session_preview` of `GET /api/events?preview_lines=N`).

use serde::{Deserialize, Serialize};

/// A colour in a preview: a palette index (0–255, the terminal's own
/// colours for 0–15) or `"#rrggbb"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PreviewColor {
    /// A palette index.
    Indexed(u8),
    /// A 24-bit colour, `"#rrggbb"`.
    Rgb(String),
}

/// A run of cells with the same look. Absent attributes are off; an absent
/// colour is the terminal's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviewRun {
    /// The run's text (to be shown as text, never as HTML).
    pub text: String,
    /// Its foreground colour; absent: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fg: Option<PreviewColor>,
    /// Its background colour; absent: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bg: Option<PreviewColor>,
    /// Bold.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bold: bool,
    /// Dim.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dim: bool,
    /// Italic.
    #[serde(default, skip_serializing_if = "is_false")]
    pub italic: bool,
    /// Underlined.
    #[serde(default, skip_serializing_if = "is_false")]
    pub underline: bool,
    /// Foreground and background swapped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inverse: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The SSE event `session_preview`: one session's last lines now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionPreview {
    /// The session's id.
    pub id: String,
    /// Its last non-blank screen lines (at most the `preview_lines` asked
    /// for), top to bottom, each a list of runs; blank lines between them
    /// are kept.
    pub lines: Vec<Vec<PreviewRun>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_is_small_json() {
        let p = SessionPreview {
            id: "x".into(),
            lines: vec![vec![
                PreviewRun {
                    text: "ok ".into(),
                    fg: Some(PreviewColor::Indexed(2)),
                    bold: true,
                    ..PreviewRun::default()
                },
                PreviewRun {
                    text: "<b>".into(),
                    bg: Some(PreviewColor::Rgb("#102030".into())),
                    ..PreviewRun::default()
                },
            ]],
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "x", "lines": [[
                {"text": "ok ", "fg": 2, "bold": true},
                {"text": "<b>", "bg": "#102030"}]]})
        );
        assert_eq!(serde_json::from_value::<SessionPreview>(json).unwrap(), p);
    }
}
