//! The event loop: terminal events, fetch answers, a render tick and signals in, frames out.
//!
//! ```text
//! crossterm EventStream ─┐
//! fetch task answers ────┼─> App::update ─> effects: Fetch → fetch task, Quit → leave
//! render tick (250 ms) ──┤                 frame drawn when something changed:
//!                        │                 at once after input, at most every FRAME
//!                        │                 (30 ms) while answers stream in
//! signals ───────────────┘─> SIGTERM, SIGHUP, SIGINT, SIGQUIT: leave;
//!                            SIGTSTP: give the terminal back, stop, redraw when continued
//! ```
//! The loop never awaits the network: requests are handed to the fetch task over a
//! channel that never blocks, and answers arrive as events like key presses do. The
//! terminal is restored by [`TerminalGuard`] on every way out: return, error, panic (its
//! hook) and the signals (they end the loop, then the guard drops). In raw mode Ctrl-c and
//! Ctrl-z are keys, not signals; the signals come from `kill` and the like.

use std::io;
use std::time::Duration;

use anyhow::{Context, anyhow};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::{Stream, StreamExt};
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::app::{App, Effect, Event};
use super::fetch::{self, FetchHandle, Source};
use super::preferences::Preferences;
use super::terminal::{HostRequest, TerminalGuard};
use super::view::{self, ViewContext};

/// How often the render tick fires: spinners and relative times.
pub const TICK: Duration = Duration::from_millis(250);

/// The shortest time between two frames drawn for fetch answers. A walk through history
/// brings hundreds of pages a second; a frame costs a few milliseconds, so drawing each
/// page would cost more than fetching it. Input (keys, mouse, resizes, signals) is drawn
/// at once, and an answer after a quiet spell too.
pub const FRAME: Duration = Duration::from_millis(30);

/// The most characters of one paste typed into the search input.
const PASTE_LIMIT: usize = 256;

/// What a signal asks of the event loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// Leave, restoring the terminal: SIGTERM, SIGHUP, SIGINT, SIGQUIT.
    Quit,
    /// Give the terminal back and stop until continued, then redraw: SIGTSTP.
    Suspend,
}

/// Runs the browser over `source` in the real terminal until the person quits or a signal
/// arrives. `notices` are shown in the status line until the first key press;
/// `preferences` come from the config file.
pub async fn run<S: Source>(
    source: S,
    notices: Vec<String>,
    preferences: Preferences,
) -> anyhow::Result<()> {
    let interrupts = watch_signals()?;
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    // Before anything is loaded: sanitized text depends on how this terminal draws emoji.
    let probe = super::terminal::emoji_sequences_drawn_whole();
    super::text::set_emoji_sequences(probe.whole());
    tracing::info!(?probe, "emoji sequences");
    guard
        .terminal
        .clear()
        .context("cannot clear the terminal")?;
    // Also before the first event is read: the terminal's answers would be taken as keys.
    let picker = super::terminal::picture_picker(preferences.images, probe);
    tracing::info!(protocol = ?picker.protocol_type(), "pictures");
    let result = event_loop(
        &mut guard.terminal,
        crossterm::event::EventStream::new(),
        fetch::spawn_with(source, picker),
        notices,
        preferences,
        interrupts,
        &mut super::terminal::perform,
    )
    .await;
    drop(guard);
    result
}

/// Turns the catchable signals that end or stop a terminal program into [`Interrupt`]s.
/// Catching them is what lets the terminal be restored: their default actions would end
/// or stop the process with raw mode, the alternate screen and mouse reporting still on.
fn watch_signals() -> anyhow::Result<mpsc::UnboundedReceiver<Interrupt>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::unbounded_channel();
    let watched = [
        (SignalKind::terminate(), "SIGTERM", Interrupt::Quit),
        (SignalKind::hangup(), "SIGHUP", Interrupt::Quit),
        (SignalKind::interrupt(), "SIGINT", Interrupt::Quit),
        (SignalKind::quit(), "SIGQUIT", Interrupt::Quit),
        (
            // tokio names only the common signals.
            SignalKind::from_raw(rustix::process::Signal::TSTP.as_raw()),
            "SIGTSTP",
            Interrupt::Suspend,
        ),
    ];
    for (kind, name, interrupt) in watched {
        let mut stream = signal(kind).with_context(|| format!("cannot watch {name}"))?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(interrupt).is_err() {
                    break;
                }
            }
        });
    }
    Ok(rx)
}

