//! Putting the terminal into the browser's modes and, on every exit path, back: quit,
//! error, panic (a chained panic hook) and signals.

use std::io::{self, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is currently in the browser's modes; restoring twice is harmless
/// but noisy, so restore only once.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The browser's terminal, restored when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal over standard output.
    pub terminal: Terminal<CrosstermBackend<io::Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen, mouse capture and bracketed paste, and installs
    /// the panic hook that undoes them before the panic message is printed.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        if let Err(e) = execute!(
            stdout,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste,
            cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves every mode the browser entered. Safe to call from any exit path, more than once.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Asks the terminal how wide it draws emoji sequences: each probe is printed at the top
/// left and the cursor position read back (a DSR query). `Some(true)` when every one is two
/// columns as Unicode says, `Some(false)` when one is drawn wider (its parts one by one),
/// `None` when the terminal does not answer. Call it on the alternate screen, before the
/// first frame, and clear the screen after.
pub fn emoji_sequences_drawn_whole() -> Option<bool> {
    // A ZWJ family, a skin tone and an emoji variation selector: three separate features
    // terminals gained at different times.
    const PROBES: [&str; 3] = [
        "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}",
        "\u{1F44D}\u{1F3FD}",
        "\u{2764}\u{FE0F}",
    ];
    let mut stdout = io::stdout();
    for probe in PROBES {
        execute!(stdout, cursor::MoveTo(0, 0), crossterm::style::Print(probe)).ok()?;
        let (column, _) = cursor::position().ok()?;
        if column != 2 {
            return Some(false);
        }
    }
    Some(true)
}
