//! The search-all view: the state machine driven with events (keys, the fetch task's
//! answers) and its effects asserted, as in `app.rs`; and the view drawn at 120×40, 80×24
//! and 40×12 into snapshots, as in `views.rs`.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::protocol::{ChatType, Conversation, ConversationPage, Direction, HistoryPage, Message};
use roam::tui::action::Mode;
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchError, FetchRequest};
use roam::tui::event::{FoundMessage, FoundPage};
use roam::tui::history::Row;
use roam::tui::view::{self, ViewContext};
use unicode_width::UnicodeWidthStr;

/// 2024-03-05 12:00 UTC.
const NOW: i64 = 1_709_640_000_000;
const MINUTE: i64 = 60_000;

const CTX: ViewContext<'static> = ViewContext {
    now_ms: NOW,
    notice: None,
};

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

fn type_text(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| app.update(ch(c))).collect()
}

fn team() -> ConversationKey {
    ConversationKey {
        id: "team".into(),
        kind: ChatType::Group,
    }
}

fn bob() -> ConversationKey {
    ConversationKey {
        id: "bob".into(),
        kind: ChatType::Single,
    }
}

/// Message `i` of `conversation`: one a minute, ids 1000 + i apart per conversation.
fn message(conversation: &ConversationKey, i: u64, body: &str) -> Message {
    let (from, to) = match conversation.kind {
        ChatType::Single => ("bob", "me"),
        _ => ("alice", "team"),
    };
    let base = if conversation.kind == ChatType::Single {
        2_000
    } else {
        1_000
    };
    common::text(
        base + i,
        NOW - 600 * MINUTE + i as i64 * MINUTE,
        from,
        to,
        conversation.kind,
        body,
    )
}

fn found(conversation: &ConversationKey, i: u64, snippet: &str) -> FoundMessage {
    let m = message(conversation, i, snippet);
    let start = snippet.find("退避").unwrap_or(0);
    FoundMessage {
        conversation: conversation.id.clone(),
        kind: conversation.kind,
        id: m.id,
        from: m.from,
        time: m.time,
        snippet: snippet.into(),
        matched: start..start + "退避".len().min(snippet.len() - start),
    }
}

/// Hits across two conversations, newest first.
fn hits() -> Vec<FoundMessage> {
    vec![
        found(&team(), 300, "重试退避的迁移谁负责？"),
        found(&bob(), 200, "主干CI红了，又是重试退避🙏"),
        found(&team(), 100, "柏林的客户又报了重试退避的bug～"),
    ]
}

/// An app with the list loaded: team and bob.
fn with_list(w: u16, h: u16) -> App {
    let mut app = App::new(w, h, TimeZone::UTC);
    let fx = app.start();
    let id = fx
        .iter()
        .find_map(|e| match e {
            Effect::Fetch(FetchRequest::ConversationPage { request_id, .. }) => Some(*request_id),
            _ => None,
        })
        .expect("the list is asked for");
    let conversation = |k: &ConversationKey, last: Message| Conversation {
        id: k.id.clone(),
        kind: k.kind,
        unread: 0,
        pinned: false,
        pinned_at: None,
        marks: Vec::new(),
        last_message: Some(last),
    };
    app.update(Event::ConversationPage {
        request_id: id,
        result: Ok(ConversationPage {
            conversations: vec![
                conversation(&team(), message(&team(), 599, "latest")),
                conversation(&bob(), message(&bob(), 599, "latest")),
            ],
            next_cursor: None,
        }),
    });
    app
}

/// The search-all requests among `fx`: (request id, text, cursor).
fn searches(fx: &[Effect]) -> Vec<(u64, String, Option<i64>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Fetch(FetchRequest::SearchAll {
                request_id,
                text,
                cursor,
                ..
            }) => Some((*request_id, text.clone(), *cursor)),
            _ => None,
        })
        .collect()
}

