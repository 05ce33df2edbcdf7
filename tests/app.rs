//! The TUI state machine, driven by events with no terminal and no server: effects and
//! state out. A tiny in-memory "server" answers fetches the way PROTOCOL.md §4 pages.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use roam::protocol::{
    ChatType, Content, Conversation, ConversationPage, Direction, HistoryFilters, HistoryPage,
    HistoryQuery, Message,
};
use roam::tui::action::{Action, Keymap, Mode};
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchError, FetchRequest};
use roam::tui::event::DownloadOutcome;
use roam::tui::history::{EdgeRow, Row, Side};
use roam::tui::layout::Pane;
use serde_json::Map;

const T0: i64 = 1_709_640_000_000; // 2024-03-05 12:00 UTC

fn message(id: u64, time: i64, text: &str) -> Message {
    Message {
        id,
        from: "bob".into(),
        to: "alice".into(),
        chat_type: ChatType::Single,
        time,
        content: Content::Text { text: text.into() },
        ext: Map::new(),
        meta: None,
    }
}

fn conversation(id: &str, pinned: bool, last: i64, unread: u32) -> Conversation {
    Conversation {
        id: id.into(),
        kind: ChatType::Single,
        unread,
        pinned,
        pinned_at: None,
        marks: Vec::new(),
        last_message: Some(message(1, last, "hi")),
    }
}

fn key_of(id: &str) -> ConversationKey {
    ConversationKey {
        id: id.into(),
        kind: ChatType::Single,
    }
}

fn press(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Event {
    press(KeyCode::Char(c))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// One conversation's history on the "server": messages oldest first, paged the way
/// PROTOCOL.md §4 and the embedded server page (the cursor is the id of the first message
/// of the next page, inclusive; time bounds inclusive).
#[derive(Clone)]
struct Server {
    messages: Vec<Message>,
    page: usize,
}

impl Server {
    /// `n` messages, ids 1..=n, a minute apart, text from `text(i)`.
    fn new(n: u64, text: impl Fn(u64) -> String) -> Server {
        let messages = (1..=n)
            .map(|i| message(i, T0 + i as i64 * 60_000, &text(i)))
            .collect();
        Server { messages, page: 50 }
    }

    /// `n` messages, ids 1..=n, `gap` ms apart starting at T0.
    fn spread(n: u64, gap: i64) -> Server {
        let messages = (1..=n)
            .map(|i| message(i, T0 + (i as i64 - 1) * gap, &format!("m{i}")))
            .collect();
        Server { messages, page: 50 }
    }

    /// A new message at the newest end, a minute after the last.
    fn add(&mut self, text: &str) -> u64 {
        let (id, time) = self
            .messages
            .last()
            .map_or((1, T0), |m| (m.id + 1, m.time + 60_000));
        self.messages.push(message(id, time, text));
        id
    }

    /// The answer to `q`.
    fn answer(&self, q: &HistoryQuery) -> HistoryPage {
        let f = &q.filters;
        let keep = |m: &&Message| {
            f.start_time.is_none_or(|t| m.time >= t)
                && f.end_time.is_none_or(|t| m.time <= t)
                && (f.types.is_empty() || f.types.iter().any(|t| t == m.content.type_name()))
                && f.sender.as_ref().is_none_or(|s| *s == m.from)
        };
        let at = q.cursor.as_ref().map(|c| {
            let id: u64 = c.parse().expect("cursor is an id");
            let m = self.messages.iter().find(|m| m.id == id).expect("known id");
            (m.time, m.id)
        });
        let up = q.direction == Direction::Up;
        let mut matching: Vec<&Message> = self
            .messages
            .iter()
            .filter(keep)
            .filter(|m| match at {
                None => true,
                Some(c) if up => (m.time, m.id) <= c,
                Some(c) => (m.time, m.id) >= c,
            })
            .collect();
        if up {
            matching.reverse();
        }
        let size = (q.page_size as usize).min(self.page);
        let is_last = matching.len() <= size;
        HistoryPage {
            messages: matching.iter().take(size).map(|m| (*m).clone()).collect(),
            next_cursor: matching.get(size).map(|m| m.id.to_string()),
            is_last,
            undecodable: 0,
        }
    }

    /// The page going older from `cursor` (`None` = the newest page), newest first.
    fn page(&self, cursor: Option<&str>) -> HistoryPage {
        self.answer(&HistoryQuery {
            conversation: String::new(),
            kind: ChatType::Single,
            cursor: cursor.map(str::to_string),
            page_size: 50,
            direction: Direction::Up,
            filters: HistoryFilters::default(),
        })
    }
}

/// Every history request among `fx`: (conversation, query, request id).
fn history_requests(fx: &[Effect]) -> Vec<(ConversationKey, HistoryQuery, u64)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Fetch(FetchRequest::History {
                query, request_id, ..
            }) => Some((
                ConversationKey {
                    id: query.conversation.clone(),
                    kind: query.kind,
                },
                query.clone(),
                *request_id,
            )),
            _ => None,
        })
        .collect()
}

/// The requests for older pages among `fx`: (conversation, cursor, request id).
fn older_pages(fx: &[Effect]) -> Vec<(ConversationKey, Option<String>, u64)> {
    history_requests(fx)
        .into_iter()
        .filter(|(_, q, _)| q.direction == Direction::Up)
        .map(|(k, q, id)| (k, q.cursor, id))
        .collect()
}

/// The requests for newer pages among `fx`.
fn newer_pages(fx: &[Effect]) -> Vec<(ConversationKey, HistoryQuery, u64)> {
    history_requests(fx)
        .into_iter()
        .filter(|(_, q, _)| q.direction == Direction::Down)
        .collect()
}

fn list_requests(fx: &[Effect]) -> Vec<(Option<String>, u64)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Fetch(FetchRequest::ConversationPage { cursor, request_id }) => {
                Some((cursor.clone(), *request_id))
            }
            _ => None,
        })
        .collect()
}

/// Answers every history fetch in `fx` from `server`, once; returns the new effects.
fn answer(app: &mut App, fx: &[Effect], server: &Server) -> Vec<Effect> {
    let mut out = Vec::new();
    for (conversation, query, request_id) in history_requests(fx) {
        out.extend(app.update(Event::HistoryPage {
            conversation,
            request_id,
            result: Ok(server.answer(&query)),
        }));
    }
    out
}

/// Answers history fetches, and the fetches the answers cause, until none is left.
fn answer_all(app: &mut App, fx: Vec<Effect>, server: &Server) {
    let mut fx = fx;
    for _ in 0..1000 {
        if history_requests(&fx).is_empty() {
            return;
        }
        fx = answer(app, &fx, server);
    }
    panic!("paging never ended");
}

/// An app of `w`×`h` with conversations `ids` (newest first) loaded.
fn app_with(w: u16, h: u16, ids: &[&str]) -> App {
    let mut app = App::new(w, h, TimeZone::UTC);
    let fx = app.start();
    let (_, request_id) = list_requests(&fx)[0].clone();
    let conversations = ids
        .iter()
        .enumerate()
        .map(|(i, id)| conversation(id, false, T0 - i as i64, 0))
        .collect();
    let fx = app.update(Event::ConversationPage {
        request_id,
        result: Ok(ConversationPage {
            conversations,
            next_cursor: None,
        }),
    });
    assert!(fx.is_empty());
    app
}

/// Opens conversation `id` (which must be in the list) and answers its first page.
fn open(app: &mut App, id: &str, server: &Server) -> Vec<Effect> {
    let index = app
        .conversations()
        .iter()
        .position(|c| c.id == id)
        .expect("listed");
    app.update(ch('h'));
    app.update(press(KeyCode::Home));
    let mut fx = Vec::new();
    for _ in 0..index {
        fx.extend(app.update(ch('j')));
    }
    fx.extend(app.update(press(KeyCode::Enter)));
    answer(app, &fx, server)
}

/// Message ids on screen, top to bottom, deduplicated.
fn ids_on_screen(app: &App) -> Vec<u64> {
    let h = app.current_history().expect("open");
    let mut ids: Vec<u64> = app
        .visible_rows()
        .iter()
        .filter_map(|r| match r {
            Row::Header { index } | Row::Body { index, .. } => h.message(*index).map(|m| m.id),
            _ => None,
        })
        .collect();
    ids.dedup();
    ids
}

fn loaded_ids(app: &App, key: &ConversationKey) -> Vec<u64> {
    let h = app.history(key).expect("opened");
    (0..h.len())
        .filter_map(|i| h.message(i).map(|m| m.id))
        .collect()
}

#[test]
fn opening_emits_one_fetch_of_the_newest_page() {
    let mut app = app_with(100, 30, &["bob"]);
    let fx = app.update(press(KeyCode::Enter));
    let pages = older_pages(&fx);
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].0, key_of("bob"));
    assert_eq!(pages[0].1, None);
    assert_eq!(app.focus(), Pane::History);
    assert_eq!(
        app.visible_rows(),
        vec![Row::Top(EdgeRow::Loading)],
        "an empty history says it is loading"
    );
    // Nothing more while it is in flight, whatever the person does.
    for e in [
        ch('k'),
        ch('g'),
        press(KeyCode::PageUp),
        Event::Tick { now_ms: T0 },
    ] {
        assert!(older_pages(&app.update(e)).is_empty());
    }
}

