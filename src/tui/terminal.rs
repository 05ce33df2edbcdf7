//! Putting the terminal into the browser's modes and, on every exit path, back: quit,
//! error, panic (a chained panic hook) and signals; and giving it back for a while when
//! the person suspends roam (SIGTSTP), taking it again when continued.
//!
//! roam never needs to ask the terminal anything to draw: [`ScreenBackend`] answers
//! ratatui's cursor question from memory, and the one question roam does ask (how emoji
//! sequences are drawn) has a short timeout, so a terminal that never answers costs a
//! fraction of a second at start, not a failure.

use std::io::{self, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::clipboard::CopyToClipboard;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui_image::picker::{Picker, ProtocolType};

/// Whether the terminal is currently in the browser's modes; restoring twice is harmless
/// but noisy, so restore only once.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The environment variable that tells roam how the terminal draws emoji sequences
/// (`whole` or `parts`) and so skips asking it.
pub const EMOJI_ENV: &str = "ROAM_EMOJI_SEQUENCES";

/// How long roam waits for the terminal to answer one cursor-position question. Terminals
/// answer in microseconds locally and a round trip over a network otherwise; one that has
/// not answered by then is taken not to answer at all.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// The browser's terminal, restored when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal over standard output.
    pub terminal: Terminal<ScreenBackend>,
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen, mouse capture and bracketed paste, and installs
    /// the panic hook that undoes them before the panic message is printed.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enter_modes()?;
        let terminal = match Terminal::new(ScreenBackend::new(io::stdout())) {
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

/// Raw mode, the alternate screen, mouse capture, bracketed paste, no cursor; undone
/// again when any step fails.
fn enter_modes() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut stdout = io::stdout();
    if let Err(e) = execute!(
        stdout,
        EnterAlternateScreen,
        EnableClickMouse,
        EnableBracketedPaste,
        cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    Ok(())
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
        DisableClickMouse,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

/// Turns on mouse reporting of clicks and the wheel only (DECSET 1000) in SGR encoding
/// (1006). crossterm's `EnableMouseCapture` also asks for every motion (1003), which
/// floods the input with events nobody uses and makes selecting text by hand awkward.
#[derive(Clone, Copy, Debug)]
pub struct EnableClickMouse;

impl crossterm::Command for EnableClickMouse {
    fn write_ansi(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        f.write_str("\x1b[?1000h\x1b[?1006h")
    }
}

/// Turns mouse reporting off: every mode [`EnableClickMouse`] or anything before it may
/// have turned on (button and any-motion tracking, the urxvt and SGR encodings).
#[derive(Clone, Copy, Debug)]
pub struct DisableClickMouse;

impl crossterm::Command for DisableClickMouse {
    fn write_ansi(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        f.write_str("\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l")
    }
}

/// What the event loop asks of the terminal itself, beyond drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostRequest {
    /// Give the terminal back and stop until continued ([`suspend`]).
    Suspend,
    /// Put this (sanitized, capped) text on the clipboard with OSC 52.
    Copy(String),
    /// Mouse reporting on or off.
    MouseCapture(bool),
    /// Open this (checked, confirmed) link with the system's opener.
    OpenLink(String),
    /// Write `[display] key = value` into the config file.
    RememberSetting {
        /// The setting.
        key: &'static str,
        /// Its value.
        value: String,
    },
}

/// Writes `text` as an OSC 52 clipboard sequence (base64, as the sequence requires) to
/// `out`.
pub fn write_copy(out: &mut impl Write, text: &str) -> io::Result<()> {
    execute!(out, CopyToClipboard::to_clipboard_from(text.as_bytes()))
}

/// Writes mouse reporting on or off to `out`.
pub fn write_mouse(out: &mut impl Write, on: bool) -> io::Result<()> {
    if on {
        execute!(out, EnableClickMouse)
    } else {
        execute!(out, DisableClickMouse)
    }
}

/// Carries out a [`HostRequest`] on the real terminal.
pub fn perform(request: HostRequest) -> io::Result<()> {
    let mut stdout = io::stdout();
    match request {
        HostRequest::Suspend => suspend(),
        HostRequest::Copy(text) => write_copy(&mut stdout, &text),
        HostRequest::MouseCapture(on) => write_mouse(&mut stdout, on),
        HostRequest::OpenLink(url) => open_link(&url),
        // Not the terminal's, but the host's all the same: tests that drive the loop
        // with their own host never write the person's config file.
        HostRequest::RememberSetting { key, value } => {
            crate::config::remember::set_display(&crate::config::paths::config_file(), key, &value)
                .map_err(io::Error::other)
        }
    }
}

/// How pictures will be drawn, from the config's `images` setting and the emoji probe's
/// experience of this terminal. `auto` asks the terminal (kitty, sixel, iTerm2, its cell
/// size) only where that is safe: not inside tmux or screen (their passthrough is
/// unreliable), and only in a terminal seen answering the cursor query (in one that does
/// not, the query's reader would linger and take the person's first keys). A named
/// protocol is used as told, with the cell size asked of a terminal that answers.
pub fn picture_picker(setting: crate::config::Images, probe: EmojiProbe) -> Picker {
    use crate::config::Images;
    // Only a terminal seen answering: the emoji setting skips the probe precisely for
    // terminals that do not.
    let answers = matches!(probe, EmojiProbe::Answered(_));
    let multiplexed = std::env::var_os("TMUX").is_some()
        || std::env::var_os("STY").is_some()
        || std::env::var("TERM").is_ok_and(|t| t.starts_with("tmux") || t.starts_with("screen"));
    let asked = || {
        if answers {
            Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks())
        } else {
            Picker::halfblocks()
        }
    };
    let forced = |protocol| {
        let mut picker = asked();
        picker.set_protocol_type(protocol);
        picker
    };
    match setting {
        Images::Off | Images::Halfblocks => Picker::halfblocks(),
        Images::Auto if multiplexed => Picker::halfblocks(),
        Images::Auto => asked(),
        Images::Kitty => forced(ProtocolType::Kitty),
        Images::Sixel => forced(ProtocolType::Sixel),
        Images::Iterm2 => forced(ProtocolType::Iterm2),
    }
}

/// Hands `url` to the system's opener (`xdg-open` and its kin, `open` on macOS) as one
/// argument, never through a shell, detached: its output never reaches the screen and
/// roam does not wait for it.
pub fn open_link(url: &str) -> io::Result<()> {
    let mut failure = io::Error::new(
        io::ErrorKind::NotFound,
        "no program to open links with (xdg-open)",
    );
    for mut command in open::commands(url) {
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        match command.spawn() {
            Ok(mut child) => {
                // Reaped when it ends, so no zombie is left for the session's length.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => failure = e,
        }
    }
    Err(failure)
}

/// Gives the terminal back to the shell and stops the process, as the default action of
/// SIGTSTP would (roam catches that signal so it can restore the terminal first). Returns
/// once the process is continued (SIGCONT), with the browser's modes entered again: the
/// caller redraws the whole screen.
pub fn suspend() -> io::Result<()> {
    restore();
    // SIGSTOP cannot be caught: the process stops here until it is continued. Sending it
    // to ourselves cannot fail in a way worth reporting: then roam simply carries on.
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    enter_modes()
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

/// The crossterm backend, except that it never asks the terminal where the cursor is.
///
/// ratatui asks before clearing the screen so it can put the cursor back; roam hides the
/// cursor, so the question only costs a round trip, and against a terminal that never
/// answers, crossterm's two-second timeout and an error. The answer here is where roam
/// last put the cursor.
pub struct ScreenBackend {
    inner: CrosstermBackend<io::Stdout>,
    cursor: Position,
}

impl ScreenBackend {
    /// A backend drawing to `stdout`.
    pub fn new(stdout: io::Stdout) -> ScreenBackend {
        ScreenBackend {
            inner: CrosstermBackend::new(stdout),
            cursor: Position::ORIGIN,
        }
    }
}

impl Backend for ScreenBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let position = position.into();
        self.inner.set_cursor_position(position)?;
        self.cursor = position;
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

/// How this terminal draws emoji sequences: `true` when each is two columns as Unicode
/// says, `false` when it draws their parts one by one (then roam shows the parts, so rows
/// stay aligned).
///
/// [`EMOJI_ENV`] decides when set; otherwise roam asks the terminal: each probe is printed
/// at the top left and the cursor position read back (a DSR query). A terminal that does
/// not answer within [`PROBE_TIMEOUT`] gets the safe answer, `false`. Call it on the
/// alternate screen, before the first frame, and clear the screen after.
pub fn emoji_sequences_drawn_whole() -> EmojiProbe {
    match std::env::var(EMOJI_ENV).as_deref() {
        Ok("whole") => return EmojiProbe::Told(true),
        Ok("parts") => return EmojiProbe::Told(false),
        _ => {}
    }
    // A ZWJ family, a skin tone and an emoji variation selector: three separate features
    // terminals gained at different times.
    const PROBES: [&str; 3] = [
        "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}",
        "\u{1F44D}\u{1F3FD}",
        "\u{2764}\u{FE0F}",
    ];
    let mut stdout = io::stdout();
    for probe in PROBES {
        let asked = execute!(stdout, cursor::MoveTo(0, 0), crossterm::style::Print(probe));
        match asked.ok().and_then(|()| cursor_column(PROBE_TIMEOUT)) {
            Some(2) => {}
            Some(_) => return EmojiProbe::Answered(false),
            None => return EmojiProbe::NoAnswer,
        }
    }
    EmojiProbe::Answered(true)
}

/// What [`emoji_sequences_drawn_whole`] found out, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmojiProbe {
    /// [`EMOJI_ENV`] said so; the terminal was not asked.
    Told(bool),
    /// The terminal answered.
    Answered(bool),
    /// The terminal did not answer in time: draw the parts, which is always aligned.
    NoAnswer,
}

impl EmojiProbe {
    /// Whether to draw emoji sequences whole.
    pub fn whole(self) -> bool {
        match self {
            EmojiProbe::Told(whole) | EmojiProbe::Answered(whole) => whole,
            EmojiProbe::NoAnswer => false,
        }
    }
}

/// Asks the terminal for the cursor position and reads the answer (`ESC [ row ; col R`)
/// straight from the terminal's input, waiting at most `timeout`. The 0-based column, or
/// `None` without an answer. Anything else read meanwhile (keys typed during start) is
/// dropped. crossterm's own query waits a fixed two seconds, hence this one.
fn cursor_column(timeout: Duration) -> Option<u16> {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;

    let mut stdout = io::stdout();
    stdout.write_all(b"\x1b[6n").ok()?;
    stdout.flush().ok()?;
    // The terminal's input: standard input when it is the terminal, as crossterm reads it,
    // else the controlling terminal.
    let stdin = io::stdin();
    let tty;
    let input = if stdin.is_terminal() {
        stdin.as_fd()
    } else {
        tty = std::fs::File::open("/dev/tty").ok()?;
        tty.as_fd()
    };
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::with_capacity(32);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let wait = rustix::event::Timespec::try_from(left).ok()?;
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(
            input,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&wait)) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
        }
        let mut buf = [0u8; 64];
        let n = rustix::io::read(input, &mut buf).ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(column) = position_answer(&seen) {
            return Some(column);
        }
        // Typing during start must not grow this without bound.
        if seen.len() > 256 {
            seen.drain(..seen.len() - 32);
        }
    }
}

