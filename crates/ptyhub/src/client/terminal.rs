//! The local terminal during `ptyhub attach`: [`RawMode`] puts it in raw
//! mode and gives it back on every way out — drop (detach, exit, error,
//! an unwinding panic) and a panic hook (for a panic on another thread, or
//! one that aborts).

use std::io::{self, IsTerminal, Write};
use std::sync::Once;

use super::error::{Error, Result};

/// The local terminal's size as (cols, rows), `None` when unknown.
pub fn size() -> Option<(u16, u16)> {
    crossterm::terminal::size()
        .ok()
        .filter(|&(cols, rows)| cols > 0 && rows > 0)
}

/// Fails unless stdin and stdout are both a terminal.
pub fn require_terminal() -> Result<()> {
    if io::stdin().is_terminal() && io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(Error::other(
            "attach needs a terminal on stdin and stdout; in scripts use `ptyhub send` and `ptyhub screen`",
        ))
    }
}

/// The local terminal in raw mode; restored on drop.
pub struct RawMode {
    /// The bytes to write after leaving raw mode (the session's modes
    /// switched back off); set with [`RawMode::set_restore`].
    restore: Vec<u8>,
}

impl RawMode {
    /// Saves the terminal's modes and switches to raw mode.
    pub fn enable() -> Result<RawMode> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| Error::other(format!("cannot put the terminal in raw mode: {e}")))?;
        Ok(RawMode {
            restore: Vec::new(),
        })
    }

    /// What to write to the terminal when leaving.
    pub fn set_restore(&mut self, bytes: Vec<u8>) {
        self.restore = bytes;
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let mut out = io::stdout().lock();
        // Best effort: on the way out there is no one left to tell, and the
        // modes below are restored whatever happens to this write.
        let _ = out.write_all(&self.restore).and_then(|()| out.flush());
        restore_modes();
    }
}

/// Puts the saved terminal modes back (a no-op when raw mode is off).
fn restore_modes() {
    if let Err(e) = crossterm::terminal::disable_raw_mode() {
        eprintln!("ptyhub: warning: could not restore the terminal: {e}");
    }
}

/// Once per process: a panic restores the terminal before its message is
/// printed, so the message is readable and the shell usable.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_modes();
            previous(info);
        }));
    });
}