/// `S`, the query, Enter: the one request it makes.
fn search(app: &mut App, text: &str) -> u64 {
    app.update(ch('S'));
    assert_eq!(app.mode(), Mode::SearchAllInput);
    assert!(type_text(app, text).is_empty(), "typing asks for nothing");
    let fx = app.update(key(KeyCode::Enter));
    let asked = searches(&fx);
    assert_eq!(asked.len(), 1, "{fx:?}");
    assert_eq!(fx.len(), 1, "only the search: {fx:?}");
    assert_eq!(asked[0].1, text);
    assert_eq!(asked[0].2, None, "the first page starts at the newest");
    asked[0].0
}

fn answer(
    app: &mut App,
    request_id: u64,
    hits: Vec<FoundMessage>,
    next: Option<i64>,
) -> Vec<Effect> {
    app.update(Event::SearchAll {
        request_id,
        result: Ok(FoundPage { hits, next }),
    })
}

/// The history requests among `fx`.
fn history_requests(fx: &[Effect]) -> Vec<(u64, roam::protocol::HistoryQuery)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Fetch(FetchRequest::History {
                query, request_id, ..
            }) => Some((*request_id, query.clone())),
            _ => None,
        })
        .collect()
}

/// Answers every history request in `fx` from `all` (oldest first) as a server would:
/// newer pages from the start time, older pages before the end time (or the newest).
fn serve(app: &mut App, fx: &[Effect], all: &[Message]) -> Vec<Effect> {
    let mut more = Vec::new();
    for (request_id, q) in history_requests(fx) {
        let mut page: Vec<Message> = match q.direction {
            Direction::Down => all
                .iter()
                .filter(|m| q.filters.start_time.is_none_or(|s| m.time >= s))
                .take(q.page_size as usize)
                .cloned()
                .collect(),
            Direction::Up => {
                let mut older: Vec<Message> = all
                    .iter()
                    .filter(|m| q.filters.end_time.is_none_or(|e| m.time <= e))
                    .cloned()
                    .collect();
                older.reverse();
                older.truncate(q.page_size as usize);
                older
            }
        };
        if q.direction == Direction::Up {
            page.truncate(q.page_size as usize);
        }
        more.extend(app.update(Event::HistoryPage {
            conversation: ConversationKey::of_query(&q),
            request_id,
            result: Ok(HistoryPage {
                messages: page,
                next_cursor: None,
                is_last: true,
                undecodable: 0,
            }),
        }));
    }
    more
}

/// 600 messages of `conversation`, oldest first; message `i` says `退避` when `hit(i)`.
fn history(conversation: &ConversationKey, hit: impl Fn(u64) -> bool) -> Vec<Message> {
    (0..600)
        .map(|i| {
            let body = if hit(i) {
                format!("message {i}: 重试退避")
            } else {
                format!("message {i}")
            };
            message(conversation, i, &body)
        })
        .collect()
}

/// The ids of the messages with a row on screen.
fn on_screen(app: &App) -> Vec<u64> {
    let h = app.current_history().expect("a conversation is open");
    let mut ids: Vec<u64> = app
        .visible_rows()
        .iter()
        .filter_map(|r| match r {
            Row::Header { index } | Row::Body { index, .. } => h.id_of(*index),
            _ => None,
        })
        .collect();
    ids.dedup();
    ids
}

#[test]
fn a_search_runs_in_the_fetch_task_and_an_older_searchs_answer_is_dropped() {
    let mut app = with_list(120, 40);
    let first = search(&mut app, "sqlite");
    // Typed again before the answer came: the first answer is stale.
    app.update(ch('S'));
    assert_eq!(
        app.mode(),
        Mode::SearchAllInput,
        "S in the hits edits the query"
    );
    for _ in 0.."sqlite".len() {
        app.update(key(KeyCode::Backspace));
    }
    type_text(&mut app, "退避");
    let fx = app.update(key(KeyCode::Enter));
    let second = searches(&fx)[0].0;
    assert_ne!(first, second);
    answer(&mut app, first, vec![found(&team(), 1, "sqlite")], None);
    let s = app.search_all().expect("the view is shown");
    assert!(s.hits().is_empty(), "the old search's hits are not shown");
    assert!(s.is_searching());
    answer(&mut app, second, hits(), None);
    let s = app.search_all().expect("the view is shown");
    assert_eq!(s.hits().len(), 3);
    assert_eq!(app.mode(), Mode::SearchAllResults);
    assert_eq!(app.search_all_status(), "1/3 found");
    // The same answer again changes nothing.
    answer(&mut app, second, hits(), None);
    assert_eq!(app.search_all().map(|s| s.hits().len()), Some(3));
}

