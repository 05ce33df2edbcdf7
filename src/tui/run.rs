//! The event loop: terminal events, fetch answers, a render tick and signals in, frames out.
//!
//! ```text
//! crossterm EventStream ─┐
//! fetch task answers ────┼─> App::update ─> effects: Fetch → fetch task, Quit → leave
//! render tick (250 ms) ──┤                 frame drawn when something changed
//! SIGTERM / SIGHUP ──────┘─> leave
//! ```
//! The loop never awaits the network: requests are handed to the fetch task over a
//! channel that never blocks, and answers arrive as events like key presses do. The
//! terminal is restored by [`TerminalGuard`] on every way out: return, error, panic (its
//! hook) and the signals (they end the loop, then the guard drops).

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;

use anyhow::{Context, anyhow};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::{Stream, StreamExt};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::MissedTickBehavior;

use super::app::{App, Effect, Event};
use super::fetch::{self, FetchHandle, Source};
use super::terminal::TerminalGuard;
use super::view::{self, ViewContext};

/// How often the render tick fires: spinners and relative times.
pub const TICK: Duration = Duration::from_millis(250);

/// The most characters of one paste typed into the search input.
const PASTE_LIMIT: usize = 256;

/// Runs the browser over `source` in the real terminal until the person quits or a signal
/// arrives. `notices` are shown in the status line until the first key press.
pub async fn run<S: Source>(source: S, notices: Vec<String>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let shutdown = async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sighup.recv() => {}
        }
    };
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    // Before anything is loaded: sanitized text depends on how this terminal draws emoji.
    if let Some(whole) = super::terminal::emoji_sequences_drawn_whole() {
        super::text::set_emoji_sequences(whole);
        tracing::info!(emoji_sequences_drawn_whole = whole, "terminal probed");
    }
    guard
        .terminal
        .clear()
        .context("cannot clear the terminal")?;
    let tz = TimeZone::try_system().unwrap_or(TimeZone::UTC);
    let result = event_loop(
        &mut guard.terminal,
        crossterm::event::EventStream::new(),
        fetch::spawn(source),
        notices,
        tz,
        shutdown,
    )
    .await;
    drop(guard);
    result
}

/// The loop itself, over any backend and event stream, so tests can drive it with a
/// `TestBackend` and a stream of synthetic events. Returns when the state asks to quit,
/// the event stream ends, or `shutdown` completes.
pub async fn event_loop<B, E, F>(
    terminal: &mut Terminal<B>,
    mut events: E,
    mut fetch: FetchHandle,
    notices: Vec<String>,
    tz: TimeZone,
    shutdown: F,
) -> anyhow::Result<()>
where
    B: Backend,
    E: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = ()>,
{
    let mut shutdown = pin!(shutdown);
    let size = terminal
        .size()
        .map_err(|e| anyhow!("cannot read the terminal size: {e}"))?;
    let mut app = App::new(size.width, size.height, tz);
    let mut notice = (!notices.is_empty()).then(|| notices.join(" · "));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);

    let now_ms = Timestamp::now().as_millisecond();
    let mut effects = app.update(Event::Tick { now_ms });
    effects.extend(app.start());
    if apply(effects, &fetch) {
        return Ok(());
    }
    let mut dirty = true;
    let mut drawn_minute = i64::MIN;
    loop {
        if dirty {
            // A resize the event stream has not reported yet still gets a right layout.
            let size = terminal
                .size()
                .map_err(|e| anyhow!("cannot read the terminal size: {e}"))?;
            if (size.width, size.height) != app.size()
                && apply(app.update(Event::Resize(size.width, size.height)), &fetch)
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
        }
        let mut quit = false;
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                let event = event.context("cannot read terminal events")?;
                if matches!(event, TermEvent::Key(_)) {
                    notice = None;
                }
                for e in translate(event, &app) {
                    quit |= apply(app.update(e), &fetch);
                    dirty = true;
                }
            }
            answer = fetch.events.recv() => {
                let Some(answer) = answer else {
                    return Err(anyhow!("the fetch task stopped"));
                };
                quit = apply(app.update(answer), &fetch);
                dirty = true;
            }
            _ = tick.tick() => {
                let now_ms = Timestamp::now().as_millisecond();
                quit = apply(app.update(Event::Tick { now_ms }), &fetch);
                let minute = Timestamp::now().as_millisecond() / 60_000;
                dirty |= animating(&app) || minute != drawn_minute;
            }
        }
        if quit {
            return Ok(());
        }
    }
}

/// Carries out effects; true when one of them is [`Effect::Quit`].
fn apply(effects: Vec<Effect>, fetch: &FetchHandle) -> bool {
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Fetch(request) => {
                // A gone fetch task shows up as its channel closing in the loop.
                let _ = fetch.send(request);
            }
            Effect::Quit => quit = true,
        }
    }
    quit
}

/// Something on screen moves with the tick: a spinner.
fn animating(app: &App) -> bool {
    app.list_loading()
        || app
            .current_history()
            .is_some_and(|h| h.in_flight().is_some())
        || app.search().is_some_and(|s| s.continuing().is_some())
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
    use std::sync::Arc;
    use std::time::Duration;

    use crossterm::event::{KeyEventState, MouseEvent, MouseEventKind};
    use futures::channel::mpsc as fmpsc;
    use ratatui::backend::TestBackend;
    use tokio::sync::Notify;

    use super::*;
    use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};
    use crate::tui::app::FetchError;

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
        let (result, _tx) = tokio::join!(
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(fake),
                vec!["demo server on 127.0.0.1".into()],
                TimeZone::UTC,
                std::future::pending(),
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
    async fn shutdown_and_the_end_of_input_leave_the_loop() {
        let mut terminal = Terminal::new(TestBackend::new(40, 10)).expect("test terminal");
        let (_tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
        let stop = tokio::time::sleep(Duration::from_millis(100));
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            event_loop(
                &mut terminal,
                rx,
                fetch::spawn(Fake::default()),
                Vec::new(),
                TimeZone::UTC,
                stop,
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
                TimeZone::UTC,
                std::future::pending(),
            ),
        )
        .await;
        assert!(matches!(done, Ok(Ok(()))), "{done:?}");
    }

    #[test]
    fn terminal_events_become_app_events() {
        let app = App::new(80, 24, TimeZone::UTC);
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
