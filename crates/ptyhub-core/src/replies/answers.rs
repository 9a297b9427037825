//! Answers to terminal queries, from the server's screen model.

use super::Query;

/// Default colours reported to OSC 10/11/12 queries: the web UI's theme
/// (foreground, background, cursor), as `rgb:rrrr/gggg/bbbb`.
const FOREGROUND: &str = "rgb:d6d6/dddd/e6e6";
const BACKGROUND: &str = "rgb:0b0b/0e0e/1414";

/// What the server answers to `CSI c` (VT100 with advanced video, as
/// xterm.js answers) and `CSI > c` (xterm.js's answer).
const PRIMARY_DA: &[u8] = b"\x1b[?1;2c";
const SECONDARY_DA: &[u8] = b"\x1b[>0;276;0c";

/// The reply to `query` from the state of `screen`; `sync_open` tells
/// whether a synchronized-output frame is open. `None`: not answered.
pub(crate) fn answer(query: Query, screen: &vt100::Screen, sync_open: bool) -> Option<Vec<u8>> {
    let reply = match query {
        Query::PrimaryDa => PRIMARY_DA.to_vec(),
        Query::SecondaryDa => SECONDARY_DA.to_vec(),
        Query::Status => b"\x1b[0n".to_vec(),
        Query::CursorPosition { dec } => {
            let (rows, cols) = screen.size();
            let (row, col) = screen.cursor_position();
            // A cursor past the last column (a wrap pending) reports the
            // last column, as xterm does.
            let row = row.min(rows.get() - 1) + 1;
            let col = col.min(cols.get() - 1) + 1;
            let mark = if dec { "?" } else { "" };
            format!("\x1b[{mark}{row};{col}R").into_bytes()
        }
        Query::Color { code, bel } => {
            let colour = if code == 11 { BACKGROUND } else { FOREGROUND };
            let end = if bel { "\x07" } else { "\x1b\\" };
            format!("\x1b]{code};{colour}{end}").into_bytes()
        }
        Query::Mode { mode, private } => {
            let state = match (private, mode) {
                (true, _) => private_mode(mode, screen, sync_open),
                // IRM, the one ANSI mode the model keeps.
                (false, 4) => 2 - u8::from(screen.insert_mode()),
                (false, _) => 0,
            };
            let mark = if private { "?" } else { "" };
            format!("\x1b[{mark}{mode};{state}$y").into_bytes()
        }
        Query::Version => format!("\x1bP>|ptyhub {}\x1b\\", env!("CARGO_PKG_VERSION")).into_bytes(),
        Query::KittyKeyboard => return None,
    };
    Some(reply)
}

/// DECRPM's state of a private mode: 1 set, 2 reset, 0 not known to the
/// model.
fn private_mode(mode: u16, screen: &vt100::Screen, sync_open: bool) -> u8 {
    use vt100::{MouseProtocolEncoding as E, MouseProtocolMode as M};
    let set = match mode {
        1 => screen.application_cursor(),
        6 => screen.origin_mode(),
        7 => screen.autowrap(),
        45 => screen.reverse_wrap(),
        1004 => screen.focus_events(),
        25 => !screen.hide_cursor(),
        47 | 1047 | 1049 => screen.alternate_screen(),
        9 => screen.mouse_protocol_mode() == M::Press,
        1000 => screen.mouse_protocol_mode() == M::PressRelease,
        1002 => screen.mouse_protocol_mode() == M::ButtonMotion,
        1003 => screen.mouse_protocol_mode() == M::AnyMotion,
        1005 => screen.mouse_protocol_encoding() == E::Utf8,
        1006 => screen.mouse_protocol_encoding() == E::Sgr,
        2004 => screen.bracketed_paste(),
        2026 => sync_open,
        _ => return 0,
    };
    if set { 1 } else { 2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(bytes: &[u8]) -> vt100::Parser {
        let mut p = vt100::Parser::new(
            std::num::NonZeroU16::new(24).unwrap(),
            std::num::NonZeroU16::new(80).unwrap(),
            0,
        );
        p.process(bytes);
        p
    }

    #[test]
    fn answers_come_from_the_screen() {
        let p = screen(b"\x1b[5;10Hx\x1b[?2004h");
        let s = p.screen();
        let a = |q| String::from_utf8(answer(q, s, false).unwrap()).unwrap();
        assert_eq!(a(Query::CursorPosition { dec: false }), "\x1b[5;11R");
        assert_eq!(a(Query::CursorPosition { dec: true }), "\x1b[?5;11R");
        assert_eq!(a(Query::PrimaryDa), "\x1b[?1;2c");
        assert_eq!(a(Query::SecondaryDa), "\x1b[>0;276;0c");
        assert_eq!(a(Query::Status), "\x1b[0n");
        assert_eq!(
            a(Query::Color {
                code: 11,
                bel: false
            }),
            "\x1b]11;rgb:0b0b/0e0e/1414\x1b\\"
        );
        assert_eq!(
            a(Query::Color {
                code: 10,
                bel: true
            }),
            "\x1b]10;rgb:d6d6/dddd/e6e6\x07"
        );
        let mode = |mode, private| a(Query::Mode { mode, private });
        assert_eq!(mode(2004, true), "\x1b[?2004;1$y");
        assert_eq!(mode(1, true), "\x1b[?1;2$y");
        assert_eq!(mode(2026, true), "\x1b[?2026;2$y");
        assert_eq!(mode(7727, true), "\x1b[?7727;0$y");
        assert_eq!(mode(4, false), "\x1b[4;2$y");
        assert_eq!(mode(7, true), "\x1b[?7;1$y");
        assert_eq!(mode(1004, true), "\x1b[?1004;2$y");
        assert_eq!(mode(20, false), "\x1b[20;0$y");
        assert_eq!(
            String::from_utf8(
                answer(
                    Query::Mode {
                        mode: 2026,
                        private: true
                    },
                    s,
                    true
                )
                .unwrap()
            )
            .unwrap(),
            "\x1b[?2026;1$y"
        );
        assert!(a(Query::Version).starts_with("\x1bP>|ptyhub "));
        assert_eq!(answer(Query::KittyKeyboard, s, false), None);
        // A pending wrap reports the last column.
        let p = screen(&[b'x'; 80]);
        let cpr = answer(Query::CursorPosition { dec: false }, p.screen(), false).unwrap();
        assert_eq!(cpr, b"\x1b[1;80R");
    }
}