#[test]
fn paging_prepends_in_order_and_stops_at_the_beginning() {
    let server = Server::new(120, |i| format!("message {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    let fx = open(&mut app, "bob", &server);
    assert!(
        fx.is_empty(),
        "50 messages fill the screen: no prefetch yet"
    );
    assert_eq!(
        loaded_ids(&app, &key_of("bob")),
        (71..=120).collect::<Vec<_>>()
    );
    assert!(
        app.status_line()
            .contains("50 messages loaded · more on server")
    );
    // Going to the oldest loaded message brings it within a screen of the top.
    let mut fx = app.update(ch('g'));
    let mut rounds = 0;
    while !older_pages(&fx).is_empty() {
        assert_eq!(older_pages(&fx).len(), 1);
        fx = answer(&mut app, &fx, &server);
        fx.extend(app.update(ch('g')));
        rounds += 1;
        assert!(rounds < 10);
    }
    assert_eq!(
        loaded_ids(&app, &key_of("bob")),
        (1..=120).collect::<Vec<_>>()
    );
    let h = app.current_history().unwrap();
    assert!(h.at_beginning());
    assert_eq!(app.visible_rows()[0], Row::Top(EdgeRow::Beginning));
    assert!(app.status_line().contains("all 120 loaded"));
    for e in [ch('g'), ch('k'), press(KeyCode::PageUp)] {
        assert!(
            older_pages(&app.update(e)).is_empty(),
            "no fetch after is_last"
        );
    }
}

#[test]
fn prepending_never_moves_what_is_read() {
    let server = Server::new(200, |i| format!("line {i}\nsecond line of {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    // Scroll up until a prefetch is asked for, but do not answer it yet.
    let mut fx = Vec::new();
    for _ in 0..200 {
        fx = app.update(ch('k'));
        if !older_pages(&fx).is_empty() {
            break;
        }
    }
    assert_eq!(
        older_pages(&fx).len(),
        1,
        "prefetch within a screen of the top"
    );
    let anchor = app.current_history().unwrap().anchor().expect("scrolled");
    let screen = ids_on_screen(&app);
    let rows = app.visible_rows();
    answer(&mut app, &fx, &server);
    let h = app.current_history().unwrap();
    assert_eq!(h.len(), 100);
    let after = h.anchor().unwrap();
    assert_eq!(
        (after.id, after.lines_below),
        (anchor.id, anchor.lines_below)
    );
    assert_eq!(ids_on_screen(&app), screen);
    // Same rows apart from message indices shifting by the page.
    let shift = |rows: Vec<Row>, by: usize| -> Vec<String> {
        rows.into_iter()
            .map(|r| match r {
                Row::Header { index } => format!("h{}", index + by),
                Row::Body { index, line, .. } => format!("b{}:{line}", index + by),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let now: Vec<String> = shift(app.visible_rows(), 0)
        .into_iter()
        .filter(|r| !r.starts_with("Top"))
        .collect();
    let before: Vec<String> = shift(rows, 50)
        .into_iter()
        .filter(|r| !r.starts_with("Top"))
        .collect();
    assert_eq!(now, before);
}

#[test]
fn stale_and_unknown_answers_are_ignored() {
    let server = Server::new(100, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    let fx = app.update(press(KeyCode::Enter));
    let (conversation, cursor, request_id) = older_pages(&fx)[0].clone();
    assert_eq!(cursor, None);
    let stale = app.update(Event::HistoryPage {
        conversation: conversation.clone(),
        request_id: request_id + 100,
        result: Ok(server.page(None)),
    });
    assert!(stale.is_empty());
    assert_eq!(app.current_history().unwrap().len(), 0);
    assert!(app.current_history().unwrap().in_flight().is_some());
    // A page for a conversation never opened is dropped.
    app.update(Event::HistoryPage {
        conversation: key_of("nobody"),
        request_id,
        result: Ok(server.page(None)),
    });
    assert!(app.history(&key_of("nobody")).is_none());
    // The real answer still lands, once.
    answer(&mut app, &fx, &server);
    assert_eq!(app.current_history().unwrap().len(), 50);
    answer(&mut app, &fx, &server);
    assert_eq!(
        app.current_history().unwrap().len(),
        50,
        "a repeat is stale"
    );
}

#[test]
fn a_page_for_a_conversation_left_is_kept_there_and_position_is_restored() {
    let a = Server::new(100, |i| format!("alpha {i}"));
    let b = Server::new(100, |i| format!("beta {i}"));
    let mut app = app_with(100, 30, &["a", "b"]);
    let fx_a = app.update(press(KeyCode::Enter));
    assert_eq!(older_pages(&fx_a)[0].0, key_of("a"));
    // Leave before it answers; open b.
    app.update(ch('h'));
    app.update(ch('j'));
    let fx_b = app.update(press(KeyCode::Enter));
    assert_eq!(older_pages(&fx_b)[0].0, key_of("b"));
    // a's page arrives while b is shown.
    let fx = answer(&mut app, &fx_a, &a);
    assert!(fx.is_empty(), "no prefetch for a conversation not shown");
    assert_eq!(app.history(&key_of("a")).unwrap().len(), 50);
    assert_eq!(app.open_conversation(), Some(&key_of("b")));
    assert_eq!(app.visible_rows(), vec![Row::Top(EdgeRow::Loading)]);
    answer(&mut app, &fx_b, &b);
    let h = app.current_history().unwrap();
    assert!((0..h.len()).all(|i| h.body(i).unwrap().starts_with("beta")));
    // Scroll b, go to a, come back: b is where it was.
    for _ in 0..7 {
        app.update(ch('k'));
    }
    let anchor = app.current_history().unwrap().anchor();
    let screen = ids_on_screen(&app);
    app.update(press(KeyCode::Tab));
    app.update(ch('k'));
    let fx = app.update(press(KeyCode::Enter));
    assert!(older_pages(&fx).is_empty(), "a is loaded already");
    assert_eq!(app.open_conversation(), Some(&key_of("a")));
    assert!(app.current_history().unwrap().anchor().is_none());
    app.update(ch('h'));
    app.update(ch('j'));
    app.update(press(KeyCode::Enter));
    assert_eq!(app.current_history().unwrap().anchor(), anchor);
    assert_eq!(ids_on_screen(&app), screen);
}

#[test]
fn failures_show_the_reason_keep_content_and_retry_with_r() {
    let server = Server::new(100, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let fx = app.update(ch('g'));
    let (conversation, cursor, request_id) = older_pages(&fx)[0].clone();
    assert_eq!(cursor.as_deref(), Some("50"));
    let fx = app.update(Event::HistoryPage {
        conversation,
        request_id,
        result: Err(FetchError::new("This request has reached api limit", true)),
    });
    assert!(fx.is_empty(), "failures are not retried on their own");
    let status = app.status_line();
    assert!(
        status.contains("This request has reached api limit"),
        "{status}"
    );
    assert!(status.contains("press R to retry"), "{status}");
    assert_eq!(app.current_history().unwrap().len(), 50, "content stays");
    assert_eq!(app.visible_rows()[0], Row::Top(EdgeRow::Failed));
    assert!(older_pages(&app.update(ch('k'))).is_empty());
    let fx = app.update(ch('R'));
    let retry = older_pages(&fx);
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].1.as_deref(), Some("50"), "same cursor");
    assert!(!app.status_line().contains("retry"));
    answer(&mut app, &fx, &server);
    assert_eq!(app.current_history().unwrap().len(), 100);
}

#[test]
fn prefetch_starts_within_a_screen_of_the_top() {
    // One-line messages from one sender a minute apart: one header for the run, then a
    // body line each (plus the day separator).
    let server = Server::new(500, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let h = app.current_history().unwrap();
    assert_eq!(h.len(), 50);
    // 50 messages ≈ 50 rows + separators; the view is 27 rows tall. Scroll a line at a
    // time and note where the fetch starts.
    let mut scrolled = 0;
    loop {
        let fx = app.update(ch('k'));
        scrolled += 1;
        if !older_pages(&fx).is_empty() {
            break;
        }
        assert!(scrolled < 200);
    }
    // The top of the view is then less than a screen (26 rows under the date row) below
    // the top row.
    let rows_total = 1 + 1 + 1 + 50; // top row, day separator, the run's header, 50 lines
    let top_of_view = rows_total - 26 - scrolled;
    assert!(
        top_of_view < 26,
        "fetch began {top_of_view} rows from the top"
    );
    assert!(top_of_view >= 24, "but not much earlier: {top_of_view}");
}

#[test]
fn resize_keeps_the_anchor() {
    let server = Server::new(100, |i| format!("message {i} ").repeat(i as usize % 7 + 1));
    let mut app = app_with(120, 40, &["bob"]);
    open(&mut app, "bob", &server);
    for _ in 0..10 {
        app.update(ch('k'));
    }
    let anchor = app.current_history().unwrap().anchor().expect("scrolled");
    // One sender's run shares a header, so 50 loaded one-line messages fit a 200×60
    // screen whole (and the view then rightly sits at the bottom): 200×45 does not.
    for (w, h) in [(60, 20), (200, 45), (0, 0), (1, 1), (81, 10), (120, 40)] {
        app.update(Event::Resize(w, h));
        let a = app
            .current_history()
            .unwrap()
            .anchor()
            .unwrap_or_else(|| panic!("kept at {w}×{h}"));
        assert_eq!(a.id, anchor.id, "at {w}×{h}");
        let _ = app.visible_rows();
    }
    assert_eq!(
        app.current_history().unwrap().anchor().unwrap().id,
        anchor.id
    );
}

#[test]
fn narrow_terminals_show_one_pane() {
    let server = Server::new(10, |i| format!("m{i}"));
    let mut app = app_with(60, 20, &["bob"]);
    assert!(app.layout().history.is_none());
    open(&mut app, "bob", &server);
    let l = app.layout();
    assert!(l.list.is_none() && l.history.is_some());
    app.update(press(KeyCode::Tab));
    assert!(app.layout().history.is_none());
}

#[test]
fn list_pages_are_merged_sorted_and_keep_the_selection() {
    let mut app = App::new(100, 30, TimeZone::UTC);
    let fx = app.start();
    let (cursor, id1) = list_requests(&fx)[0].clone();
    assert_eq!(cursor, None);
    let fx = app.update(Event::ConversationPage {
        request_id: id1,
        result: Ok(ConversationPage {
            conversations: vec![
                conversation("old", false, T0 - 5000, 0),
                conversation("new", false, T0, 3),
            ],
            next_cursor: Some("c2".into()),
        }),
    });
    let ids: Vec<&str> = app.conversations().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["new", "old"]);
    let (cursor, id2) = list_requests(&fx)[0].clone();
    assert_eq!(cursor.as_deref(), Some("c2"));
    app.update(ch('j'));
    assert_eq!(app.selected_conversation().unwrap().id, "old");
    let fx = app.update(Event::ConversationPage {
        request_id: id2,
        result: Ok(ConversationPage {
            conversations: vec![
                conversation("pinned", true, T0 - 9000, 0),
                conversation("newest", false, T0 + 1, 0),
            ],
            next_cursor: None,
        }),
    });
    assert!(fx.is_empty());
    let ids: Vec<&str> = app.conversations().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["pinned", "newest", "new", "old"]);
    assert_eq!(
        app.selected_conversation().unwrap().id,
        "old",
        "selection follows"
    );
    // Reload: the old generation's answers are ignored, the new one replaces the list.
    let fx = app.update(ch('r'));
    let (cursor, id3) = list_requests(&fx)[0].clone();
    assert_eq!(cursor, None);
    app.update(Event::ConversationPage {
        request_id: id2,
        result: Ok(ConversationPage {
            conversations: vec![conversation("ghost", false, T0, 0)],
            next_cursor: None,
        }),
    });
    assert!(app.conversations().iter().all(|c| c.id != "ghost"));
    app.update(Event::ConversationPage {
        request_id: id3,
        result: Ok(ConversationPage {
            conversations: vec![
                conversation("old", false, T0 + 10, 0),
                conversation("new", false, T0, 0),
            ],
            next_cursor: None,
        }),
    });
    let ids: Vec<&str> = app.conversations().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["old", "new"]);
    assert_eq!(app.selected_conversation().unwrap().id, "old");
}

#[test]
fn list_failure_is_shown_and_retried() {
    let mut app = App::new(100, 30, TimeZone::UTC);
    let fx = app.start();
    let (_, id) = list_requests(&fx)[0].clone();
    app.update(Event::ConversationPage {
        request_id: id,
        result: Err(FetchError::new("messageroaming function not open", false)),
    });
    assert!(
        app.status_line()
            .contains("messageroaming function not open")
    );
    let fx = app.update(ch('R'));
    assert_eq!(list_requests(&fx).len(), 1);
}

/// Answers the list requests of a whole load with `page(n, cursor)` for the n-th page (from
/// 0) until the app asks for no more or `budget` pages were answered; returns the count.
fn load_list(
    app: &mut App,
    budget: usize,
    page: impl Fn(usize, Option<&str>) -> ConversationPage,
) -> usize {
    let mut fx = app.start();
    let mut answered = 0;
    while let Some((cursor, request_id)) = list_requests(&fx).pop() {
        if answered == budget {
            break;
        }
        fx = app.update(Event::ConversationPage {
            request_id,
            result: Ok(page(answered, cursor.as_deref())),
        });
        answered += 1;
    }
    answered
}

#[test]
fn a_list_whose_cursor_never_ends_stops_loading_and_says_so() {
    // A fresh cursor and a fresh conversation on every page, forever.
    let mut app = App::new(100, 30, TimeZone::UTC);
    let pages = load_list(&mut app, 1_000, |n, _| ConversationPage {
        conversations: vec![conversation(&format!("c{n}"), false, T0 - n as i64, 0)],
        next_cursor: Some(format!("cursor-{n}")),
    });
    assert!(pages <= 200, "{pages} list pages");
    assert!(!app.list_loading());
    assert_eq!(app.conversations().len(), pages, "what came is kept");
    let status = app.status_line();
    assert!(
        status.contains("conversation list incomplete") && status.contains("no end after"),
        "{status}"
    );
    // A reload starts a fresh load.
    let fx = app.update(ch('r'));
    assert_eq!(list_requests(&fx).len(), 1);
    assert!(!app.status_line().contains("incomplete"));
}

#[test]
fn a_list_of_empty_pages_with_changing_cursors_stops() {
    let mut app = App::new(100, 30, TimeZone::UTC);
    let pages = load_list(&mut app, 1_000, |n, _| ConversationPage {
        conversations: Vec::new(),
        next_cursor: Some(format!("e{n}")),
    });
    assert!(pages <= 10, "{pages} empty list pages");
    assert!(!app.list_loading());
    let status = app.status_line();
    assert!(status.contains("empty but not the last"), "{status}");
}

#[test]
fn a_list_cursor_cycle_longer_than_one_page_stops() {
    // a -> b -> c -> a: each page's cursor differs from the one it was asked with.
    let mut app = App::new(100, 30, TimeZone::UTC);
    let pages = load_list(&mut app, 1_000, |n, _| ConversationPage {
        conversations: vec![conversation("bob", false, T0, 0)],
        next_cursor: Some(["a", "b", "c"][n % 3].to_string()),
    });
    assert_eq!(pages, 4, "a, b, c, then a again stops");
    assert_eq!(app.conversations().len(), 1);
    assert!(
        app.status_line().contains("repeated a cursor"),
        "{}",
        app.status_line()
    );
}

#[test]
fn undecodable_history_entries_are_counted_in_the_status_not_all_loaded() {
    let mut app = app_with(100, 30, &["bob"]);
    let fx = app.update(press(KeyCode::Enter));
    let (conversation, query, request_id) = history_requests(&fx)[0].clone();
    let server = Server::new(3, |i| format!("m{i}"));
    let mut page = server.answer(&query);
    page.undecodable = 2;
    app.update(Event::HistoryPage {
        conversation,
        request_id,
        result: Ok(page),
    });
    let status = app.status_line();
    assert!(!status.contains("all 3 loaded"), "{status}");
    assert!(
        status.contains("3 loaded") && status.contains("2 entries could not be decoded"),
        "{status}"
    );
}

#[test]
fn unread_divider_stays_and_nothing_marks_read() {
    let server = Server::new(30, |i| format!("m{i}"));
    let mut app = App::new(100, 80, TimeZone::UTC);
    let fx = app.start();
    let (_, id) = list_requests(&fx)[0].clone();
    app.update(Event::ConversationPage {
        request_id: id,
        result: Ok(ConversationPage {
            conversations: vec![conversation("bob", false, T0, 3)],
            next_cursor: None,
        }),
    });
    let fx = app.update(press(KeyCode::Enter));
    answer(&mut app, &fx, &server);
    let h = app.current_history().unwrap();
    let rows = app.visible_rows();
    let divider = rows
        .iter()
        .position(|r| *r == Row::Unread { count: 3 })
        .expect("divider");
    assert_eq!(rows[divider + 1], Row::Header { index: h.len() - 3 });
    assert_eq!(app.conversations()[0].unread, 3);
    assert!(rows.contains(&Row::Day {
        label: "2024-03-05 Tue".into()
    }));
}

#[test]
fn quit_keys_and_help() {
    let mut app = App::new(100, 30, TimeZone::UTC);
    assert_eq!(app.update(ch('q')), vec![Effect::Quit]);
    assert_eq!(app.update(ctrl('c')), vec![Effect::Quit]);
    app.update(ch('?'));
    assert!(app.help_visible());
    assert!(app.update(ch('j')).is_empty());
    app.update(press(KeyCode::Esc));
    assert!(!app.help_visible());
}

#[test]
fn mouse_wheel_scrolls_and_click_opens() {
    let server = Server::new(100, |i| format!("m{i}"));
    let mut app = app_with(120, 40, &["a", "b", "c"]);
    let layout = app.layout();
    let inner = layout.list_inner.unwrap();
    // Click the second conversation (items are two rows).
    let fx = app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: inner.x + 1,
        row: inner.y + 2,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(older_pages(&fx)[0].0, key_of("b"));
    answer(&mut app, &fx, &server);
    let messages = app.layout().messages.unwrap();
    app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: messages.x + 3,
        row: messages.y + 3,
        modifiers: KeyModifiers::NONE,
    }));
    let a = app.current_history().unwrap().anchor().expect("scrolled");
    // Three lines up from the bottom: one sender's run shares a header, so each message
    // is one line: message 97's.
    assert_eq!((a.id, a.lines_below), (97, 0));
    assert!(app.current_history().unwrap().scrolled_away());
    app.update(ch('G'));
    assert!(!app.current_history().unwrap().scrolled_away());
}

// ----- search --------------------------------------------------------------------------

fn type_text(app: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| app.update(ch(c))).collect()
}

fn searched_app(texts: &[&str]) -> (App, Server) {
    let owned: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
    let server = Server::new(texts.len() as u64, move |i| owned[i as usize - 1].clone());
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    (app, server)
}

#[test]
fn search_is_incremental_and_case_insensitive_across_scripts() {
    let (mut app, _) = searched_app(&[
        "Hello WORLD",
        "你好世界",
        "emoji 🎉 party",
        "ÉCOLE",
        "nothing here",
        "world again, World",
    ]);
    app.update(ch('/'));
    type_text(&mut app, "w");
    let s = app.search().unwrap();
    assert_eq!(s.count(), 2, "messages: WORLD, and world … World");
    type_text(&mut app, "orld");
    assert_eq!(app.search().unwrap().count(), 2);
    assert_eq!(app.search().unwrap().position(), "1/2 messages");
    app.update(press(KeyCode::Backspace));
    assert_eq!(app.search().unwrap().query(), "worl");
    for (q, n) in [
        ("世界", 1),
        ("🎉", 1),
        ("école", 1),
        ("HELLO", 1),
        ("zzz", 0),
    ] {
        app.update(press(KeyCode::Esc));
        app.update(ch('/'));
        type_text(&mut app, q);
        assert_eq!(app.search().unwrap().count(), n, "{q}");
    }
    assert!(app.status_line().contains("no matches"));
    // Matches are byte ranges of the display body, for highlighting in place.
    app.update(press(KeyCode::Esc));
    app.update(ch('/'));
    type_text(&mut app, "world");
    let h = app.current_history().unwrap();
    let index = h.len() - 1;
    let hl = app.highlights(index);
    let body = h.body(index).unwrap();
    let texts: Vec<&str> = hl.iter().map(|(r, _)| &body[r.clone()]).collect();
    assert_eq!(texts, ["world", "World"]);
    assert_eq!(hl, [(0..5, false), (13..18, true)], "the later one first");
    assert_eq!(app.highlights(index - 1), [], "nothing here");
    let hello = index - 5;
    assert_eq!(app.highlights(hello), [(6..11, false)]);
    // n walks up the screen: the earlier match in the same message, then older messages.
    app.update(press(KeyCode::Enter));
    app.update(ch('n'));
    assert_eq!(app.search().unwrap().position(), "1/2 messages");
    assert_eq!(app.highlights(index), [(0..5, true), (13..18, false)]);
    assert_eq!(
        app.search().unwrap().current_hit(),
        Some((5, 0..5)),
        "the newest message (position 5), bytes 0..5"
    );
    app.update(ch('n'));
    assert_eq!(app.search().unwrap().position(), "2/2 messages");
    assert_eq!(app.highlights(hello), [(6..11, true)]);
    assert_eq!(app.highlights(index), [(0..5, false), (13..18, false)]);
    app.update(ch('n'));
    assert_eq!(app.search().unwrap().current_hit(), Some((5, 13..18)));
    assert!(app.status_line().contains("wrapped"));
    // N walks down: nothing is newer than the newest message's last match, so it wraps to
    // the oldest, then enters the newer message at its first match.
    app.update(ch('N'));
    assert_eq!(app.search().unwrap().current_hit(), Some((0, 6..11)));
    assert!(app.status_line().contains("wrapped to the oldest"));
    app.update(ch('N'));
    assert_eq!(app.search().unwrap().current_hit(), Some((5, 0..5)));
    app.update(ch('N'));
    assert_eq!(app.search().unwrap().current_hit(), Some((5, 13..18)));
    assert_eq!(app.search().unwrap().position(), "1/2 messages");
}

#[test]
fn regex_toggle_and_invalid_patterns() {
    let (mut app, _) = searched_app(&["order 123", "order abc", "order 7"]);
    app.update(ch('/'));
    type_text(&mut app, "order \\d+");
    assert_eq!(
        app.search().unwrap().count(),
        0,
        "plain: backslash is literal"
    );
    app.update(ctrl('r'));
    assert!(app.search().unwrap().is_regex());
    assert_eq!(app.search().unwrap().count(), 2);
    type_text(&mut app, "(");
    let s = app.search().unwrap();
    assert!(s.error().is_some());
    assert_eq!(s.count(), 0);
    assert!(
        app.status_line().contains("regex:"),
        "{}",
        app.status_line()
    );
    app.update(press(KeyCode::Backspace));
    assert_eq!(app.search().unwrap().count(), 2);
    assert!(app.search().unwrap().error().is_none());
}

#[test]
fn n_and_shift_n_walk_matches_and_wrap() {
    let texts: Vec<String> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                format!("needle {i}")
            } else {
                format!("hay {i}")
            }
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (mut app, _) = searched_app(&refs);
    app.update(ch('/'));
    type_text(&mut app, "needle");
    assert_eq!(app.search().unwrap().position(), "1/20 messages");
    app.update(press(KeyCode::Enter));
    assert!(!app.search().unwrap().is_editing());
    app.update(ch('n'));
    app.update(ch('n'));
    assert_eq!(app.search().unwrap().position(), "3/20 messages");
    assert!(app.status_line().contains("3/20 messages"));
    // The current match is on screen.
    let (rev, _) = app.search().unwrap().current_hit().unwrap();
    let h = app.current_history().unwrap();
    let id = h.id_of(h.index_of_position(rev).unwrap()).unwrap();
    assert!(ids_on_screen(&app).contains(&id));
    app.update(ch('N'));
    app.update(ch('N'));
    app.update(ch('N'));
    assert_eq!(app.search().unwrap().position(), "20/20 messages");
    assert!(app.status_line().contains("wrapped"));
    app.update(ch('n'));
    assert_eq!(app.search().unwrap().position(), "1/20 messages");
    // The oldest match is far up: jumping there moves the view.
    app.update(ch('N'));
    let (rev, _) = app.search().unwrap().current_hit().unwrap();
    let h = app.current_history().unwrap();
    let id = h.id_of(h.index_of_position(rev).unwrap()).unwrap();
    assert!(ids_on_screen(&app).contains(&id));
    assert!(h.scrolled_away());
}