/// The loop itself, over any backend and event stream, so tests can drive it with a
/// `TestBackend` and a stream of synthetic events. Returns when the state asks to quit,
/// the event stream ends, or an [`Interrupt::Quit`] arrives; on [`Interrupt::Suspend`] it
/// asks `host` to suspend (it returns once the process is continued) and redraws
/// everything. `host` also carries out what the state asks of the terminal itself:
/// copying to the clipboard, mouse capture on or off.
pub async fn event_loop<B, E>(
    terminal: &mut Terminal<B>,
    mut events: E,
    mut fetch: FetchHandle,
    notices: Vec<String>,
    preferences: Preferences,
    mut interrupts: mpsc::UnboundedReceiver<Interrupt>,
    host: &mut dyn FnMut(HostRequest) -> io::Result<()>,
) -> anyhow::Result<()>
where
    B: Backend,
    E: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    let size = terminal
        .size()
        .map_err(|e| anyhow!("cannot read the terminal size: {e}"))?;
    let mut app = App::new(size.width, size.height, preferences.zone.clone());
    preferences.apply(&mut app);
    app.set_admin_reader(fetch.admin_reader.clone());
    app.set_standing_label(fetch.standing_label.clone());
    let mut notice = (!notices.is_empty()).then(|| notices.join(" · "));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);

    let now_ms = Timestamp::now().as_millisecond();
    let mut effects = app.update(Event::Tick { now_ms });
    effects.extend(app.start());
    if apply(effects, &mut app, &fetch, host) == Some(Interrupt::Quit) {
        return Ok(());
    }
    let mut dirty = true;
    // Input waits for no frame deadline.
    let mut urgent = true;
    let mut drawn_at: Option<Instant> = None;
    let mut drawn_minute = i64::MIN;
    loop {
        let due = drawn_at.map(|at| at + FRAME);
        if dirty && (urgent || due.is_none_or(|due| Instant::now() >= due)) {
            // A resize the event stream has not reported yet still gets a right layout.
            let size = terminal
                .size()
                .map_err(|e| anyhow!("cannot read the terminal size: {e}"))?;
            if (size.width, size.height) != app.size() && {
                let effects = app.update(Event::Resize(size.width, size.height));
                apply(effects, &mut app, &fetch, host)
            } == Some(Interrupt::Quit)
            {
                return Ok(());
            }
            let ctx = ViewContext {
                now_ms: Timestamp::now().as_millisecond(),
                notice: notice.as_deref(),
            };
            drawn_minute = ctx.now_ms / 60_000;
            terminal
                .draw(|frame| view::draw(&app, &ctx, frame))
                .map_err(|e| anyhow!("cannot draw: {e}"))?;
            dirty = false;
            urgent = false;
            drawn_at = Some(Instant::now());
        }
        // A frame held back for the deadline is drawn when it passes.
        let pending_frame = async {
            match due.filter(|_| dirty) {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        // What the state or a signal asks of the loop once this event is handled.
        let mut next: Option<Interrupt> = None;
        tokio::select! {
            Some(interrupt) = interrupts.recv() => next = Some(interrupt),
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                let event = event.context("cannot read terminal events")?;
                if matches!(event, TermEvent::Key(_)) {
                    notice = None;
                }
                for e in translate(event, &app) {
                    let effects = app.update(e);
                    next = first(next, apply(effects, &mut app, &fetch, host));
                    dirty = true;
                    urgent = true;
                }
            }
            answer = fetch.events.recv() => {
                let Some(answer) = answer else {
                    return Err(anyhow!("the fetch task stopped"));
                };
                let effects = app.update(answer);
                next = apply(effects, &mut app, &fetch, host);
                dirty = true;
            }
            () = pending_frame => {}
            _ = tick.tick() => {
                let now_ms = Timestamp::now().as_millisecond();
                let effects = app.update(Event::Tick { now_ms });
                next = apply(effects, &mut app, &fetch, host);
                let minute = Timestamp::now().as_millisecond() / 60_000;
                dirty |= animating(&app) || minute != drawn_minute;
            }
        }
        match next {
            Some(Interrupt::Quit) => return Ok(()),
            Some(Interrupt::Suspend) => {
                host(HostRequest::Suspend).context("cannot take the terminal back after a stop")?;
                // Coming back turns mouse capture on: keep it off when it was.
                if !app.mouse_capture() {
                    let _ = host(HostRequest::MouseCapture(false));
                }
                // The screen holds whatever the shell drew meanwhile.
                terminal
                    .clear()
                    .map_err(|e| anyhow!("cannot clear the terminal: {e}"))?;
                dirty = true;
                urgent = true;
            }
            None => {}
        }
    }
}

