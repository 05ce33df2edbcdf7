//! Test support: the real `roam` binary in a pseudo-terminal, read back through a
//! terminal emulator (vt100) that also records what the program asked the terminal to do.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// What the program asked of the terminal beyond drawing text.
#[derive(Default, Debug, Clone)]
pub struct TerminalRequests {
    /// Window title or icon name changes.
    pub titles: Vec<Vec<u8>>,
    /// Clipboard writes (OSC 52).
    pub clipboard: usize,
    /// Bells.
    pub bells: usize,
    /// Resize requests.
    pub resizes: usize,
    /// OSC sequences vt100 does not handle (OSC 8 links among them).
    pub unhandled_osc: usize,
}

impl vt100::Callbacks for TerminalRequests {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
    fn resize(&mut self, _: &mut vt100::Screen, _request: (u16, u16)) {
        self.resizes += 1;
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.titles.push(name.to_vec());
    }
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8], _data: &[u8]) {
        self.clipboard += 1;
    }
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, _params: &[&[u8]]) {
        self.unhandled_osc += 1;
    }
}

/// A terminal emulator of a given size with the requests it saw.
pub fn emulator(cols: u16, rows: u16) -> vt100::Parser<TerminalRequests> {
    let nz = |n: u16| NonZeroU16::new(n.max(1)).unwrap_or(NonZeroU16::MIN);
    vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, TerminalRequests::default())
}

/// The real binary in a pseudo-terminal.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
    screen: Arc<Mutex<vt100::Parser<TerminalRequests>>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    /// Starts `roam` with `args` in a `cols`×`rows` terminal, with `env` added and the cache
    /// directory pointed at `cache` so the test never touches the person's own.
    pub fn spawn(args: &[&str], cols: u16, rows: u16, cache: &Path, env: &[(&str, &str)]) -> Pty {
        Pty::spawn_with(args, cols, rows, cache, env, true)
    }

    /// As [`Pty::spawn`], with a terminal that answers cursor-position queries or, when
    /// `answers` is false, one that never does (some terminals and multiplexers don't).
    pub fn spawn_with(
        args: &[&str],
        cols: u16,
        rows: u16,
        cache: &Path,
        env: &[(&str, &str)],
        answers: bool,
    ) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_roam"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("ROAM_CACHE_DIR", cache);
        cmd.env("XDG_CACHE_HOME", cache);
        // No config file and no saved tokens of the person's own.
        cmd.env("ROAM_CONFIG", cache.join("no-config.toml"));
        cmd.env("ROAM_DATA_DIR", cache.join("data"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("start roam");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let screen = Arc::new(Mutex::new(emulator(cols, rows)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (screen2, raw2, replies) = (screen.clone(), raw.clone(), writer.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        raw2.lock().unwrap().extend_from_slice(&buf[..n]);
                        // Answer cursor position queries (DSR) as a terminal does, from
                        // the emulator's cursor at the moment of the query.
                        let mut rest = &buf[..n];
                        while let Some(at) = find(rest, b"\x1b[6n").filter(|_| answers) {
                            let (before, after) = rest.split_at(at + 4);
                            let mut parser = screen2.lock().unwrap();
                            parser.process(before);
                            let (row, col) = parser.screen().cursor_position();
                            drop(parser);
                            let answer = format!("\x1b[{};{}R", row + 1, col + 1);
                            let mut w = replies.lock().unwrap();
                            let _ = w.write_all(answer.as_bytes());
                            let _ = w.flush();
                            rest = after;
                        }
                        // And device status queries (`ESC [ 5 n`: "are you there?").
                        if answers && find(rest, b"\x1b[5n").is_some() {
                            let mut w = replies.lock().unwrap();
                            let _ = w.write_all(b"\x1b[0n");
                            let _ = w.flush();
                        }
                        screen2.lock().unwrap().process(rest);
                    }
                }
            }
        });
        Pty {
            master: pair.master,
            writer,
            child,
            screen,
            raw,
        }
    }

    /// Types bytes (keys) into the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        let mut writer = self.writer.lock().unwrap();
        writer.write_all(bytes).expect("write to pty");
        writer.flush().expect("flush pty");
    }

    /// The screen as text, one line per row.
    pub fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Runs `f` over the emulator's state.
    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Parser<TerminalRequests>) -> T) -> T {
        f(&self.screen.lock().unwrap())
    }

    /// Runs `f` over the emulator's state, mutably: a test can write to the screen as
    /// another program sharing the terminal would.
    pub fn with_screen_mut<T>(
        &self,
        f: impl FnOnce(&mut vt100::Parser<TerminalRequests>) -> T,
    ) -> T {
        f(&mut self.screen.lock().unwrap())
    }

    /// Every byte the program wrote.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits until the screen satisfies `pred`; panics with the screen when it does not.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the screen was:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Waits for the program to exit; `None` when it did not in time.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<portable_pty::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader thread drain the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        None
    }

    /// Resizes the terminal. The emulator takes the new size first: what the program draws
    /// once it sees the resize must land on a screen of that size, or it would be wrapped
    /// at the old one and stay garbled until the next redraw.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let nz = |n: u16| NonZeroU16::new(n.max(1)).unwrap_or(NonZeroU16::MIN);
        self.screen.lock().unwrap().set_size(nz(rows), nz(cols));
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize pty");
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