#[test]
fn esc_returns_to_where_the_search_began() {
    let texts: Vec<String> = (0..50).map(|i| format!("text {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (mut app, _) = searched_app(&refs);
    for _ in 0..3 {
        app.update(ch('k'));
    }
    let before = app.current_history().unwrap().anchor();
    app.update(ch('/'));
    type_text(&mut app, "text 1 ");
    type_text(&mut app, "\u{8}");
    app.update(press(KeyCode::Backspace));
    app.update(press(KeyCode::Backspace));
    type_text(&mut app, "2");
    assert_eq!(app.search().unwrap().query(), "text 12");
    assert_ne!(app.current_history().unwrap().anchor(), before, "jumped");
    app.update(press(KeyCode::Esc));
    assert!(app.search().is_none());
    assert_eq!(app.current_history().unwrap().anchor(), before);
    // Enter stays at the match instead.
    app.update(ch('/'));
    type_text(&mut app, "text 3");
    let at = app.current_history().unwrap().anchor();
    app.update(press(KeyCode::Enter));
    assert_eq!(app.current_history().unwrap().anchor(), at);
}

#[test]
fn continuing_into_older_history_fetches_until_a_match_and_esc_cancels() {
    let server = Server::new(300, |i| {
        if i == 20 {
            "the rare word".into()
        } else {
            format!("ordinary {i}")
        }
    });
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('/'));
    type_text(&mut app, "rare");
    assert_eq!(app.search().unwrap().count(), 0);
    let mut fx = app.update(ctrl('o'));
    assert_eq!(older_pages(&fx).len(), 1);
    let mut pages = 0;
    while !older_pages(&fx).is_empty() {
        fx = answer(&mut app, &fx, &server);
        pages += 1;
        if app.search().unwrap().continuing().is_some() {
            assert!(app.status_line().contains("searching older history…"));
        }
        assert!(pages < 10);
    }
    // 300 messages, 50 a page, the match is message 20: pages 2..=6 were needed.
    assert_eq!(pages, 5);
    let s = app.search().unwrap();
    assert_eq!(s.continuing(), None);
    assert_eq!(s.position(), "1/1 message");
    let (pos, range) = s.current_hit().unwrap();
    let h = app.current_history().unwrap();
    assert_eq!(
        (h.index_of_position(pos).and_then(|i| h.id_of(i)), range),
        (Some(20), 4..8),
        "message 20 of 300: \"rare\""
    );
    assert!(ids_on_screen(&app).contains(&20));

    // Esc stops a continuation; the page in flight still lands, nothing more is asked.
    let server = Server::new(300, |i| format!("ordinary {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('/'));
    type_text(&mut app, "nowhere");
    let fx = app.update(ctrl('o'));
    let fx2 = answer(&mut app, &fx, &server);
    assert_eq!(older_pages(&fx2).len(), 1);
    app.update(press(KeyCode::Esc));
    assert_eq!(app.search().unwrap().continuing(), None);
    assert!(app.search().unwrap().is_editing(), "first Esc only stops");
    let fx3 = answer(&mut app, &fx2, &server);
    assert!(older_pages(&fx3).is_empty());
    assert_eq!(app.current_history().unwrap().len(), 150);
}

/// Whether each history request in `fx` asks the fetch task to read the next page ahead.
fn read_ahead_flags(fx: &[Effect]) -> Vec<bool> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Fetch(FetchRequest::History { read_ahead, .. }) => Some(*read_ahead),
            _ => None,
        })
        .collect()
}