/// The stronger of two requests: quitting wins over stopping.
fn first(a: Option<Interrupt>, b: Option<Interrupt>) -> Option<Interrupt> {
    match (a, b) {
        (Some(Interrupt::Quit), _) | (_, Some(Interrupt::Quit)) => Some(Interrupt::Quit),
        (a, b) => a.or(b),
    }
}

/// Carries out effects; what they ask of the loop: [`Effect::Quit`] to leave,
/// [`Effect::Suspend`] to give the terminal back and stop (Ctrl-z in raw mode, where the
/// terminal sends it as a key, not as SIGTSTP). What the host cannot do (open a link with
/// no opener installed) is told to `app` as [`Event::HostFailed`].
fn apply(
    effects: Vec<Effect>,
    app: &mut App,
    fetch: &FetchHandle,
    host: &mut dyn FnMut(HostRequest) -> io::Result<()>,
) -> Option<Interrupt> {
    let mut next = None;
    for effect in effects {
        match effect {
            Effect::Copy(text) => {
                if let Err(e) = host(HostRequest::Copy(text)) {
                    tracing::warn!("cannot copy to the clipboard: {e}");
                }
            }
            Effect::MouseCapture(on) => {
                if let Err(e) = host(HostRequest::MouseCapture(on)) {
                    tracing::warn!("cannot switch mouse capture: {e}");
                }
            }
            Effect::OpenLink(url) => {
                if let Err(e) = host(HostRequest::OpenLink(url)) {
                    tracing::warn!("cannot open a link: {e}");
                    // A note has no effects of its own.
                    let _ = app.update(Event::HostFailed(format!("cannot open the link: {e}")));
                }
            }
            Effect::RememberSetting { key, value } => {
                if let Err(e) = host(HostRequest::RememberSetting { key, value }) {
                    tracing::warn!("cannot remember {key}: {e}");
                    let _ =
                        app.update(Event::HostFailed(format!("cannot remember the {key}: {e}")));
                }
            }
            Effect::Fetch(request) => {
                // A gone fetch task shows up as its channel closing in the loop.
                let _ = fetch.send(request);
            }
            Effect::Quit => next = first(next, Some(Interrupt::Quit)),
            Effect::Suspend => next = first(next, Some(Interrupt::Suspend)),
        }
    }
    next
}

/// Something on screen moves with the tick: a spinner.
fn animating(app: &App) -> bool {
    app.list_loading()
        || app
            .current_history()
            .is_some_and(|h| h.in_flight().is_some())
        || app.search().is_some_and(|s| s.continuing().is_some())
        || app.sync_running()
}