/// The 0-based column of the last complete cursor-position answer in `bytes`.
fn position_answer(bytes: &[u8]) -> Option<u16> {
    let end = bytes.iter().rposition(|&b| b == b'R')?;
    let start = bytes[..end].iter().rposition(|&b| b == 0x1b)?;
    let body = bytes[start..end].strip_prefix(b"\x1b[")?;
    let text = std::str::from_utf8(body).ok()?;
    let (row, column) = text.split_once(';')?;
    row.parse::<u16>().ok()?;
    column.parse::<u16>().ok()?.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    /// What a terminal emulator makes of bytes: what it put on the clipboard.
    #[derive(Default)]
    struct Clipboard(Vec<(Vec<u8>, Vec<u8>)>);

    impl vt100::Callbacks for Clipboard {
        fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8], data: &[u8]) {
            self.0.push((ty.to_vec(), data.to_vec()));
        }
    }

    fn emulate(bytes: &[u8]) -> vt100::Parser<Clipboard> {
        let (rows, cols) = (
            std::num::NonZeroU16::MIN.saturating_add(23),
            std::num::NonZeroU16::MIN.saturating_add(79),
        );
        let mut parser = vt100::Parser::new_with_callbacks(rows, cols, 0, Clipboard::default());
        parser.process(bytes);
        parser
    }

    #[test]
    fn a_copy_is_one_osc_52_sequence_a_terminal_decodes_back() {
        let text = "deploy done ✅ 你好\nsecond line ␛]0;x␇";
        let mut out = Vec::new();
        write_copy(&mut out, text).expect("into a Vec");
        let parser = emulate(&out);
        let copies = &parser.callbacks().0;
        assert_eq!(copies.len(), 1, "{out:?}");
        let (ty, data) = &copies[0];
        assert_eq!(ty, b"c", "the clipboard selection");
        let decoded = STANDARD.decode(data).expect("base64");
        assert_eq!(String::from_utf8(decoded).expect("utf-8"), text);
        // Nothing else reaches the screen.
        assert_eq!(parser.screen().contents().trim(), "");
    }

    #[test]
    fn mouse_capture_asks_for_clicks_and_the_wheel_only() {
        let mut out = Vec::new();
        write_mouse(&mut out, true).expect("into a Vec");
        let mut parser = emulate(&out);
        assert_eq!(
            parser.screen().mouse_protocol_mode(),
            vt100::MouseProtocolMode::PressRelease,
            "no motion tracking: {out:?}"
        );
        assert_eq!(
            parser.screen().mouse_protocol_encoding(),
            vt100::MouseProtocolEncoding::Sgr
        );
        let mut off = Vec::new();
        write_mouse(&mut off, false).expect("into a Vec");
        parser.process(&off);
        assert_eq!(
            parser.screen().mouse_protocol_mode(),
            vt100::MouseProtocolMode::None
        );
        assert_eq!(
            parser.screen().mouse_protocol_encoding(),
            vt100::MouseProtocolEncoding::Default
        );
    }

    #[test]
    fn position_answers_are_read_among_other_input() {
        assert_eq!(position_answer(b"\x1b[1;3R"), Some(2));
        assert_eq!(position_answer(b"jk\x1b[12;80R"), Some(79));
        assert_eq!(position_answer(b"\x1b[1;3"), None);
        assert_eq!(position_answer(b"\x1b[A\x1b[1;1R"), Some(0));
        assert_eq!(position_answer(b"\x1b[;R"), None);
        assert_eq!(position_answer(b"\x1b[1;0R"), None);
        assert_eq!(position_answer(b"R"), None);
    }

    #[test]
    fn no_answer_means_parts() {
        assert!(!EmojiProbe::NoAnswer.whole());
        assert!(EmojiProbe::Told(true).whole());
        assert!(!EmojiProbe::Answered(false).whole());
    }
}