#[test]
fn enter_opens_the_hit_in_place_selected_and_esc_closes() {
    let mut app = with_list(120, 40);
    let id = search(&mut app, "退避");
    answer(&mut app, id, hits(), None);
    app.update(ch('j'));
    app.update(ch('j'));
    app.update(ch('k'));
    assert_eq!(app.search_all().map(|s| s.selected()), Some(1));
    // The second hit: bob's message 200, far from the newest (599).
    let fx = app.update(key(KeyCode::Enter));
    assert!(app.search_all().is_none(), "the view closes");
    assert_eq!(app.open_conversation(), Some(&bob()));
    let asked = history_requests(&fx);
    let target = message(&bob(), 200, "");
    assert!(
        asked
            .iter()
            .any(|(_, q)| q.direction == Direction::Down
                && q.filters.start_time == Some(target.time)),
        "a window around the hit's time: {asked:?}"
    );
    let all = history(&bob(), |i| i == 200);
    let mut fx = serve(&mut app, &fx, &all);
    for _ in 0..4 {
        fx = serve(&mut app, &fx, &all);
    }
    let h = app.current_history().expect("open");
    assert_eq!(h.selected_id(), Some(target.id), "the hit is selected");
    assert!(on_screen(&app).contains(&target.id), "and on screen");
    assert_eq!(app.mode(), Mode::Select);
    assert!(
        app.status_line().contains("hit 2 of 3"),
        "{}",
        app.status_line()
    );
    // S goes back to the hits, as they were.
    app.update(ch('S'));
    assert_eq!(app.mode(), Mode::SearchAllResults);
    assert_eq!(app.search_all().map(|s| s.selected()), Some(1));
    app.update(key(KeyCode::Esc));
    assert!(app.search_all().is_none());
    assert_eq!(app.mode(), Mode::Select);
}

#[test]
fn a_hit_already_in_the_window_shown_is_selected_without_a_request() {
    let mut app = with_list(120, 40);
    // Open team at its newest and load it whole.
    let all = history(&team(), |i| i == 590);
    app.update(ch(':'));
    type_text(&mut app, "#team");
    let mut fx = app.update(key(KeyCode::Enter));
    assert_eq!(app.open_conversation(), Some(&team()));
    for _ in 0..4 {
        fx = serve(&mut app, &fx, &all);
    }
    let id = search(&mut app, "退避");
    answer(
        &mut app,
        id,
        vec![found(&team(), 590, "message 590: 重试退避")],
        None,
    );
    let fx = app.update(key(KeyCode::Enter));
    assert!(history_requests(&fx).is_empty(), "{fx:?}");
    let target = message(&team(), 590, "").id;
    assert_eq!(
        app.current_history().and_then(|h| h.selected_id()),
        Some(target)
    );
    assert!(on_screen(&app).contains(&target));
}

#[test]
fn a_smaller_terminal_keeps_the_selected_hit_in_view() {
    let mut app = with_list(120, 40);
    let id = search(&mut app, "退避");
    let page: Vec<FoundMessage> = (0..30).map(|i| found(&team(), 599 - i, "退避")).collect();
    answer(&mut app, id, page, None);
    for _ in 0..15 {
        app.update(ch('j'));
    }
    app.update(Event::Resize(40, 12));
    let s = app.search_all().expect("shown");
    let capacity = roam::tui::layout::search_all(40, 12).capacity();
    assert!(
        (s.offset()..s.offset() + capacity).contains(&s.selected()),
        "{} not in {}..+{capacity}",
        s.selected(),
        s.offset()
    );
}