/// The state's events for one terminal event. Key releases are dropped (presses and
/// repeats count); a paste is typed into the search input or a prompt when one is open, as
/// characters without controls, and dropped elsewhere, so pasted text never acts as
/// commands.
pub fn translate(event: TermEvent, app: &App) -> Vec<Event> {
    match event {
        TermEvent::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
        TermEvent::Key(key) => vec![Event::Key(key)],
        TermEvent::Mouse(m) => vec![Event::Mouse(m)],
        TermEvent::Resize(w, h) => vec![Event::Resize(w, h)],
        TermEvent::Paste(text) if app.accepts_text() => text
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .filter(|c| !c.is_control())
            .take(PASTE_LIMIT)
            .map(|c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect(),
        TermEvent::Paste(_) | TermEvent::FocusGained | TermEvent::FocusLost => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::sync::Arc;
    use std::time::Duration;

    use crossterm::event::{KeyEventState, MouseEvent, MouseEventKind};
    use futures::channel::mpsc as fmpsc;
    use ratatui::backend::TestBackend;
    use tokio::sync::Notify;

    use super::*;
    use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};
    use crate::tui::app::FetchError;

    /// The default preferences with times in UTC, so tests do not depend on the machine.
    fn utc() -> Preferences {
        Preferences {
            zone: jiff::tz::TimeZone::UTC,
            ..Preferences::default()
        }
    }

    /// One conversation whose history never answers. Tells the test when the list has
    /// been answered and when history was asked for, so the test never guesses with sleeps.
    #[derive(Default)]
    struct Fake {
        listed: Arc<Notify>,
        history_asked: Arc<Notify>,
    }

    impl Source for Fake {
        async fn conversation_page(
            &self,
            _cursor: &str,
            _limit: u32,
        ) -> Result<ConversationPage, FetchError> {
            let page = crate::tui::fetch::tests::bob_only();
            // No await between this and the answer being sent to the event loop.
            self.listed.notify_one();
            Ok(page)
        }

        async fn history(&self, _query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            self.history_asked.notify_one();
            std::future::pending().await
        }
    }

    fn key(c: char) -> io::Result<TermEvent> {
        Ok(TermEvent::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn screen(terminal: &Terminal<TestBackend>) -> String {
        let buf = terminal.backend().buffer();
        buf.content().iter().map(|c| c.symbol()).collect()
    }

    #[tokio::test]
    async fn draws_answers_and_quits_on_q() {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
        let (tx, rx) = fmpsc::unbounded();
        let fake = Fake::default();
        let (listed, history_asked) = (Arc::clone(&fake.listed), Arc::clone(&fake.history_asked));
        let driver = async move {
            // The list's answer is waiting for the loop now; one pause lets the loop (joined
            // on this same task) take it before the key arrives.
            listed.notified().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
            // Open bob: its history never answers, and the loop must not care.
            let _ = tx.unbounded_send(Ok(TermEvent::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            ))));
            // Asked after the loop took the key and drew the frame that says so.
            history_asked.notified().await;
            let _ = tx.unbounded_send(key('q'));
            tx
        };
        let mut never_stopped = |_| Ok(());
        let (result, _tx) = tokio::join!(
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(fake),
                vec!["demo server on 127.0.0.1".into()],
                utc(),
                mpsc::unbounded_channel().1,
                &mut never_stopped,
            ),
            driver
        );
        assert!(result.is_ok(), "{result:?}");
        let text = screen(&terminal);
        assert!(text.contains("bob"), "the list page was drawn");
        assert!(text.contains("loading older messages"), "history requested");
        assert!(
            !text.contains("demo server"),
            "the notice went with the key"
        );
    }

    #[tokio::test]
    async fn a_quit_signal_and_the_end_of_input_leave_the_loop() {
        let mut terminal = Terminal::new(TestBackend::new(40, 10)).expect("test terminal");
        let (_tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
        let (signals, interrupts) = mpsc::unbounded_channel();
        signals.send(Interrupt::Quit).expect("send");
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(Fake::default()),
                Vec::new(),
                utc(),
                interrupts,
                &mut |_| Ok(()),
            ),
        )
        .await;
        assert!(matches!(done, Ok(Ok(()))), "{done:?}");

        let (tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
        drop(tx);
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(Fake::default()),
                Vec::new(),
                utc(),
                mpsc::unbounded_channel().1,
                &mut |_| Ok(()),
            ),
        )
        .await;
        assert!(matches!(done, Ok(Ok(()))), "{done:?}");
    }

    /// A test screen the "shell" can scribble on while roam is stopped; counts frames.
    #[derive(Clone)]
    struct SharedScreen(Rc<RefCell<TestBackend>>, Rc<Cell<usize>>);

    impl SharedScreen {
        fn scribble(&self) {
            let mut backend = self.0.borrow_mut();
            let area = backend.buffer().area;
            let mut shell = ratatui::buffer::Buffer::empty(area);
            for cell in &mut shell.content {
                cell.set_symbol("$");
            }
            let cells: Vec<_> = shell
                .content
                .iter()
                .enumerate()
                .map(|(i, c)| (i as u16 % area.width, i as u16 / area.width, c.clone()))
                .collect();
            let _ = backend.draw(cells.iter().map(|(x, y, c)| (*x, *y, c)));
        }
    }

    impl Backend for SharedScreen {
        type Error = std::convert::Infallible;
        fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
        where
            I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
        {
            self.0.borrow_mut().draw(content)
        }
        fn hide_cursor(&mut self) -> Result<(), Self::Error> {
            self.0.borrow_mut().hide_cursor()
        }
        fn show_cursor(&mut self) -> Result<(), Self::Error> {
            self.0.borrow_mut().show_cursor()
        }
        fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
            self.0.borrow_mut().get_cursor_position()
        }
        fn set_cursor_position<P: Into<ratatui::layout::Position>>(
            &mut self,
            position: P,
        ) -> Result<(), Self::Error> {
            self.0.borrow_mut().set_cursor_position(position)
        }
        fn clear(&mut self) -> Result<(), Self::Error> {
            self.0.borrow_mut().clear()
        }
        fn clear_region(
            &mut self,
            clear_type: ratatui::backend::ClearType,
        ) -> Result<(), Self::Error> {
            self.0.borrow_mut().clear_region(clear_type)
        }
        fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
            self.0.borrow().size()
        }
        fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
            self.0.borrow_mut().window_size()
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            // Once per frame drawn.
            self.1.set(self.1.get() + 1);
            self.0.borrow_mut().flush()
        }
    }

    /// A stop hands the terminal over; once continued, everything is drawn again. The
    /// screen then holds whatever the shell printed meanwhile, which a diff against the
    /// last frame would leave standing.
    #[tokio::test]
    async fn a_suspend_signal_stops_and_then_redraws_the_whole_screen() {
        stops_once_and_redraws(Stop::Signal).await;
    }

    /// In raw mode the terminal sends Ctrl-z as a key, not as SIGTSTP: the key stops too.
    #[tokio::test]
    async fn ctrl_z_stops_and_then_redraws_the_whole_screen() {
        stops_once_and_redraws(Stop::Key).await;
    }

    enum Stop {
        Signal,
        Key,
    }

    async fn stops_once_and_redraws(stop: Stop) {
        let shared = SharedScreen(
            Rc::new(RefCell::new(TestBackend::new(40, 10))),
            Rc::default(),
        );
        let mut terminal = Terminal::new(shared.clone()).expect("test terminal");
        let (tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
        let (signals, interrupts) = mpsc::unbounded_channel();
        let fake = Fake::default();
        let listed = Arc::clone(&fake.listed);
        let suspended = Cell::new(0);
        let shell = shared.clone();
        let mut suspend = |_| {
            suspended.set(suspended.get() + 1);
            shell.scribble();
            Ok(())
        };
        let driver = async {
            listed.notified().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            match stop {
                Stop::Signal => signals.send(Interrupt::Suspend).expect("send"),
                Stop::Key => {
                    let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
                    let _ = tx.unbounded_send(Ok(TermEvent::Key(ctrl_z)));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.unbounded_send(key('q'));
        };
        let (result, ()) = tokio::join!(
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(fake),
                Vec::new(),
                utc(),
                interrupts,
                &mut suspend,
            ),
            driver
        );
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(suspended.get(), 1);
        let text: String = {
            let backend = shared.0.borrow();
            backend
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect()
        };
        assert!(text.contains("bob"), "{text}");
        assert!(
            !text.contains('$'),
            "the shell's output is still on screen: {text}"
        );
    }

    /// `bob`'s history: `PAGES` pages of one message each, answered at once, oldest last.
    /// Tells when the last page was asked for.
    #[derive(Default)]
    struct Stream {
        listed: Arc<Notify>,
        last_asked: Arc<Notify>,
    }

    const PAGES: u64 = 200;

    impl Source for Stream {
        async fn conversation_page(
            &self,
            _cursor: &str,
            _limit: u32,
        ) -> Result<ConversationPage, FetchError> {
            self.listed.notify_one();
            Ok(crate::tui::fetch::tests::bob_only())
        }

        async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            let n: u64 = query
                .cursor
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            if n == PAGES {
                self.last_asked.notify_one();
            }
            let message = crate::protocol::Message {
                id: 1_000_000 - n,
                from: "bob".into(),
                to: "demo".into(),
                chat_type: crate::protocol::ChatType::Single,
                time: 1_700_000_000_000 - i64::try_from(n).unwrap_or(0) * 60_000,
                content: crate::protocol::Content::Text {
                    text: format!("message {n}"),
                },
                ext: serde_json::Map::new(),
                meta: None,
            };
            Ok(HistoryPage {
                messages: vec![message],
                next_cursor: (n < PAGES).then(|| (n + 1).to_string()),
                is_last: n >= PAGES,
                undecodable: 0,
            })
        }
    }

    /// A search walking 200 pages that arrive as fast as they are asked for: the frames
    /// are drawn by the clock, not one per page, and the last state is still drawn.
    #[tokio::test]
    async fn pages_streaming_in_are_drawn_together() {
        let shared = SharedScreen(
            Rc::new(RefCell::new(TestBackend::new(80, 24))),
            Rc::default(),
        );
        let frames = Rc::clone(&shared.1);
        let mut terminal = Terminal::new(shared.clone()).expect("test terminal");
        let (tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
        let source = Stream::default();
        let (listed, last_asked) = (Arc::clone(&source.listed), Arc::clone(&source.last_asked));
        let started = Cell::new(0);
        let shown = Rc::clone(&shared.0);
        let mut never_stopped = |_| Ok(());
        let driver = async {
            listed.notified().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let press = |code| {
                let _ =
                    tx.unbounded_send(Ok(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))));
            };
            press(KeyCode::Enter);
            tokio::time::sleep(Duration::from_millis(50)).await;
            press(KeyCode::Char('/'));
            press(KeyCode::Char('z'));
            started.set(frames.get());
            let _ = tx.unbounded_send(Ok(TermEvent::Key(KeyEvent::new(
                KeyCode::Char('o'),
                KeyModifiers::CONTROL,
            ))));
            last_asked.notified().await;
            // Longer than a frame: the last answers' frame is due meanwhile.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let walked = frames.get() - started.get();
            let text: String = {
                let backend = shown.borrow();
                backend
                    .buffer()
                    .content()
                    .iter()
                    .map(|c| c.symbol())
                    .collect()
            };
            // Enter leaves the search input, then q quits.
            press(KeyCode::Enter);
            let _ = tx.unbounded_send(key('q'));
            (walked, text)
        };
        let (result, (walked, text)) = tokio::join!(
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(source),
                Vec::new(),
                utc(),
                mpsc::unbounded_channel().1,
                &mut never_stopped,
            ),
            driver
        );
        assert!(result.is_ok(), "{result:?}");
        assert!(
            walked < 40,
            "{walked} frames drawn for a walk of about {PAGES} pages"
        );
        assert!(
            text.contains("no more matches"),
            "the last state was drawn: {text}"
        );
    }

    #[test]
    fn terminal_events_become_app_events() {
        let app = App::new(80, 24, jiff::tz::TimeZone::UTC);
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert!(translate(TermEvent::Key(release), &app).is_empty());
        let repeat = KeyEvent::new_with_kind_and_state(
            KeyCode::Char('j'),
            KeyModifiers::NONE,
            KeyEventKind::Repeat,
            KeyEventState::NONE,
        );
        assert_eq!(translate(TermEvent::Key(repeat), &app).len(), 1);
        assert_eq!(
            translate(TermEvent::Resize(100, 30), &app),
            vec![Event::Resize(100, 30)]
        );
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            translate(TermEvent::Mouse(wheel), &app),
            vec![Event::Mouse(wheel)]
        );
        // Outside the search input a paste is not a string of commands.
        assert!(translate(TermEvent::Paste("qqq".into()), &app).is_empty());
        assert!(translate(TermEvent::FocusLost, &app).is_empty());
    }
}
