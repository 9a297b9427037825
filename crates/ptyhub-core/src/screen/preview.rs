//! A screen's preview: its last non-blank lines as runs of text with their
//! colours and attributes (for the dashboard, see
//! [`ptyhub_protocol::api::SessionPreview`]). Built from the cells, so it
//! costs a walk over at most `max_lines` rows.

use ptyhub_protocol::api::{PreviewColor, PreviewRun};

use super::Screen;

fn color(c: vt100::Color) -> Option<PreviewColor> {
    match c {
        vt100::Color::Default => None,
        vt100::Color::Idx(i) => Some(PreviewColor::Indexed(i)),
        vt100::Color::Rgb(r, g, b) => Some(PreviewColor::Rgb(format!("#{r:02x}{g:02x}{b:02x}"))),
    }
}

/// Whether a row shows nothing: spaces on the default background.
fn blank(screen: &vt100::Screen, row: u16, cols: u16) -> bool {
    (0..cols).all(|col| {
        screen.cell(row, col).is_none_or(|cell| {
            cell.contents().trim().is_empty() && cell.bgcolor() == vt100::Color::Default
        })
    })
}

/// One row as runs, at most `max_cols` columns, trailing blanks dropped.
fn runs(screen: &vt100::Screen, row: u16, cols: u16) -> Vec<PreviewRun> {
    let mut out: Vec<PreviewRun> = Vec::new();
    for col in 0..cols {
        let Some(cell) = screen.cell(row, col) else {
            break;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let look = PreviewRun {
            text: String::new(),
            fg: color(cell.fgcolor()),
            bg: color(cell.bgcolor()),
            bold: cell.bold(),
            dim: cell.dim(),
            italic: cell.italic(),
            underline: cell.underline(),
            inverse: cell.inverse(),
        };
        let text = match cell.contents() {
            "" => " ",
            t => t,
        };
        match out.last_mut() {
            Some(last)
                if PreviewRun {
                    text: String::new(),
                    ..last.clone()
                } == look =>
            {
                last.text.push_str(text);
            }
            _ => out.push(PreviewRun {
                text: text.to_owned(),
                ..look
            }),
        }
    }
    // Trailing spaces on the default background show nothing.
    while let Some(last) = out.last_mut() {
        if last.bg.is_some() || last.inverse || last.underline {
            break;
        }
        let kept = last.text.trim_end().len();
        last.text.truncate(kept);
        if !last.text.is_empty() {
            break;
        }
        out.pop();
    }
    out
}

impl Screen {
    /// The last non-blank lines of the visible screen, at most
    /// `max_lines` of them (blank lines between them kept), each cut at
    /// `max_cols` columns.
    pub fn preview(&self, max_lines: usize, max_cols: u16) -> Vec<Vec<PreviewRun>> {
        let screen = self.parser.screen();
        let (rows, cols) = screen.size();
        let cols = cols.get().min(max_cols);
        let Some(last) = (0..rows.get()).rev().find(|&r| !blank(screen, r, cols)) else {
            return Vec::new();
        };
        let lines = u16::try_from(max_lines).unwrap_or(u16::MAX).max(1);
        let first = (last + 1).saturating_sub(lines);
        let first = (first..=last)
            .find(|&r| !blank(screen, r, cols))
            .unwrap_or(last);
        (first..=last).map(|r| runs(screen, r, cols)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptyhub_pty::WindowSize;

    fn screen(bytes: &[u8]) -> Screen {
        let mut s = Screen::new(WindowSize { cols: 20, rows: 6 });
        s.process(bytes);
        s
    }

    fn texts(lines: &[Vec<PreviewRun>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|r| r.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn the_last_lines_with_their_colours() {
        let s = screen(b"one\r\ntwo\r\n\r\n\x1b[1;32mok\x1b[0m \x1b[48;2;1;2;3mbg\x1b[0m\r\n");
        let p = s.preview(3, 80);
        assert_eq!(texts(&p), ["two", "", "ok bg"]);
        let last = &p[2];
        assert_eq!(last[0].text, "ok");
        assert_eq!(last[0].fg, Some(PreviewColor::Indexed(2)));
        assert!(last[0].bold);
        assert_eq!(last[1].text, " ");
        assert_eq!(last[2].bg, Some(PreviewColor::Rgb("#010203".into())));
        // Leading blank lines of the window are dropped, lines are cut.
        let p = s.preview(6, 2);
        assert_eq!(texts(&p), ["on", "tw", "", "ok"]);
        assert!(screen(b"").preview(4, 80).is_empty());
    }

    #[test]
    fn wide_characters_once() {
        let s = screen("中文 x".as_bytes());
        assert_eq!(texts(&s.preview(2, 80)), ["中文 x"]);
    }
}