#[test]
fn more_hits_are_asked_for_as_the_selection_nears_the_end_and_a_failure_is_said() {
    let mut app = with_list(120, 40);
    let id = search(&mut app, "退避");
    let page: Vec<FoundMessage> = (0..50).map(|i| found(&team(), 599 - i, "退避")).collect();
    let fx = answer(&mut app, id, page, Some(77));
    assert!(
        searches(&fx).is_empty(),
        "a screen and a half are in: {fx:?}"
    );
    let mut asked = Vec::new();
    for _ in 0..49 {
        asked.extend(searches(&app.update(ch('j'))));
    }
    assert_eq!(asked.len(), 1, "one page at a time: {asked:?}");
    assert_eq!(asked[0].1, "退避");
    assert_eq!(asked[0].2, Some(77));
    app.update(Event::SearchAll {
        request_id: asked[0].0,
        result: Err(FetchError::new("database is locked", true)),
    });
    assert_eq!(app.search_all_status(), "search failed: database is locked");
    assert!(searches(&app.update(ch('j'))).is_empty(), "no retry loop");
}

#[test]
fn ctrl_c_in_the_view_closes_it_rather_than_quitting() {
    let mut app = with_list(80, 24);
    app.update(ch('S'));
    let fx = app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(!fx.contains(&Effect::Quit));
    assert!(app.search_all().is_none());
    // q typed into the query is a letter, not quit.
    app.update(ch('S'));
    let fx = app.update(ch('q'));
    assert!(!fx.contains(&Effect::Quit));
    assert_eq!(
        app.search_all().map(|s| s.input().to_string()),
        Some("q".to_string())
    );
}

// ----- screens ---------------------------------------------------------------------

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal
        .draw(|f| view::draw(app, &CTX, f))
        .expect("drawing into a test backend");
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut skip = 0;
        for x in 0..w {
            let Some(cell) = buf.cell((x, y)) else {
                continue;
            };
            if skip > 0 {
                skip -= 1;
                continue;
            }
            out.push_str(cell.symbol());
            skip = cell.symbol().width().saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_view_at_120x40_80x24_40x12() {
    for (w, h) in [(120, 40), (80, 24), (40, 12)] {
        let mut app = with_list(w, h);
        app.update(ch('S'));
        type_text(&mut app, "退避");
        insta::assert_snapshot!(format!("search_all_typing_{w}x{h}"), screen(&app, w, h));
        let id = searches(&app.update(key(KeyCode::Enter)))[0].0;
        let mut many = hits();
        many.push(found(
            &bob(),
            50,
            "a very long message before the match, long enough that it has to be cut on the left so that 退避 stays in view \u{1b}[31mand escapes are inert",
        ));
        answer(&mut app, id, many, Some(5));
        app.update(ch('j'));
        insta::assert_snapshot!(format!("search_all_hits_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn a_hit_near_the_newest_message_is_selected_too() {
    let mut app = with_list(80, 24);
    let id = search(&mut app, "退避");
    answer(
        &mut app,
        id,
        vec![found(&bob(), 595, "message 595: 重试退避")],
        None,
    );
    let fx = app.update(key(KeyCode::Enter));
    let all = history(&bob(), |i| i == 595);
    let mut fx = serve(&mut app, &fx, &all);
    for _ in 0..4 {
        fx = serve(&mut app, &fx, &all);
    }
    let target = message(&bob(), 595, "").id;
    assert_eq!(
        app.current_history().and_then(|h| h.selected_id()),
        Some(target)
    );
    assert!(on_screen(&app).contains(&target));
}

#[test]
fn the_match_in_each_snippet_is_highlighted_and_nothing_else() {
    let mut app = with_list(120, 40);
    let id = search(&mut app, "退避");
    answer(&mut app, id, hits(), None);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test terminal");
    terminal
        .draw(|f| view::draw(&app, &CTX, f))
        .expect("drawing into a test backend");
    let buf = terminal.backend().buffer().clone();
    let bg = app.theme().current_match().bg;
    let mut marked = Vec::new();
    for y in 0..40 {
        let mut row = String::new();
        for x in 0..120 {
            if let Some(cell) = buf.cell((x, y))
                && cell.style().bg == bg
            {
                row.push_str(cell.symbol());
            }
        }
        if !row.is_empty() {
            marked.push(row);
        }
    }
    assert_eq!(marked, vec!["退避"; 3], "one highlighted match per hit");
}