#[test]
fn only_a_continuing_search_asks_for_pages_to_be_read_ahead() {
    let server = Server::new(300, |i| format!("ordinary {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    let opened = open(&mut app, "bob", &server);
    assert!(read_ahead_flags(&opened).iter().all(|&r| !r), "browsing");
    app.update(ch('/'));
    type_text(&mut app, "nowhere");
    let mut fx = app.update(ctrl('o'));
    assert_eq!(read_ahead_flags(&fx), vec![true]);
    while !older_pages(&fx).is_empty() {
        assert_eq!(read_ahead_flags(&fx), vec![true], "every step of the walk");
        fx = answer(&mut app, &fx, &server);
    }
    assert!(app.current_history().unwrap().at_beginning());
}

#[test]
fn continuing_stops_at_the_beginning() {
    let server = Server::new(120, |i| format!("ordinary {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('/'));
    type_text(&mut app, "nowhere");
    app.update(press(KeyCode::Enter));
    let mut fx = app.update(ch('o'));
    while !older_pages(&fx).is_empty() {
        fx = answer(&mut app, &fx, &server);
    }
    assert!(app.current_history().unwrap().at_beginning());
    assert_eq!(app.search().unwrap().continuing(), None);
    assert!(
        app.status_line().contains("beginning"),
        "{}",
        app.status_line()
    );
}

// ----- invariants under random use --------------------------------------------------------

#[derive(Clone, Debug)]
enum Step {
    Scroll(i8),
    Key(u8),
    /// Answer pending request `k` (modulo how many wait) with the server's answer as of now.
    Answer(u8),
    Fail(u8),
    Stale {
        conv: u8,
    },
    /// A new message arrives on conversation `conv`'s server.
    Add {
        conv: u8,
    },
    /// Jump the open conversation to a time: `fraction`/255 of the way through its history,
    /// or before it / after it at the ends of the range.
    Jump(u8),
    Switch(u8),
    Resize(u16, u16),
    /// 0: clear the filter; 1: filter by `txt` (everything here); 2: by `img` (nothing).
    Filter(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (-30i8..30).prop_map(Step::Scroll),
        3 => (0u8..28).prop_map(Step::Key),
        6 => any::<u8>().prop_map(Step::Answer),
        1 => any::<u8>().prop_map(Step::Fail),
        1 => (0u8..3).prop_map(|conv| Step::Stale { conv }),
        1 => (0u8..3).prop_map(|conv| Step::Add { conv }),
        2 => any::<u8>().prop_map(Step::Jump),
        1 => (0u8..3).prop_map(Step::Switch),
        1 => (0u8..3).prop_map(Step::Filter),
        1 => prop_oneof![
            Just((0u16, 0u16)),
            Just((1, 1)),
            Just((2, 3)),
            (1u16..200, 1u16..70)
        ]
        .prop_map(|(w, h)| Step::Resize(w, h)),
    ]
}

const NAMES: [&str; 3] = ["a", "b", "c"];

/// A server for the random walk: `n` messages whose times repeat (three to a millisecond),
/// so order is by (time, id), and whose text length varies so wrapping varies.
fn random_server(conv: usize, n: u64) -> Server {
    let messages = (1..=n)
        .map(|i| {
            let time = T0 + (i as i64 / 3) * 3_600_000;
            message(i, time, &format!("{conv}:{i} ").repeat(i as usize % 9 + 1))
        })
        .collect();
    Server { messages, page: 50 }
}

/// The message ids of `h`'s window.
fn window_ids(h: &roam::tui::history::History) -> Vec<u64> {
    (0..h.len()).filter_map(|i| h.id_of(i)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_use_keeps_the_invariants(steps in prop::collection::vec(step(), 1..100)) {
        let mut app = app_with(100, 30, &NAMES);
        let mut servers: Vec<Server> = [7u64, 130, 460]
            .iter()
            .enumerate()
            .map(|(c, &n)| random_server(c, n))
            .collect();
        // Every history request the app made and nobody answered yet.
        let mut pending: Vec<(ConversationKey, HistoryQuery, u64)> = Vec::new();
        let keys = [ch('j'), ch('k'), ch('g'), ch('G'), press(KeyCode::PageUp),
            press(KeyCode::PageDown), ctrl('u'), ctrl('d'), press(KeyCode::Tab), ch('R'),
            ch('n'), ch('N'), ch('/'), ch('e'), press(KeyCode::Enter), press(KeyCode::Esc),
            ctrl('o'), ctrl('r'), ch('('), press(KeyCode::Backspace), ch('o'), ch('\''),
            ch('B'), press(KeyCode::End), ctrl('c'), ch('r'), ch('u'), ch('F')];
        for s in steps {
            let shown_before = app.current_history().map(|h| {
                (h.id(), ids_on_screen(&app), h.follows(), h.is_placing() || h.is_empty())
            });
            let mut answered_shown = false;
            let fx = match s {
                Step::Scroll(n) => {
                    let e = if n < 0 { ch('k') } else { ch('j') };
                    let mut fx = Vec::new();
                    for _ in 0..n.unsigned_abs() { fx.extend(app.update(e.clone())); }
                    fx
                }
                Step::Key(k) => app.update(keys[k as usize].clone()),
                Step::Answer(k) | Step::Fail(k) if !pending.is_empty() => {
                    let (conv, query, id) = pending.remove(k as usize % pending.len());
                    let c = NAMES.iter().position(|n| *n == conv.id).expect("known");
                    answered_shown = app.current_history().is_some_and(|h| {
                        [Side::Older, Side::Newer].iter().any(|&side| {
                            h.edge(side).in_flight().is_some_and(|f| f.request_id == id)
                        })
                    });
                    let result = match s {
                        Step::Fail(_) => Err(FetchError::new("busy", true)),
                        _ => Ok(servers[c].answer(&query)),
                    };
                    app.update(Event::HistoryPage { conversation: conv, request_id: id, result })
                }
                Step::Answer(_) | Step::Fail(_) => continue,
                Step::Stale { conv } => app.update(Event::HistoryPage {
                    conversation: key_of(NAMES[conv as usize]),
                    request_id: 1_000_000,
                    result: Ok(HistoryPage {
                        messages: vec![message(5, T0, "stale")],
                        next_cursor: None,
                        is_last: true,
                        undecodable: 0,
                    }),
                }),
                Step::Add { conv } => {
                    servers[conv as usize].add("new");
                    continue;
                }
                Step::Jump(f) => {
                    let Some(open) = app.open_conversation().cloned() else { continue };
                    let c = NAMES.iter().position(|n| *n == open.id).expect("known");
                    let msgs = &servers[c].messages;
                    let (Some(first), Some(last)) = (msgs.first(), msgs.last()) else { continue };
                    let span = last.time - first.time + 2 * 3_600_000;
                    let t = first.time - 3_600_000 + span * i64::from(f) / 255;
                    app.update(Event::JumpTo(t))
                }
                Step::Switch(i) => {
                    let mut fx = app.update(ch('h'));
                    fx.extend(app.update(press(KeyCode::Home)));
                    for _ in 0..i { fx.extend(app.update(ch('j'))); }
                    fx.extend(app.update(press(KeyCode::Enter)));
                    fx
                }
                Step::Resize(w, h) => app.update(Event::Resize(w, h)),
                Step::Filter(k) => {
                    let mut fx = app.update(Event::Action(roam::tui::action::Action::ClearFilter));
                    if k > 0 {
                        fx.extend(app.update(Event::Action(roam::tui::action::Action::Filter)));
                        fx.extend(type_text(&mut app, if k == 1 { " txt" } else { " img" }));
                        fx.extend(app.update(press(KeyCode::Enter)));
                        fx.extend(app.update(press(KeyCode::Esc)));
                    }
                    fx
                }
            };
            pending.extend(history_requests(&fx));
            // Every window: in order without duplicates, a contiguous run of the server's
            // messages, at most one request per direction, each one the app is waiting for.
            for (c, name) in NAMES.iter().enumerate() {
                let Some(windows) = app.windows(&key_of(name)) else { continue };
                for h in windows.all() {
                    let ids = window_ids(h);
                    let times: Vec<i64> = (0..h.len()).filter_map(|i| h.time(i)).collect();
                    prop_assert!(
                        ids.windows(2).zip(times.windows(2)).all(|(i, t)| (t[0], i[0]) < (t[1], i[1])),
                        "ordered by (time, id), no duplicates"
                    );
                    if let Some(&first) = ids.first() {
                        let server: Vec<u64> = servers[c].messages.iter().map(|m| m.id).collect();
                        let at = server.iter().position(|&id| id == first).expect("a real message");
                        prop_assert_eq!(&server[at..at + ids.len()], &ids[..], "contiguous");
                    }
                    for side in [Side::Older, Side::Newer] {
                        if let Some(f) = h.edge(side).in_flight() {
                            prop_assert!(
                                pending.iter().any(|(_, _, id)| *id == f.request_id),
                                "in flight means asked"
                            );
                        }
                    }
                    if let Some(a) = h.anchor() {
                        let i = h.index_of_position(a.position());
                        prop_assert!(i.is_some(), "the anchor is a loaded message");
                        prop_assert_eq!(i.and_then(|i| h.id_of(i)), Some(a.id));
                    }
                }
            }
            // No request is asked twice while the first still waits: the app only asks
            // what a window waits for, one per edge.
            let waited: Vec<u64> = NAMES
                .iter()
                .filter_map(|n| app.windows(&key_of(n)))
                .flat_map(|w| w.all())
                .flat_map(|h| [Side::Older, Side::Newer].map(|side| h.edge(side).in_flight().map(|f| f.request_id)))
                .flatten()
                .collect();
            let mut unique = waited.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), waited.len());
            // A page arriving at either end never moves what is read.
            if let (true, Some((window, before, follows, placing))) = (answered_shown, shown_before)
                && let Some(h) = app.current_history()
                && h.id() == window
                && !follows
                && !placing
                && !before.is_empty()
            {
                let after = ids_on_screen(&app);
                prop_assert!(
                    after.windows(before.len()).any(|w| w == &before[..]),
                    "what was read stays on screen: {:?} then {:?}", before, after
                );
            }
            let rows = app.visible_rows();
            let height = app.layout().messages.map_or(0, |r| r.height as usize);
            prop_assert!(rows.len() <= height);
            if let Some(h) = app.current_history() {
                for r in &rows {
                    if let Row::Body { index, text, .. } = r {
                        prop_assert!(h.body(*index).unwrap().get(text.range()).is_some());
                    }
                }
            }
            let _ = app.status_line();
        }
    }
}

/// Pages everything both ways, answering as the server would: the window ends up being
/// exactly the server's history.
#[test]
fn a_jumped_window_pages_both_ways_to_the_whole_history() {
    let server = Server::new(300, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let t = server.messages[150].time;
    let fx = app.update(Event::JumpTo(t));
    let reqs = history_requests(&fx);
    assert_eq!(reqs.len(), 2, "the page at the time and the page before it");
    let down = &newer_pages(&fx)[0].1;
    assert_eq!(
        (down.cursor.as_deref(), down.filters.start_time),
        (None, Some(t))
    );
    let up = &older_pages(&fx)[0];
    assert_eq!(up.1, None);
    answer(&mut app, &fx, &server);
    let h = app.current_history().unwrap();
    let marked = h.marker_index().and_then(|i| h.id_of(i));
    assert_eq!(marked, Some(151), "the first message at or after the time");
    let rows = app.visible_rows();
    assert!(
        rows.iter().take(3).any(|r| matches!(r, Row::Marker { .. })),
        "the marker is at the top: {rows:?}"
    );
    // Page to both ends by scrolling.
    for key in [press(KeyCode::PageUp), press(KeyCode::PageDown)] {
        for _ in 0..200 {
            let fx = app.update(key.clone());
            answer_all(&mut app, fx, &server);
        }
    }
    let h = app.current_history().unwrap();
    assert!(h.at_beginning() && h.at_newest());
    assert_eq!(
        loaded_ids(&app, &key_of("bob")),
        (1..=300).collect::<Vec<_>>()
    );
    // Back goes to the window at the newest message; back again to the jumped one.
    let jumped = h.id();
    app.update(ch('\''));
    app.update(ch('\''));
    assert_ne!(app.current_history().unwrap().id(), jumped);
    app.update(ch('\''));
    app.update(ch('\''));
    assert_eq!(app.current_history().unwrap().id(), jumped);
}

#[test]
fn the_beginning_is_one_request_and_g_keeps_meaning_oldest_loaded() {
    let server = Server::new(500, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let fx = app.update(ch('B'));
    let reqs = history_requests(&fx);
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0].1;
    assert_eq!((q.direction, q.cursor.as_deref()), (Direction::Down, None));
    assert_eq!(q.filters, HistoryFilters::default());
    answer(&mut app, &fx, &server);
    let h = app.current_history().unwrap();
    assert_eq!(h.id_of(0), Some(1));
    assert_eq!(app.visible_rows()[0], Row::Top(EdgeRow::Beginning));
    assert!(ids_on_screen(&app).contains(&1));
    // G goes to the newest: back to the window there, not 10 pages forward.
    let fx = app.update(ch('G'));
    assert!(history_requests(&fx).is_empty());
    assert!(app.current_history().unwrap().follows());
    assert!(ids_on_screen(&app).contains(&500));
    // From a window whose back is not at the newest either, G asks for the newest page.
    app.update(ch('B'));
    let t = server.messages[200].time;
    let fx = app.update(Event::JumpTo(t));
    answer(&mut app, &fx, &server);
    let fx = app.update(ch('G'));
    assert_eq!(older_pages(&fx).len(), 1);
    assert_eq!(older_pages(&fx)[0].1, None);
}

// ----- the keymap is the documentation -----------------------------------------------------

/// The marker lines around the generated key table in README.md.
const README_KEYS_START: &str = "<!-- keys: generated from the keymap (src/tui/action.rs); `ROAM_BLESS_README=1 cargo test --test app readme` rewrites it -->";
const README_KEYS_END: &str = "<!-- /keys -->";

#[test]
fn the_readme_key_table_is_the_keymap() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme
        .find(README_KEYS_START)
        .expect("README.md has the key table's start marker")
        + README_KEYS_START.len();
    let end = readme[start..]
        .find(README_KEYS_END)
        .expect("README.md has the key table's end marker")
        + start;
    let table = format!("\n{}", Keymap::default().markdown_table());
    if readme[start..end] == table {
        return;
    }
    if std::env::var_os("ROAM_BLESS_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    panic!(
        "README.md's key table differs from the keymap; it should be:\n{table}\n\
         (ROAM_BLESS_README=1 cargo test --test app readme rewrites it)"
    );
}

#[test]
fn ctrl_c_cancels_a_running_search_before_it_quits() {
    let server = Server::new(300, |i| format!("ordinary {i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('/'));
    type_text(&mut app, "nowhere");
    let fx = app.update(ctrl('o'));
    assert_eq!(older_pages(&fx).len(), 1);
    assert!(app.search().unwrap().continuing().is_some());
    assert!(
        app.update(ctrl('c')).is_empty(),
        "the first Ctrl-c only cancels"
    );
    assert_eq!(app.search().unwrap().continuing(), None);
    assert!(
        app.status_line().contains("stopped"),
        "{}",
        app.status_line()
    );
    assert_eq!(app.update(ctrl('c')), vec![Effect::Quit]);
}

#[test]
fn keys_reach_actions_through_the_keymap_and_can_be_rebound() {
    let server = Server::new(100, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let mut keymap = Keymap::default();
    keymap
        .bind(Mode::History, "ctrl-e".parse().unwrap(), Action::ScrollUp)
        .unwrap();
    assert!(keymap.unbind(Mode::History, &"k".parse().unwrap()));
    app.set_keymap(keymap);
    app.update(ch('k'));
    assert_eq!(
        app.current_history().unwrap().anchor(),
        None,
        "k does nothing now"
    );
    app.update(ctrl('e'));
    assert!(
        app.current_history().unwrap().anchor().is_some(),
        "Ctrl-e scrolls up"
    );
    // Actions can also be sent directly.
    app.update(Event::Action(Action::Newest));
    assert_eq!(app.current_history().unwrap().anchor(), None);
}

// ----- jumps, the date row, the first unread -----------------------------------------------

const DAY: i64 = 86_400_000;

fn tick(app: &mut App, now_ms: i64) {
    app.update(Event::Tick { now_ms });
}

#[test]
fn the_jump_prompt_reads_a_date_and_shows_that_day_at_the_top_marked() {
    // 400 messages, one every 6 hours from 2024-03-05 12:00 UTC: 100 days.
    let server = Server::spread(400, DAY / 4);
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0 + 200 * DAY);
    open(&mut app, "bob", &server);
    assert!(app.update(ch('t')).is_empty());
    assert!(app.prompt().is_some());
    type_text(&mut app, "2024-04-01");
    let fx = app.update(press(KeyCode::Enter));
    assert!(app.prompt().is_none());
    let day = "2024-04-01T00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    let newer = newer_pages(&fx);
    let older = older_pages(&fx);
    assert_eq!((newer.len(), older.len()), (1, 1), "two requests");
    assert_eq!(newer[0].1.filters.start_time, Some(day));
    answer(&mut app, &fx, &server);
    let h = app.current_history().unwrap();
    let marked = h.marker_index().unwrap();
    assert_eq!(h.time(marked), Some(day), "a message at exactly midnight");
    let rows = app.visible_rows();
    let top: Vec<&Row> = rows.iter().take(3).collect();
    assert!(
        top.contains(&&Row::Marker { time: day }),
        "the marked message is at the top: {top:?}"
    );
    assert_eq!(app.sticky_date().as_deref(), Some("2024-04-01 Mon"));
    // Scrolling changes the sticky date.
    for _ in 0..40 {
        app.update(ch('k'));
    }
    // Four messages a day, each a header and a line, and a separator: 9 rows a day.
    assert_eq!(app.sticky_date().as_deref(), Some("2024-03-27 Wed"));
}

#[test]
fn a_bad_date_keeps_the_prompt_open_with_the_reason_and_esc_closes_it() {
    let server = Server::new(10, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    app.update(ch('t'));
    type_text(&mut app, "next tuesday");
    assert!(history_requests(&app.update(press(KeyCode::Enter))).is_empty());
    let error = app
        .prompt()
        .and_then(|p| p.error())
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("not a time") && error.contains("yesterday"),
        "{error}"
    );
    // Keys that are commands elsewhere are typed here.
    type_text(&mut app, "q");
    assert!(app.prompt().unwrap().input().ends_with('q'));
    app.update(press(KeyCode::Esc));
    assert!(app.prompt().is_none());
    assert!(app.update(ch('t')).is_empty() && app.prompt().is_some());
    assert!(
        app.update(ctrl('c')).is_empty(),
        "Ctrl-c closes the prompt first"
    );
    assert!(app.prompt().is_none());
}

#[test]
fn dates_before_the_first_message_or_after_the_last_go_to_the_ends() {
    let server = Server::spread(300, DAY / 4);
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let fx = app.update(Event::JumpTo(T0 - 365 * DAY));
    answer_all(&mut app, fx, &server);
    let h = app.current_history().unwrap();
    assert!(h.at_beginning());
    assert_eq!(h.id_of(h.marker_index().unwrap()), Some(1));
    assert_eq!(app.visible_rows()[0], Row::Top(EdgeRow::Beginning));
    // After the last message: the newest, at the bottom, unmarked.
    let fx = app.update(Event::JumpTo(T0 + 1000 * DAY));
    answer_all(&mut app, fx, &server);
    let h = app.current_history().unwrap();
    assert!(h.at_newest() && h.anchor().is_none() && h.marker_index().is_none());
    assert!(ids_on_screen(&app).contains(&300));
}

#[test]
fn ctrl_c_cancels_a_jump_still_loading_then_quits() {
    let server = Server::spread(300, DAY / 4);
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let before = app.current_history().unwrap().id();
    let fx = app.update(Event::JumpTo(T0 + 10 * DAY));
    assert_eq!(history_requests(&fx).len(), 2);
    assert_ne!(app.current_history().unwrap().id(), before);
    assert!(app.update(ctrl('c')).is_empty());
    assert_eq!(
        app.current_history().unwrap().id(),
        before,
        "back where it was"
    );
    assert!(
        app.status_line().contains("again quits"),
        "{}",
        app.status_line()
    );
    // The cancelled pages still arrive and are dropped; nothing moves.
    let screen = ids_on_screen(&app);
    answer(&mut app, &fx, &server);
    assert_eq!(ids_on_screen(&app), screen);
    assert_eq!(app.update(ctrl('c')), vec![Effect::Quit]);
}

/// An app whose list says `bob` has `unread` unread messages, opened on `server`.
fn app_with_unread(server: &Server, unread: u32) -> App {
    let mut app = App::new(100, 30, TimeZone::UTC);
    let fx = app.start();
    let (_, id) = list_requests(&fx)[0].clone();
    app.update(Event::ConversationPage {
        request_id: id,
        result: Ok(ConversationPage {
            conversations: vec![conversation("bob", false, T0, unread)],
            next_cursor: None,
        }),
    });
    let fx = app.update(press(KeyCode::Enter));
    answer(&mut app, &fx, server);
    app
}

#[test]
fn the_first_unread_pages_toward_the_divider_with_progress() {
    let server = Server::new(2000, |i| format!("m{i}"));
    let mut app = app_with_unread(&server, 1350);
    let mut fx = app.update(ch('u'));
    let mut pages = 0;
    let mut progress = Vec::new();
    while !older_pages(&fx).is_empty() {
        progress.push(app.status_line());
        fx = answer(&mut app, &fx, &server);
        pages += 1;
        assert!(pages < 40, "paging ends");
    }
    assert!(
        progress[0].contains("loading unread… 50/1,350"),
        "{}",
        progress[0]
    );
    assert!(progress.iter().any(|p| p.contains("600/1,350")));
    // 1,350 unread past the first page: 26 pages of 50, and one more so the message above
    // the divider is loaded too (its day separator then stays put).
    assert_eq!(pages, 27);
    let h = app.current_history().unwrap();
    let divider = h.unread_index().unwrap();
    assert_eq!(h.id_of(divider), Some(2000 - 1350 + 1));
    assert_eq!(
        app.visible_rows()[0],
        Row::Unread { count: 1350 },
        "at the top"
    );
    assert!(!app.status_line().contains("loading unread"));
    // Pressed again with the divider loaded: no request, the divider at the top.
    app.update(ch('G'));
    assert!(history_requests(&app.update(ch('u'))).is_empty());
    assert!(
        app.visible_rows()
            .iter()
            .take(3)
            .any(|r| *r == Row::Unread { count: 1350 })
    );
}

#[test]
fn esc_and_ctrl_c_stop_paging_toward_the_unread() {
    let server = Server::new(2000, |i| format!("m{i}"));
    for stop in [press(KeyCode::Esc), ctrl('c')] {
        let mut app = app_with_unread(&server, 1350);
        let fx = app.update(ch('u'));
        let fx = answer(&mut app, &fx, &server);
        assert_eq!(older_pages(&fx).len(), 1);
        assert!(app.update(stop.clone()).is_empty(), "{stop:?} only stops");
        assert!(!app.status_line().contains("loading unread"));
        let fx = answer(&mut app, &fx, &server);
        assert!(older_pages(&fx).is_empty(), "nothing more is asked");
    }
    // Fewer messages than unread: it stops at the beginning and says so.
    let small = Server::new(120, |i| format!("m{i}"));
    let mut app = app_with_unread(&small, 500);
    let fx = app.update(ch('u'));
    answer_all(&mut app, fx, &small);
    assert!(
        app.status_line().contains("beginning"),
        "{}",
        app.status_line()
    );
    assert_eq!(app.visible_rows()[0], Row::Top(EdgeRow::Beginning));
}

// ----- newer messages arrive ----------------------------------------------------------------

#[test]
fn r_brings_newer_messages_the_view_follows_and_the_list_preview_updates() {
    let mut server = Server::new(60, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob", "alice"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    server.add("hello from the future");
    server.add("and one more");
    let fx = app.update(ch('r'));
    let newer = newer_pages(&fx);
    assert_eq!(newer.len(), 1, "one request for what is newer");
    let newest_loaded = server.messages[59].time;
    assert_eq!(newer[0].1.cursor, None);
    assert_eq!(newer[0].1.filters.start_time, Some(newest_loaded));
    assert_eq!(list_requests(&fx).len(), 1, "and the list");
    answer(&mut app, &fx, &server);
    assert_eq!(loaded_ids(&app, &key_of("bob")).last(), Some(&62));
    assert!(
        ids_on_screen(&app).contains(&62),
        "at the bottom, the view follows"
    );
    assert_eq!(app.current_history().unwrap().arrived(), 0);
    let bob = app.conversations().iter().find(|c| c.id == "bob").unwrap();
    assert_eq!(
        bob.last_message.as_ref().map(|m| m.id),
        Some(62),
        "the list's preview"
    );
    assert_eq!(app.conversations()[0].id, "bob", "newest activity first");
}

#[test]
fn scrolled_away_new_messages_are_counted_and_g_goes_to_them() {
    let mut server = Server::new(200, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    for _ in 0..30 {
        app.update(ch('k'));
    }
    let screen = ids_on_screen(&app);
    for _ in 0..3 {
        server.add("new");
    }
    let fx = app.update(ch('r'));
    answer(&mut app, &fx, &server);
    assert_eq!(ids_on_screen(&app), screen, "what is read stays");
    assert_eq!(app.current_history().unwrap().arrived(), 3);
    let fx = app.update(ch('G'));
    assert!(history_requests(&fx).is_empty());
    assert_eq!(app.current_history().unwrap().arrived(), 0);
    assert!(ids_on_screen(&app).contains(&203));
}

#[test]
fn the_timer_refreshes_every_30_s_backs_off_on_errors_and_pauses_when_idle() {
    let server = Server::new(60, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    let newer_at = |app: &mut App, t: i64| newer_pages(&app.update(Event::Tick { now_ms: t }));
    assert!(newer_at(&mut app, T0 + 29_000).is_empty());
    let asked = newer_at(&mut app, T0 + 30_000);
    assert_eq!(asked.len(), 1);
    // It fails: the next try waits 60 s, then 120 s.
    app.update(Event::HistoryPage {
        conversation: key_of("bob"),
        request_id: asked[0].2,
        result: Err(FetchError::new("HTTP 503", true)),
    });
    assert!(newer_at(&mut app, T0 + 60_000).is_empty());
    let asked = newer_at(&mut app, T0 + 90_000);
    assert_eq!(asked.len(), 1, "60 s after the failure");
    app.update(Event::HistoryPage {
        conversation: key_of("bob"),
        request_id: asked[0].2,
        result: Err(FetchError::new("HTTP 503", true)),
    });
    assert!(newer_at(&mut app, T0 + 200_000).is_empty());
    let asked = newer_at(&mut app, T0 + 210_000);
    assert_eq!(asked.len(), 1, "120 s after the second failure");
    // A success resets the interval.
    answer(&mut app, &history_requests_of(&asked), &server);
    assert!(newer_at(&mut app, T0 + 239_000).is_empty());
    let asked = newer_at(&mut app, T0 + 240_000);
    assert_eq!(asked.len(), 1);
    answer(&mut app, &history_requests_of(&asked), &server);
    // Idle for 15 minutes after the last key: nothing is asked; a key wakes it.
    app.update(ch('k'));
    let idle = T0 + 240_000 + 15 * 60_000;
    for t in (idle..idle + 5 * 60_000).step_by(30_000) {
        let fx = app.update(Event::Tick { now_ms: t });
        assert!(
            history_requests(&fx).is_empty() && list_requests(&fx).is_empty(),
            "at {t}"
        );
    }
    app.update(ch('j'));
    let fx = app.update(Event::Tick {
        now_ms: idle + 5 * 60_000,
    });
    assert_eq!(
        newer_pages(&fx).len(),
        1,
        "overdue: asked at the first tick"
    );
}

/// The effects that would have asked for `requests`.
fn history_requests_of(requests: &[(ConversationKey, HistoryQuery, u64)]) -> Vec<Effect> {
    requests
        .iter()
        .map(|(_, query, id)| {
            Effect::Fetch(FetchRequest::History {
                query: query.clone(),
                request_id: *id,
                read_ahead: false,
            })
        })
        .collect()
}

#[test]
fn the_list_reloads_in_the_background_at_most_once_a_minute_unless_r() {
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0);
    let mut loads = 0;
    // Five minutes of ticks, four a second, with a key now and then; list answers come
    // back at once with one page.
    for k in 1..=1200i64 {
        let t = T0 + k * 250;
        if k % 100 == 0 {
            app.update(ch('j'));
        }
        let fx = app.update(Event::Tick { now_ms: t });
        for (cursor, id) in list_requests(&fx) {
            assert_eq!(cursor, None, "a load starts at the first page");
            loads += 1;
            app.update(Event::ConversationPage {
                request_id: id,
                result: Ok(ConversationPage {
                    conversations: vec![conversation("bob", false, T0, 0)],
                    next_cursor: None,
                }),
            });
        }
    }
    assert_eq!(loads, 5, "one load a minute");
    // r reloads at once, and the next background load waits a minute from then.
    let fx = app.update(ch('r'));
    assert_eq!(list_requests(&fx).len(), 1);
}

#[test]
fn reopening_a_conversation_asks_for_what_arrived_meanwhile() {
    let mut server = Server::new(60, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob", "alice"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    app.update(ch('h'));
    app.update(ch('j'));
    app.update(press(KeyCode::Enter));
    server.add("while you were away");
    app.update(ch('h'));
    app.update(ch('k'));
    let fx = app.update(press(KeyCode::Enter));
    assert!(older_pages(&fx).is_empty(), "bob is loaded already");
    assert_eq!(newer_pages(&fx).len(), 1);
    answer(&mut app, &fx, &server);
    assert!(ids_on_screen(&app).contains(&61));
}

// ----- every conversation is reachable; the list filter -----------------------------------

#[test]
fn go_to_opens_a_chat_room_that_no_list_shows() {
    let server = Server::new(80, |i| format!("room message {i}"));
    let mut app = app_with(100, 30, &["bob", "alice"]);
    assert!(app.update(ch(':')).is_empty());
    type_text(&mut app, "lobby room");
    let fx = app.update(press(KeyCode::Enter));
    let reqs = history_requests(&fx);
    assert_eq!(reqs.len(), 1);
    let lobby = ConversationKey {
        id: "lobby".into(),
        kind: ChatType::Room,
    };
    assert_eq!(reqs[0].0, lobby);
    assert_eq!(app.open_conversation(), Some(&lobby));
    assert_eq!(app.focus(), Pane::History);
    answer(&mut app, &fx, &server);
    assert_eq!(app.history(&lobby).unwrap().len(), 50);
    // A listed id opens that conversation and selects it; a bad id is refused.
    app.update(ch(':'));
    type_text(&mut app, "ALICE");
    app.update(press(KeyCode::Enter));
    assert_eq!(app.open_conversation(), Some(&key_of("alice")));
    assert_eq!(app.selected_conversation().unwrap().id, "alice");
    app.update(ch(':'));
    type_text(&mut app, "not an id!");
    app.update(press(KeyCode::Enter));
    assert!(app.prompt().and_then(|p| p.error()).is_some());
}

#[test]
fn typing_in_the_list_filters_it_and_esc_clears_it() {
    let mut app = app_with(100, 30, &["alice", "bob", "alfred", "carol"]);
    app.update(ch('/'));
    type_text(&mut app, "AL");
    let shown: Vec<&str> = app
        .shown_conversations()
        .iter()
        .map(|(_, c)| c.id.as_str())
        .collect();
    assert_eq!(shown, ["alice", "alfred"], "as it is typed, any case");
    assert_eq!(app.selected_conversation().unwrap().id, "alice");
    app.update(press(KeyCode::Enter));
    assert!(app.prompt().is_none());
    app.update(ch('j'));
    assert_eq!(
        app.selected_conversation().unwrap().id,
        "alfred",
        "j steps over bob"
    );
    app.update(ch('j'));
    assert_eq!(
        app.selected_conversation().unwrap().id,
        "alfred",
        "the last shown"
    );
    app.update(press(KeyCode::Esc));
    assert_eq!(app.shown_conversations().len(), 4);
    assert_eq!(
        app.selected_conversation().unwrap().id,
        "alfred",
        "selection stays"
    );
    // Esc in the prompt clears too; nothing matching shows nothing.
    app.update(ch('/'));
    type_text(&mut app, "zz");
    assert!(app.shown_conversations().is_empty());
    app.update(press(KeyCode::Esc));
    assert_eq!(app.shown_conversations().len(), 4);
}

// ----- server-side filters ----------------------------------------------------------------

/// A group of `n` messages: every third an image from li.wei, the rest text from bob.
fn mixed_group(n: u64) -> Server {
    let messages = (1..=n)
        .map(|i| {
            let mut m = message(i, T0 + i as i64 * 60_000, &format!("m{i}"));
            m.chat_type = ChatType::Group;
            m.to = "team".into();
            if i % 3 == 0 {
                m.from = "li.wei".into();
                m.content = Content::Image {
                    file: roam::protocol::Attachment::default(),
                    size: None,
                    gif: false,
                };
            }
            m
        })
        .collect();
    Server { messages, page: 50 }
}

fn group_app(server: &Server) -> App {
    let mut app = App::new(100, 30, TimeZone::UTC);
    let fx = app.start();
    let (_, id) = list_requests(&fx)[0].clone();
    let mut team = conversation("team", false, T0, 0);
    team.kind = ChatType::Group;
    app.update(Event::ConversationPage {
        request_id: id,
        result: Ok(ConversationPage {
            conversations: vec![team],
            next_cursor: None,
        }),
    });
    tick(&mut app, T0 + 1000 * 60_000);
    let fx = app.update(press(KeyCode::Enter));
    answer(&mut app, &fx, server);
    app
}

#[test]
fn a_filter_is_its_own_window_paged_by_the_server_and_clearing_returns() {
    let server = mixed_group(600);
    let mut app = group_app(&server);
    let team = ConversationKey {
        id: "team".into(),
        kind: ChatType::Group,
    };
    // Read somewhere in the middle first.
    for _ in 0..60 {
        let fx = app.update(press(KeyCode::PageUp));
        answer_all(&mut app, fx, &server);
    }
    let unfiltered = app.current_history().unwrap().id();
    let top_time = {
        let h = app.current_history().unwrap();
        let rows = app.visible_rows();
        rows.iter()
            .find_map(|r| match r {
                Row::Header { index } => h.time(*index),
                _ => None,
            })
            .unwrap()
    };
    app.update(ch('f'));
    type_text(&mut app, "img from li.wei");
    let fx = app.update(press(KeyCode::Enter));
    assert!(app.prompt().is_none(), "{:?}", app.prompt());
    let reqs = history_requests(&fx);
    assert!(!reqs.is_empty());
    for (_, q, _) in &reqs {
        assert_eq!(q.filters.types, ["img"]);
        assert_eq!(q.filters.sender.as_deref(), Some("li.wei"));
    }
    answer_all(&mut app, fx, &server);
    let h = app.current_history().unwrap();
    assert_ne!(h.id(), unfiltered);
    assert!(
        (0..h.len()).all(|i| h.sender(i) == Some("li.wei")),
        "only what the server sent for the filter"
    );
    assert_eq!(app.filter_title(), "img from li.wei");
    // Search works inside the filtered view.
    app.update(ch('/'));
    type_text(&mut app, "image");
    let found = app.search().unwrap().count();
    assert_eq!(
        found,
        app.current_history().unwrap().len(),
        "every image loaded"
    );
    app.update(press(KeyCode::Esc));
    // f again shows the filter to edit.
    app.update(ch('f'));
    assert_eq!(app.prompt().unwrap().input(), "img from li.wei");
    app.update(press(KeyCode::Esc));
    // F: the unfiltered window again, at about the same place.
    let filtered_top = {
        let h = app.current_history().unwrap();
        h.top_index(roam::tui::history::Viewport {
            height: 26,
            width: 65,
            ..Default::default()
        })
        .and_then(|i| h.time(i))
        .unwrap()
    };
    let fx = app.update(ch('F'));
    answer_all(&mut app, fx, &server);
    let h = app.current_history().unwrap();
    assert_eq!(app.filter_title(), "");
    assert!(!app.windows(&team).unwrap().is_filtered());
    let rows = app.visible_rows();
    let first_time = rows
        .iter()
        .find_map(|r| match r {
            Row::Header { index } => h.time(*index),
            _ => None,
        })
        .unwrap();
    assert!(
        (first_time - filtered_top).abs() <= 3 * 60_000,
        "the same place: {first_time} vs {filtered_top} (read at {top_time})"
    );
}

#[test]
fn a_sender_filter_in_a_single_chat_is_refused_with_the_reason() {
    let server = Server::new(60, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    tick(&mut app, T0);
    open(&mut app, "bob", &server);
    app.update(ch('f'));
    type_text(&mut app, "from bob");
    assert!(history_requests(&app.update(press(KeyCode::Enter))).is_empty());
    let error = app.prompt().and_then(|p| p.error()).unwrap_or_default();
    assert!(error.contains("groups and rooms"), "{error}");
}

fn selected_id(app: &App) -> Option<u64> {
    app.current_history().and_then(|h| h.selected_id())
}

#[test]
fn the_selection_is_a_message_kept_through_paging_resizes_and_search() {
    let mut server = Server::new(120, |i| format!("m{i} ").repeat(i as usize % 5 + 1));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    assert_eq!(
        app.mode(),
        Mode::History,
        "j and k scroll until a message is selected"
    );
    app.update(ch('v'));
    assert_eq!(app.mode(), Mode::Select);
    assert_eq!(selected_id(&app), Some(120), "the newest in view");
    app.update(ch('k'));
    app.update(ch('k'));
    assert_eq!(selected_id(&app), Some(118), "k moves by message");
    app.update(ch('j'));
    assert_eq!(selected_id(&app), Some(119));
    // Walking older past the top of the view scrolls so the selection stays in view.
    let mut fx = Vec::new();
    for _ in 0..30 {
        fx.extend(app.update(ch('k')));
    }
    assert_eq!(selected_id(&app), Some(89));
    assert!(
        ids_on_screen(&app).contains(&89),
        "{:?}",
        ids_on_screen(&app)
    );
    // Older pages arrive above: indexes change, the selection does not.
    fx.extend(app.update(ch('g')));
    assert!(
        !older_pages(&fx).is_empty(),
        "the top asks for older messages"
    );
    answer(&mut app, &fx, &server);
    assert!(app.current_history().unwrap().len() > 50);
    assert_eq!(selected_id(&app), Some(89));
    // Newer messages arrive below.
    server.add("newest of all");
    let fx = app.update(ch('r'));
    answer(&mut app, &fx, &server);
    assert_eq!(loaded_ids(&app, &key_of("bob")).last(), Some(&121));
    assert_eq!(selected_id(&app), Some(89));
    // Resizes, down to nothing and back.
    for (w, h) in [(60, 20), (0, 0), (200, 60), (40, 12), (100, 30)] {
        app.update(Event::Resize(w, h));
        assert_eq!(selected_id(&app), Some(89), "at {w}×{h}");
    }
    // A search moves the view to its match; the selection stays, and j moves on from it.
    app.update(ch('/'));
    type_text(&mut app, "m3 m3 m3 m3");
    app.update(press(KeyCode::Enter));
    assert_eq!(selected_id(&app), Some(89));
    app.update(ch('j'));
    let after = selected_id(&app).expect("still selected");
    assert!(
        after == 90 || ids_on_screen(&app).contains(&after),
        "from the selection when it is in view, else from the view: {after}"
    );
    // Esc ends selecting: j scrolls again.
    app.update(press(KeyCode::Esc));
    app.update(press(KeyCode::Esc));
    assert_eq!(selected_id(&app), None);
    assert_eq!(app.mode(), Mode::History);
}

#[test]
fn a_click_selects_the_message_under_the_pointer() {
    let server = Server::new(10, |i| format!("m{i}"));
    let mut app = app_with(120, 40, &["bob"]);
    open(&mut app, "bob", &server);
    let messages = app.layout().messages.unwrap();
    let rows = app.visible_rows();
    let blank = usize::from(messages.height) - rows.len();
    let (at, index) = rows
        .iter()
        .enumerate()
        .find_map(|(i, r)| match r {
            Row::Body { index, .. } if *index == 4 => Some((i, *index)),
            _ => None,
        })
        .expect("message 5 is on screen");
    app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: messages.x + 4,
        row: messages.y + (blank + at) as u16,
        modifiers: KeyModifiers::NONE,
    }));
    let h = app.current_history().unwrap();
    assert_eq!(h.selected(), Some(index));
    assert_eq!(h.selected_id(), Some(5));
}

#[test]
fn copying_is_an_effect_with_sanitized_capped_text() {
    let server = Server::new(3, |i| match i {
        3 => format!("evil\u{1b}]52;c;Zm9v\u{7} {}", "x".repeat(200_000)),
        _ => format!("m{i}"),
    });
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let fx = app.update(ch('y'));
    let copied: Vec<&String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Copy(text) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1, "{fx:?}");
    let text = copied[0];
    assert!(
        text.starts_with("evil␛]52;c;Zm9v␇ xxx"),
        "sanitized: {:?}",
        &text[..30]
    );
    assert!(!text.contains('\u{1b}'));
    assert!(text.len() <= 100 * 1024 + 64, "capped: {}", text.len());
    assert!(
        app.status_line().contains("copied the text"),
        "{}",
        app.status_line()
    );
    assert_eq!(
        selected_id(&app),
        Some(3),
        "copy selects the newest in view"
    );
    // Y: no attachment here, so the id.
    let fx = app.update(ch('Y'));
    assert!(fx.contains(&Effect::Copy("3".into())), "{fx:?}");
}

#[test]
fn mouse_capture_toggles_with_an_effect_and_the_status_says_so() {
    let mut app = app_with(100, 30, &["bob"]);
    assert!(app.mouse_capture());
    let fx = app.update(ch('M'));
    assert_eq!(fx, vec![Effect::MouseCapture(false)]);
    assert!(
        app.status_line().contains("mouse off"),
        "{}",
        app.status_line()
    );
    app.update(ch('j'));
    assert!(
        app.status_line().contains("mouse off (M)"),
        "{}",
        app.status_line()
    );
    let fx = app.update(ch('M'));
    assert_eq!(fx, vec![Effect::MouseCapture(true)]);
    assert!(!app.status_line().contains("mouse off"));
}

#[test]
fn the_compact_layout_is_a_toggle_that_keeps_the_selection_in_view() {
    let server = Server::new(200, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('v'));
    for _ in 0..20 {
        app.update(ch('k'));
    }
    let id = selected_id(&app).unwrap();
    app.update(ch('c'));
    assert_eq!(
        app.message_layout(),
        roam::tui::history::MessageLayout::Compact
    );
    assert!(
        !app.visible_rows()
            .iter()
            .any(|r| matches!(r, Row::Header { .. })),
        "one line per message, no header rows"
    );
    assert_eq!(selected_id(&app), Some(id));
    assert!(ids_on_screen(&app).contains(&id));
    app.update(ch('c'));
    assert_eq!(
        app.message_layout(),
        roam::tui::history::MessageLayout::Comfortable
    );
    assert!(ids_on_screen(&app).contains(&id));
}

#[test]
fn links_are_offered_with_their_host_and_opened_only_on_yes() {
    let server = Server::new(2, |i| match i {
        2 => "see https://example.com/a, javascript:alert(1) and https://b.example/x".into(),
        _ => "no link here".into(),
    });
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    assert!(app.update(ch('O')).is_empty());
    assert_eq!(app.mode(), Mode::Links);
    let choice = app.link_choice().expect("offered");
    let urls: Vec<&str> = choice.links().iter().map(|l| l.url.as_str()).collect();
    assert_eq!(urls, ["https://example.com/a", "https://b.example/x"]);
    assert!(
        app.status_line()
            .contains("open a link to example.com? (y/n)"),
        "{}",
        app.status_line()
    );
    app.update(ch('j'));
    assert!(app.status_line().contains("open a link to b.example?"));
    // No: nothing is opened.
    assert!(app.update(ch('n')).is_empty());
    assert!(app.link_choice().is_none());
    app.update(ch('O'));
    let fx = app.update(ch('y'));
    assert_eq!(fx, vec![Effect::OpenLink("https://example.com/a".into())]);
    assert!(app.link_choice().is_none());
    // A message without a link says so and opens nothing.
    app.update(ch('k'));
    assert_eq!(selected_id(&app), Some(1));
    assert!(app.update(ch('o')).is_empty());
    assert!(app.link_choice().is_none());
    assert!(
        app.status_line().contains("no link to open"),
        "{}",
        app.status_line()
    );
}

#[test]
fn an_attachment_link_of_another_scheme_is_refused_with_the_reason() {
    let mut server = Server::new(1, |_| String::new());
    server.messages[0].content = Content::File {
        file: roam::protocol::Attachment {
            url: "file:///etc/passwd".into(),
            secret: None,
            filename: "passwd".into(),
            file_length: Some(10),
        },
    };
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    assert!(app.update(ch('O')).is_empty());
    assert!(app.link_choice().is_none());
    assert!(
        app.status_line()
            .contains("not opened: only http and https links are opened, not file:"),
        "{}",
        app.status_line()
    );
}

/// A conversation whose newest message is a 2 MB PDF.
fn app_with_a_file() -> (App, roam::protocol::Attachment) {
    let mut server = Server::new(2, |i| format!("m{i}"));
    let file = roam::protocol::Attachment {
        url: "https://files.roam.test/org/app/chatfiles/0000-1".into(),
        secret: Some("s3cret".into()),
        filename: "../../roam design.pdf".into(),
        file_length: Some(2_000_000),
    };
    server.messages[1].content = Content::File { file: file.clone() };
    let mut app = app_with(100, 30, &["bob"]);
    app.set_downloads_dir("/tmp/roam-downloads".into());
    open(&mut app, "bob", &server);
    (app, file)
}

fn download_request(fx: &[Effect]) -> Option<(u64, roam::protocol::Attachment, String)> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::Download {
            request_id,
            file,
            dir,
        }) => Some((*request_id, file.clone(), dir.display().to_string())),
        _ => None,
    })
}

#[test]
fn a_download_shows_its_progress_and_where_the_file_went() {
    let (mut app, file) = app_with_a_file();
    let fx = app.update(ch('d'));
    let (request_id, asked, dir) = download_request(&fx).expect("a download is asked for");
    assert_eq!(asked, file);
    assert_eq!(dir, "/tmp/roam-downloads");
    assert!(
        app.status_line()
            .contains("downloading ../../roam design.pdf 0%"),
        "{}",
        app.status_line()
    );
    // A second download waits for the first.
    assert!(download_request(&app.update(ch('d'))).is_none());
    assert!(app.status_line().contains("still downloading"));
    app.update(Event::DownloadProgress {
        request_id,
        received: 1_000_000,
        total: Some(2_000_000),
    });
    assert!(
        app.status_line().contains("50%") && app.status_line().contains("Esc stops"),
        "{}",
        app.status_line()
    );
    // Progress of another request changes nothing.
    app.update(Event::DownloadProgress {
        request_id: request_id + 100,
        received: 1_900_000,
        total: Some(2_000_000),
    });
    assert!(app.status_line().contains("50%"));
    app.update(Event::Downloaded {
        request_id,
        outcome: DownloadOutcome::Saved("/tmp/roam-downloads/roam design.pdf".into()),
    });
    assert!(app.download().is_none());
    assert!(
        app.status_line()
            .contains("saved /tmp/roam-downloads/roam design.pdf"),
        "{}",
        app.status_line()
    );
}

#[test]
fn esc_stops_a_download_and_an_expired_file_is_not_an_error() {
    let (mut app, _) = app_with_a_file();
    let (request_id, ..) = download_request(&app.update(ch('d'))).expect("asked");
    let fx = app.update(press(KeyCode::Esc));
    assert!(
        fx.contains(&Effect::Fetch(FetchRequest::CancelDownload { request_id })),
        "{fx:?}"
    );
    assert!(app.download().is_none());
    assert!(
        app.status_line().contains("stopped"),
        "{}",
        app.status_line()
    );
    // Its late answer is dropped.
    app.update(Event::Downloaded {
        request_id,
        outcome: DownloadOutcome::Cancelled,
    });
    let (request_id, ..) = download_request(&app.update(ch('d'))).expect("asked again");
    app.update(Event::Downloaded {
        request_id,
        outcome: DownloadOutcome::Expired,
    });
    let status = app.status_line();
    assert!(status.contains("expired on the server"), "{status}");
    assert!(!status.contains("failed"), "{status}");
    // A message without an attachment has nothing to download.
    app.update(ch('k'));
    assert!(download_request(&app.update(ch('d'))).is_none());
    assert!(app.status_line().contains("no attachment"));
}

#[test]
fn the_layout_key_asks_for_its_choice_to_be_remembered() {
    let server = Server::new(3, |i| format!("m{i}"));
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    let fx = app.update(ch('c'));
    assert_eq!(
        fx,
        vec![Effect::RememberSetting {
            key: "layout",
            value: "compact".into()
        }]
    );
    let fx = app.update(ch('c'));
    assert!(fx.contains(&Effect::RememberSetting {
        key: "layout",
        value: "comfortable".into()
    }));
}

#[test]
fn details_show_edits_reactions_and_read_state_from_the_body_meta() {
    let mut server = Server::new(2, |i| format!("m{i}"));
    server.messages[1].meta = serde_json::json!({
        "edit_msg": {"count": 2, "operator": "alice"},
        "reaction": [{"reaction": "👍", "count": 3, "state": true}],
        "isDelivered": true
    })
    .as_object()
    .cloned();
    let mut app = app_with(100, 30, &["bob"]);
    open(&mut app, "bob", &server);
    app.update(ch('i'));
    let text = app.panel().expect("the details panel").text().to_string();
    for expected in ["edited", "2 times · by alice", "👍 3 (you)", "delivered"] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
}
