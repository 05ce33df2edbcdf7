//! Rendered screens: the state is built through `App::update` events (conversation list
//! pages, history pages, keys), drawn into a `TestBackend`, and compared with snapshots of
//! the buffer as text. Hostile server text is also drawn through the real crossterm
//! backend and the bytes parsed by a terminal emulator (vt100) to prove they are inert.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::num::NonZeroU16;
use std::rc::Rc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::{TerminalOptions, Viewport};
use roam::names_cache::{NameEntry, NameKey, NameKind};
use roam::protocol::{ChatType, Conversation, ConversationPage, HistoryPage, Message};
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchError, FetchRequest};
use roam::tui::view::{self, ViewContext};
use unicode_width::UnicodeWidthStr;

/// 2024-03-05 12:00 UTC, a Tuesday: the clock of every screen here.
const NOW: i64 = 1_709_640_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const CTX: ViewContext<'static> = ViewContext {
    now_ms: NOW,
    notice: None,
};

/// Escape sequences, 8-bit controls and bidi overrides a hostile peer might send.
const HOSTILE: &str = "\u{1b}]0;pwned-title\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[?1049l\u{1b}[2J\
    \u{9b}6n\u{9d}2;c1-title\u{9c}\u{1b}]8;;http://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\ \
    invoice_\u{202e}fdp.exe\u{202c} \u{1b}[31mred\u{1b}[0m\u{7}\u{8}\u{8}\u{8}\u{1b}[1;1HX";

fn text_message(id: u64, from: &str, to: &str, kind: ChatType, time: i64, body: &str) -> Message {
    common::text(id, time, from, to, kind, body)
}

fn conversation(
    id: &str,
    kind: ChatType,
    unread: u32,
    pinned: bool,
    last: Message,
) -> Conversation {
    Conversation {
        id: id.into(),
        kind,
        unread,
        pinned,
        pinned_at: None,
        marks: Vec::new(),
        last_message: Some(last),
    }
}

/// The conversation list of every screen.
fn conversations() -> Vec<Conversation> {
    let g = ChatType::Group;
    let s = ChatType::Single;
    vec![
        conversation(
            "project-x",
            g,
            3,
            false,
            text_message(9, "bob", "project-x", g, NOW - 3 * MINUTE, "deploy done ✅"),
        ),
        conversation(
            "alice",
            s,
            0,
            true,
            text_message(20, "alice", "me", s, NOW - 2 * DAY, "see you at 3"),
        ),
        conversation(
            "zhang_wei",
            s,
            120,
            false,
            text_message(
                21,
                "zhang_wei",
                "me",
                s,
                NOW - 2 * HOUR,
                "你好，世界！这是一条很长的中文消息，用来测试宽字符的截断。",
            ),
        ),
        conversation(
            "lobby",
            ChatType::Room,
            0,
            false,
            text_message(
                22,
                "omar",
                "lobby",
                ChatType::Room,
                NOW - 30 * DAY,
                "مرحبا بالعالم",
            ),
        ),
        conversation(
            "mallory\u{1b}]0;title\u{7}",
            s,
            1,
            false,
            text_message(23, "mallory", "me", s, NOW - 10 * MINUTE, HOSTILE),
        ),
    ]
}

/// The history of project-x, newest first as the server sends it: two days, CJK, emoji
/// sequences, right-to-left text, a long line, and (when `hostile`) escape sequences.
fn project_history(hostile: bool) -> Vec<Message> {
    let g = ChatType::Group;
    let day1 = NOW - DAY - 2 * HOUR;
    let day2 = NOW - 30 * MINUTE;
    let mut msgs = vec![
        text_message(
            1,
            "alice",
            "project-x",
            g,
            day1,
            "morning all — standup in 5",
        ),
        text_message(
            2,
            "bob",
            "project-x",
            g,
            day1 + MINUTE,
            "我们今天发布新版本吗？",
        ),
        text_message(
            3,
            "carol",
            "project-x",
            g,
            day1 + 2 * MINUTE,
            "family 👩‍👩‍👧‍👦 thumbs 👍🏽👍🏿 flag 🇯🇵 done",
        ),
        text_message(4, "omar", "project-x", g, day2, "שלום עולם / مرحبا بالعالم"),
        text_message(
            5,
            "alice",
            "project-x",
            g,
            day2 + MINUTE,
            "a long line that has to wrap because it is longer than the pane is wide, \
             with a deploy word in the middle and deploy again at the end: deploy",
        ),
        text_message(
            6,
            "mallory",
            "project-x",
            g,
            day2 + 2 * MINUTE,
            if hostile {
                HOSTILE
            } else {
                "an ordinary message, nothing to see"
            },
        ),
        text_message(
            7,
            "bob",
            "project-x",
            g,
            day2 + 3 * MINUTE,
            "deploy done ✅",
        ),
    ];
    msgs.reverse();
    msgs
}

fn press(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Runs one event, answering no fetch: returns the effects.
fn send(app: &mut App, event: Event) -> Vec<Effect> {
    app.update(event)
}

/// The id of the only fetch in `fx` that asks for a list page / history page.
fn request_id(fx: &[Effect]) -> Option<u64> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::ConversationPage { request_id, .. })
        | Effect::Fetch(FetchRequest::History { request_id, .. }) => Some(*request_id),
        _ => None,
    })
}

/// An app of `w`×`h` with the list loaded.
fn with_list(w: u16, h: u16) -> App {
    let mut app = App::new(w, h, TimeZone::UTC);
    let fx = app.start();
    let id = request_id(&fx).expect("the list is requested at start");
    send(
        &mut app,
        Event::ConversationPage {
            request_id: id,
            result: Ok(ConversationPage {
                conversations: conversations(),
                next_cursor: None,
            }),
        },
    );
    app
}

/// Selects the conversation `id` and opens it; returns the history request's effects.
fn open(app: &mut App, id: &str) -> Vec<Effect> {
    let target = app
        .conversations()
        .iter()
        .position(|c| c.id == id)
        .expect("conversation in the list");
    send(app, press(KeyCode::Char('g')));
    for _ in 0..target {
        send(app, press(KeyCode::Char('j')));
    }
    send(app, press(KeyCode::Enter))
}

/// Answers the history request in `fx` with `messages`.
fn answer_history(app: &mut App, fx: &[Effect], messages: Vec<Message>, is_last: bool) {
    let Some((conversation, request_id)) = fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::History {
            query, request_id, ..
        }) => Some((
            ConversationKey {
                id: query.conversation.clone(),
                kind: query.kind,
            },
            *request_id,
        )),
        _ => None,
    }) else {
        panic!("no history request in {fx:?}");
    };
    let next_cursor = (!is_last).then(|| "older".to_string());
    send(
        app,
        Event::HistoryPage {
            conversation,
            request_id,
            result: Ok(HistoryPage {
                messages,
                next_cursor,
                is_last,
                undecodable: 0,
            }),
        },
    );
}

/// The list loaded and project-x open with its whole history.
fn project_open(w: u16, h: u16, hostile: bool) -> App {
    let mut app = with_list(w, h);
    let fx = open(&mut app, "project-x");
    answer_history(&mut app, &fx, project_history(hostile), true);
    app
}

/// The buffer as text lines, one per row; cells hidden under a wide character are
/// skipped so lines read as they look.
fn lines(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut skip = 0;
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell((x, y)) else {
                continue;
            };
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = cell.symbol();
            out.push_str(sym);
            skip = sym.width().saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

/// Draws `app` on a `w`×`h` test terminal.
fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal
        .draw(|f| view::draw(app, &CTX, f))
        .expect("drawing into a test backend");
    terminal.backend().buffer().clone()
}

fn screen(app: &App, w: u16, h: u16) -> String {
    lines(&render(app, w, h))
}

#[test]
fn main_screen_120x40() {
    let app = project_open(120, 40, true);
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn main_screen_80x24() {
    let app = project_open(80, 24, true);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn list_only_120x40() {
    let app = with_list(120, 40);
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn narrow_40x12_list_then_history() {
    let mut app = with_list(40, 12);
    send(&mut app, press(KeyCode::Char('j')));
    insta::assert_snapshot!("narrow_40x12_list", screen(&app, 40, 12));
    let fx = open(&mut app, "project-x");
    answer_history(&mut app, &fx, project_history(true), true);
    insta::assert_snapshot!("narrow_40x12_history", screen(&app, 40, 12));
}

/// The names the fake server knows: nicknames, a group's and a room's name, and a
/// hostile nickname.
fn known_name(key: &NameKey) -> Option<&'static str> {
    match (key.kind, key.id.as_str()) {
        (NameKind::User, "alice") => Some("Alice Martin"),
        (NameKind::User, "bob") => Some("李伟"),
        (NameKind::User, "carol") => Some("田中ゆき"),
        (NameKind::User, "omar") => Some("Omar Haddad"),
        (NameKind::User, "zhang_wei") => Some("张伟"),
        (NameKind::User, "mallory") => Some("\u{1b}]0;owned\u{7}Mal\nlory\u{202e}"),
        (NameKind::Group, "project-x") => Some("roam dev team"),
        (NameKind::Room, "lobby") => Some("Lobby 🌍"),
        _ => None,
    }
}

/// A tick, and the answer to the names it asks for (from [`known_name`]). Returns the
/// ids asked.
fn answer_names(app: &mut App) -> Vec<NameKey> {
    let fx = send(app, Event::Tick { now_ms: NOW });
    let Some((request_id, ids)) = fx.into_iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::Names {
            request_id, ids, ..
        }) => Some((request_id, ids)),
        _ => None,
    }) else {
        return Vec::new();
    };
    let names = ids
        .iter()
        .map(|key| NameEntry {
            key: key.clone(),
            name: known_name(key).map(str::to_string),
            fetched_ms: NOW,
        })
        .collect();
    send(
        app,
        Event::Names {
            request_id,
            names,
            failed: Vec::new(),
        },
    );
    ids
}

#[test]
fn names_in_the_list_and_history_and_ids_beside_them() {
    for (w, h) in [(120u16, 40u16), (80, 24), (40, 12)] {
        let mut app = project_open(w, h, false);
        let asked = answer_names(&mut app);
        assert!(!asked.is_empty(), "names asked at {w}x{h}");
        assert!(answer_names(&mut app).is_empty(), "asked once at {w}x{h}");
        insta::assert_snapshot!(format!("names_{w}x{h}"), screen(&app, w, h));
        send(&mut app, press(KeyCode::Char('I')));
        insta::assert_snapshot!(format!("names_ids_{w}x{h}"), screen(&app, w, h));
        if w < 80 {
            // One pane at a time: the list, with names and ids, then without ids.
            send(&mut app, press(KeyCode::Char('h')));
            answer_names(&mut app);
            insta::assert_snapshot!(format!("names_ids_list_{w}x{h}"), screen(&app, w, h));
            send(&mut app, press(KeyCode::Char('I')));
            insta::assert_snapshot!(format!("names_list_{w}x{h}"), screen(&app, w, h));
        }
    }
}

#[test]
fn degenerate_sizes_do_not_panic() {
    for (w, h) in [(0u16, 0u16), (1, 1)] {
        let app = project_open(w, h, true);
        let s = screen(&app, w, h);
        insta::assert_snapshot!(format!("tiny_{w}x{h}"), s);
    }
    // A state that believes the terminal is larger (or smaller) than it is.
    let big = project_open(120, 40, true);
    for (w, h) in [(0, 0), (1, 1), (2, 2), (5, 3), (79, 24), (200, 60)] {
        let _ = render(&big, w, h);
    }
    let small = project_open(1, 1, true);
    let _ = render(&small, 120, 40);
    let mut sizes = project_open(120, 40, true);
    for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 7), (20, 3), (81, 5)] {
        send(&mut sizes, Event::Resize(w, h));
        let _ = render(&sizes, w, h);
    }
}

/// A longer project-x: the short history and 40 more messages of small talk after it.
fn long_project_history() -> Vec<Message> {
    let g = ChatType::Group;
    let mut msgs = project_history(false);
    let people = ["alice", "bob", "carol"];
    for i in 0..40u64 {
        msgs.insert(
            0,
            text_message(
                100 + i,
                people[i as usize % 3],
                "project-x",
                g,
                NOW - 20 * MINUTE + i as i64 * 20_000,
                &format!("small talk {i}"),
            ),
        );
    }
    msgs
}

/// Scrolled up in project-x when three messages arrive: the bar counts them.
#[test]
fn the_new_messages_bar_at_120x40_80x24_40x12() {
    for (w, h) in [(120u16, 40u16), (80, 24), (40, 12)] {
        let mut app = with_list(w, h);
        send(&mut app, Event::Tick { now_ms: NOW });
        let fx = open(&mut app, "project-x");
        answer_history(&mut app, &fx, long_project_history(), true);
        for _ in 0..12 {
            send(&mut app, press(KeyCode::Char('k')));
        }
        let fx = send(&mut app, press(KeyCode::Char('r')));
        let g = ChatType::Group;
        let arrived: Vec<Message> = (0..3)
            .map(|i| {
                text_message(
                    200 + i,
                    "dave",
                    "project-x",
                    g,
                    NOW + i as i64 * 1000,
                    "new and unseen",
                )
            })
            .collect();
        answer_history(&mut app, &fx, arrived, true);
        assert_eq!(app.current_history().map(|h| h.arrived()), Some(3));
        insta::assert_snapshot!(format!("new_messages_{w}x{h}"), screen(&app, w, h));
    }
}

/// A server-side filter: its own window, the filter in the pane's title.
#[test]
fn the_filter_title_at_120x40_80x24_40x12() {
    for (w, h) in [(120u16, 40u16), (80, 24), (40, 12)] {
        let mut app = project_open(w, h, false);
        send(&mut app, Event::Tick { now_ms: NOW });
        send(&mut app, press(KeyCode::Char('f')));
        for c in "txt from alice since 2024-03-04".chars() {
            send(&mut app, press(KeyCode::Char(c)));
        }
        let fx = send(&mut app, press(KeyCode::Enter));
        assert!(app.prompt().is_none(), "{:?}", app.prompt());
        let alice: Vec<Message> = project_history(false)
            .into_iter()
            .filter(|m| m.from == "alice")
            .collect();
        answer_history(&mut app, &fx, alice, true);
        insta::assert_snapshot!(format!("filter_title_{w}x{h}"), screen(&app, w, h));
    }
}

/// The jump prompt while typing, and after a date it cannot read, at three sizes.
#[test]
fn the_date_prompt_at_120x40_80x24_40x12() {
    for (w, h) in [(120u16, 40u16), (80, 24), (40, 12)] {
        let mut app = project_open(w, h, false);
        send(&mut app, Event::Tick { now_ms: NOW });
        send(&mut app, press(KeyCode::Char('t')));
        for c in "2024-03-04 10".chars() {
            send(&mut app, press(KeyCode::Char(c)));
        }
        insta::assert_snapshot!(format!("date_prompt_{w}x{h}"), screen(&app, w, h));
        for c in "x".chars() {
            send(&mut app, press(KeyCode::Char(c)));
        }
        send(&mut app, press(KeyCode::Enter));
        insta::assert_snapshot!(format!("date_prompt_refused_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn help_overlay() {
    let mut app = project_open(80, 24, false);
    send(&mut app, press(KeyCode::Char('?')));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn help_overlay_120x40_and_40x12_scrolled() {
    let mut app = project_open(120, 40, false);
    send(&mut app, press(KeyCode::Char('?')));
    insta::assert_snapshot!("help_120x40", screen(&app, 120, 40));
    let mut app = project_open(40, 12, false);
    send(&mut app, press(KeyCode::Char('?')));
    insta::assert_snapshot!("help_40x12_top", screen(&app, 40, 12));
    for _ in 0..12 {
        send(&mut app, press(KeyCode::Char('j')));
    }
    insta::assert_snapshot!("help_40x12_scrolled", screen(&app, 40, 12));
}

/// Scrolling the help through at 40×12 shows every binding of the keymap, each keys
/// column as the keymap writes it, and never a row wider than the screen.
#[test]
fn the_help_at_40x12_scrolls_through_every_binding() {
    let mut app = project_open(40, 12, false);
    send(&mut app, press(KeyCode::Char('?')));
    let mut seen = String::new();
    let mut last = String::new();
    for _ in 0..1000 {
        let s = screen(&app, 40, 12);
        assert!(s.lines().all(|l| l.width() <= 40), "{s}");
        seen.push_str(&s);
        if s == last {
            break;
        }
        last = s;
        send(&mut app, press(KeyCode::Char('j')));
    }
    assert!(last.contains("Esc closes"), "{last}");
    for section in app.keymap().help() {
        assert!(
            seen.contains(section.mode.title()),
            "{}",
            section.mode.title()
        );
        for (keys, does) in section.rows {
            let first_word = does.split(' ').next().unwrap_or_default();
            assert!(seen.contains(&format!("┃{keys} ")), "{keys}");
            assert!(seen.contains(first_word), "{does}");
        }
    }
    // Esc closes it wherever it is scrolled.
    send(&mut app, press(KeyCode::Esc));
    assert!(!app.help_visible());
}

/// Runs of cells inside `area` whose background is `bg`, as text.
fn cells_with_bg(buf: &Buffer, area: Rect, bg: Color) -> Vec<String> {
    let mut runs = Vec::new();
    for y in area.top()..area.bottom() {
        let mut run = String::new();
        for x in area.left()..area.right() {
            match buf.cell((x, y)) {
                Some(c) if c.bg == bg => run.push_str(c.symbol()),
                _ => {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
    }
    runs
}

#[test]
fn search_highlights_matches_in_place() {
    let mut app = project_open(120, 40, false);
    send(&mut app, press(KeyCode::Char('/')));
    for c in "deploy".chars() {
        send(&mut app, press(KeyCode::Char(c)));
    }
    let buf = render(&app, 120, 40);
    insta::assert_snapshot!("search_typing", lines(&buf));
    // The current match (newest) in its own colour, the others in the match colour.
    let rows = app.layout().messages.expect("history rows shown");
    assert_eq!(cells_with_bg(&buf, rows, Color::LightRed), vec!["deploy"]);
    assert_eq!(
        cells_with_bg(&buf, rows, Color::Yellow),
        vec!["deploy", "deploy", "deploy"]
    );
    // Enter keeps the matches; n moves to the next older one.
    send(&mut app, press(KeyCode::Enter));
    send(&mut app, press(KeyCode::Char('n')));
    insta::assert_snapshot!("search_next", screen(&app, 120, 40));
}

#[test]
fn regex_search_shows_its_mode() {
    let mut app = project_open(80, 24, false);
    send(&mut app, press(KeyCode::Char('/')));
    send(
        &mut app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    for c in "d.p+loy$".chars() {
        send(&mut app, press(KeyCode::Char(c)));
    }
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn loading_older_and_jump_to_latest() {
    let mut app = with_list(80, 24);
    let fx = open(&mut app, "alice");
    // A page with more on the server, long enough to scroll.
    let messages: Vec<Message> = (1..=40u64)
        .rev()
        .map(|i| {
            text_message(
                100 + i,
                if i % 2 == 0 { "alice" } else { "me" },
                "x",
                ChatType::Single,
                NOW - DAY + i as i64 * 10 * MINUTE,
                &format!("message number {i}"),
            )
        })
        .collect();
    answer_history(&mut app, &fx, messages, false);
    insta::assert_snapshot!("at_latest", screen(&app, 80, 24));
    send(&mut app, press(KeyCode::PageUp));
    insta::assert_snapshot!("scrolled_up", screen(&app, 80, 24));
    // At the top of what is loaded the next page is on its way.
    send(&mut app, press(KeyCode::Char('g')));
    assert!(
        app.current_history()
            .is_some_and(|h| h.in_flight().is_some())
    );
    insta::assert_snapshot!("at_oldest_loading", screen(&app, 80, 24));
}

#[test]
fn failures_reach_the_status_line() {
    let mut app = with_list(80, 24);
    let fx = open(&mut app, "alice");
    let Some(Effect::Fetch(FetchRequest::History {
        query,
        request_id: asked,
        ..
    })) = fx.into_iter().next()
    else {
        panic!("opening asks for history");
    };
    send(
        &mut app,
        Event::HistoryPage {
            conversation: ConversationKey::of_query(&query),
            request_id: asked,
            result: Err(FetchError::new(
                "the server at 127.0.0.1:5000 did not answer in time \u{1b}[2J",
                true,
            )),
        },
    );
    insta::assert_snapshot!("history_failed", screen(&app, 80, 24));

    let mut list = App::new(80, 24, TimeZone::UTC);
    let fx = list.start();
    let id = request_id(&fx).expect("list request");
    send(
        &mut list,
        Event::ConversationPage {
            request_id: id,
            result: Err(FetchError::new(
                "Too many requests (HTTP 429 reach_limit)",
                true,
            )),
        },
    );
    insta::assert_snapshot!("list_failed", screen(&list, 80, 24));
}

#[test]
fn notices_show_in_the_status_line() {
    let app = with_list(80, 24);
    let ctx = ViewContext {
        now_ms: NOW,
        notice: Some("user id lowercased to \"alice\"\u{1b}[2J"),
    };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    terminal
        .draw(|f| view::draw(&app, &ctx, f))
        .expect("drawing");
    let text = lines(terminal.backend().buffer());
    let status = text.lines().last().unwrap_or_default();
    assert!(status.contains("user id lowercased"), "{status}");
    assert!(
        status.contains('␛') && !status.contains('\u{1b}'),
        "{status}"
    );
}

#[test]
fn empty_and_loading_states() {
    let mut app = App::new(80, 24, TimeZone::UTC);
    let _ = app.start();
    insta::assert_snapshot!("loading_list", screen(&app, 80, 24));
}

// ----- hostile text through the real terminal path -----------------------------------

/// What the emulator saw besides drawing.
#[derive(Default, Debug, PartialEq)]
struct Recorder {
    titles: Vec<Vec<u8>>,
    icon_names: Vec<Vec<u8>>,
    clipboard: Vec<Vec<u8>>,
    osc: Vec<Vec<Vec<u8>>>,
    other: Vec<String>,
}

impl vt100::Callbacks for Recorder {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.icon_names.push(name.to_vec());
    }
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8], data: &[u8]) {
        self.clipboard.push(data.to_vec());
    }
    fn paste_from_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8]) {
        self.other.push("paste_from_clipboard".into());
    }
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.osc.push(params.iter().map(|p| p.to_vec()).collect());
    }
    fn resize(&mut self, _: &mut vt100::Screen, request: (u16, u16)) {
        self.other.push(format!("resize {request:?}"));
    }
    fn unhandled_escape(&mut self, _: &mut vt100::Screen, i1: Option<u8>, i2: Option<u8>, b: u8) {
        self.other.push(format!("escape {i1:?} {i2:?} {b}"));
    }
    fn unhandled_csi(
        &mut self,
        _: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        self.other.push(format!("csi {i1:?} {i2:?} {params:?} {c}"));
    }
}

/// A `Vec<u8>` the crossterm backend writes into and the test reads afterwards.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("a screen dimension is not zero")
}

/// Draws `app` through crossterm into bytes, then runs them through the emulator.
fn emulate(app: &App, w: u16, h: u16) -> (Vec<u8>, vt100::Parser<Recorder>) {
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    let out = Shared::default();
    let mut terminal = Terminal::with_options(CrosstermBackend::new(out.clone()), options)
        .expect("crossterm terminal over a Vec");
    terminal
        .draw(|f| view::draw(app, &CTX, f))
        .expect("drawing into a Vec");
    let bytes = out.0.borrow().clone();
    let mut parser =
        vt100::Parser::new_with_callbacks(nonzero(h), nonzero(w), 0, Recorder::default());
    parser.process(&bytes);
    (bytes, parser)
}

/// The emulator's modes that content must not be able to change.
fn modes(screen: &vt100::Screen) -> String {
    format!(
        "alt={} appcursor={} appkeypad={} paste={} mouse={:?}/{:?} cursor={:?}",
        screen.alternate_screen(),
        screen.application_cursor(),
        screen.application_keypad(),
        screen.bracketed_paste(),
        screen.mouse_protocol_mode(),
        screen.mouse_protocol_encoding(),
        screen.cursor_position(),
    )
}

#[test]
fn hostile_text_is_inert_on_a_real_terminal() {
    let (w, h) = (100u16, 30u16);
    let clean = project_open(w, h, false);
    let evil = project_open(w, h, true);
    let (_, clean_term) = emulate(&clean, w, h);
    let (bytes, evil_term) = emulate(&evil, w, h);

    // No OSC at all in the output: no title, no clipboard, no hyperlink.
    assert!(
        !bytes.windows(2).any(|p| p == b"\x1b]"),
        "an OSC sequence reached the terminal"
    );
    let rec = evil_term.callbacks();
    assert!(rec.titles.is_empty(), "title changed: {:?}", rec.titles);
    assert!(rec.icon_names.is_empty(), "icon name changed");
    assert!(rec.clipboard.is_empty(), "clipboard written");
    assert!(rec.osc.is_empty(), "OSC seen: {:?}", rec.osc);
    assert_eq!(rec, clean_term.callbacks(), "content added sequences");

    // Same modes as the same screen without the hostile text, and the plain modes of a
    // fresh terminal (the views draw; they switch nothing).
    let fresh = vt100::Parser::new(nonzero(h), nonzero(w), 0);
    assert_eq!(modes(evil_term.screen()), modes(clean_term.screen()));
    assert!(!evil_term.screen().alternate_screen());
    assert_eq!(
        evil_term.screen().bracketed_paste(),
        fresh.screen().bracketed_paste()
    );

    // Nothing outside the history rows differs from the clean screen.
    let messages = evil.layout().messages.expect("history rows shown");
    let mut inside_differs = false;
    for row in 0..h {
        for col in 0..w {
            let a = clean_term.screen().cell(row, col).map(|c| c.contents());
            let b = evil_term.screen().cell(row, col).map(|c| c.contents());
            let inside = col >= messages.x
                && col < messages.x + messages.width
                && row >= messages.y
                && row < messages.y + messages.height;
            if inside {
                inside_differs |= a != b;
            } else {
                assert_eq!(a, b, "cell ({col},{row}) outside the history pane changed");
            }
        }
    }
    assert!(inside_differs, "the hostile message was not drawn at all");
    // What was drawn shows the controls instead of acting on them.
    let contents = evil_term.screen().contents();
    assert!(contents.contains("␛]0;pwned-title␇"), "{contents}");
    assert!(contents.contains("⟨RLO⟩"), "{contents}");
    assert!(contents.contains("mallory"), "{contents}");
}

#[test]
fn a_paste_types_into_the_search_input_without_controls() {
    let mut app = project_open(80, 24, false);
    send(&mut app, press(KeyCode::Char('/')));
    let paste = crossterm::event::Event::Paste("dep\nloy\u{1b}[2J".into());
    for event in roam::tui::run::translate(paste, &app) {
        send(&mut app, event);
    }
    let query = app.search().map(|s| s.query().to_string());
    assert_eq!(query.as_deref(), Some("dep loy[2J"));
}

#[test]
fn a_narrow_list_drops_the_time_and_pin_before_the_unread_count() {
    let g = ChatType::Group;
    let mut app = App::new(120, 40, TimeZone::UTC);
    let fx = app.start();
    let id = request_id(&fx).expect("the list is requested at start");
    let last = text_message(1, "bob", "engineering-all", g, NOW - 400 * DAY, "hi");
    send(
        &mut app,
        Event::ConversationPage {
            request_id: id,
            result: Ok(ConversationPage {
                conversations: vec![conversation("engineering-all", g, 1350, true, last)],
                next_cursor: None,
            }),
        },
    );
    let wide = screen(&app, 120, 40);
    let row = wide
        .lines()
        .find(|l| l.contains("engineering-all"))
        .unwrap_or("");
    assert!(
        row.contains("📌") && row.contains("99+") && row.contains("2023-"),
        "{row}"
    );
    // At 80 columns the list pane cannot hold the name, the pin, the count and the time.
    send(&mut app, Event::Resize(80, 24));
    let narrow = screen(&app, 80, 24);
    let row = narrow
        .lines()
        .find(|l| l.contains("engineeri"))
        .unwrap_or("");
    assert!(row.contains("99+"), "the unread count stays: {row}");
    assert!(!row.contains("2023-"), "the date goes first: {row}");
}

/// Runs of one sender, an attachment with extension fields, a long URL, and a message
/// longer than the history pane shows.
fn message_history() -> Vec<Message> {
    use roam::protocol::{Attachment, Content};
    let g = ChatType::Group;
    let t0 = NOW - 40 * MINUTE;
    let mut file = text_message(4, "omar", "project-x", g, t0 + 4 * MINUTE, "");
    file.content = Content::File {
        file: Attachment {
            url: "https://a1.easemob.com/acme/chat/chatfiles/5f3a7c2e-1d9b-11ef-8e5c-0242ac120002"
                .into(),
            secret: Some("Zk9qTWx3RkFk".into()),
            filename: "roam-design-v34.pdf".into(),
            file_length: Some(21_000_000),
        },
    };
    let ext = serde_json::json!({
        "z_priority": "high",
        "a_thread": {"topic": "design", "round": 3},
        "m_flag": true
    });
    file.ext = ext.as_object().cloned().unwrap_or_default();
    let long: String = (1..=3000)
        .map(|i| format!("line {i} of the long message\n"))
        .collect();
    let mut msgs = vec![
        text_message(1, "sarah.chen", "project-x", g, t0, "standup in 5"),
        text_message(
            2,
            "sarah.chen",
            "project-x",
            g,
            t0 + MINUTE,
            "agenda: release notes, then the design review",
        ),
        text_message(
            3,
            "sarah.chen",
            "project-x",
            g,
            t0 + 3 * MINUTE,
            "東京（とうきょう）で会いましょう。よろしくお願いします。会議室は三階です。",
        ),
        file,
        text_message(
            5,
            "omar",
            "project-x",
            g,
            t0 + 5 * MINUTE,
            "https://docs.example.com/roam/design/v34/review?section=attachments&lang=en-US&highlight=download-flow",
        ),
        text_message(6, "sarah.chen", "project-x", g, t0 + 15 * MINUTE, &long),
    ];
    msgs.reverse();
    msgs
}

/// project-x open with [`message_history`].
fn messages_open(w: u16, h: u16) -> App {
    let mut app = with_list(w, h);
    let fx = open(&mut app, "project-x");
    answer_history(&mut app, &fx, message_history(), true);
    app
}

/// project-x open with [`message_history`] without its long message.
fn runs_open(w: u16, h: u16) -> App {
    let mut app = with_list(w, h);
    let fx = open(&mut app, "project-x");
    let runs = message_history()
        .into_iter()
        .filter(|m| m.id != 6)
        .collect();
    answer_history(&mut app, &fx, runs, true);
    app
}

const SIZES: [(u16, u16); 3] = [(120, 40), (80, 24), (40, 12)];

#[test]
fn grouped_headers_at_120x40_80x24_40x12() {
    for (w, h) in SIZES {
        let mut app = runs_open(w, h);
        // Selected: omar's attachment, the second of his run.
        for key in ['v', 'k'] {
            send(&mut app, press(KeyCode::Char(key)));
        }
        insta::assert_snapshot!(format!("grouped_headers_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn compact_layout_at_120x40_80x24_40x12() {
    for (w, h) in SIZES {
        let mut app = runs_open(w, h);
        for key in ['c', 'v', 'k'] {
            send(&mut app, press(KeyCode::Char(key)));
        }
        insta::assert_snapshot!(format!("compact_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn details_panel_at_120x40_80x24_40x12() {
    for (w, h) in SIZES {
        let mut app = messages_open(w, h);
        for key in ['v', 'k', 'k', 'i'] {
            send(&mut app, press(KeyCode::Char(key)));
        }
        let shown = screen(&app, w, h);
        insta::assert_snapshot!(format!("details_{w}x{h}"), shown);
        if (w, h) == (40, 12) {
            // The panel scrolls: the end of the ext fields.
            send(&mut app, press(KeyCode::Char('G')));
            insta::assert_snapshot!("details_40x12_end", screen(&app, w, h));
        }
    }
}

#[test]
fn full_text_at_120x40_80x24_40x12() {
    for (w, h) in SIZES {
        let mut app = messages_open(w, h);
        send(&mut app, press(KeyCode::Char('v')));
        send(&mut app, press(KeyCode::Char('e')));
        send(&mut app, press(KeyCode::Char('G')));
        insta::assert_snapshot!(format!("full_text_{w}x{h}"), screen(&app, w, h));
    }
}

/// project-x with a picture newest: Sarah's screenshot.
fn picture_open(w: u16, h: u16) -> App {
    use roam::protocol::{Attachment, Content, Size};
    let mut history = message_history();
    let mut shot = text_message(7, "sarah.chen", "project-x", ChatType::Group, NOW, "");
    shot.content = Content::Image {
        file: Attachment {
            url: "https://a1.easemob.com/acme/chat/chatfiles/ca0273e0-cf8c-11b6-b035-6f561fc49ed7"
                .into(),
            secret: None,
            filename: "conversation-list-v3.png".into(),
            file_length: Some(1_823_551),
        },
        size: Some(Size {
            width: 2880.0,
            height: 1800.0,
        }),
        gif: false,
    };
    history.insert(0, shot);
    let mut app = with_list(w, h);
    let fx = open(&mut app, "project-x");
    answer_history(&mut app, &fx, history, true);
    app
}

/// The picture request the details panel made: its id and the box it must fit.
fn picture_request(fx: &[Effect]) -> Option<(u64, (u16, u16))> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::Picture {
            request_id, fits, ..
        }) => Some((*request_id, *fits)),
        _ => None,
    })
}

#[test]
fn a_picture_in_the_details_panel_at_120x40_80x24_40x12() {
    use ratatui_image::picker::Picker;
    use roam::tui::picture;
    let image = picture::decode(&roam::demo::files::png(64, 48)).expect("the demo picture");
    for (w, h) in SIZES {
        let mut app = picture_open(w, h);
        send(&mut app, press(KeyCode::Char('v')));
        let fx = send(&mut app, press(KeyCode::Char('i')));
        let (request_id, fits) = picture_request(&fx).expect("the picture is asked for");
        assert!(
            screen(&app, w, h).contains("loading the picture…"),
            "{}",
            screen(&app, w, h)
        );
        let shown = picture::encode(&Picker::halfblocks(), &image, fits).expect("encoded");
        send(
            &mut app,
            Event::Picture {
                request_id,
                result: Ok(shown),
            },
        );
        insta::assert_snapshot!(format!("picture_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn a_picture_that_cannot_be_shown_is_one_line_and_a_resize_asks_again() {
    let (w, h) = (80, 24);
    let mut app = picture_open(w, h);
    send(&mut app, press(KeyCode::Char('v')));
    let (request_id, fits) =
        picture_request(&send(&mut app, press(KeyCode::Char('i')))).expect("asked");
    assert_eq!(fits, (78, 10));
    let fx = send(&mut app, Event::Resize(120, 40));
    let (again, fits) = picture_request(&fx).expect("asked again for the larger box");
    assert_eq!(fits, (118, 16));
    // The answer to the first request is too late to count.
    send(
        &mut app,
        Event::Picture {
            request_id,
            result: Err("stale".into()),
        },
    );
    assert!(!screen(&app, 120, 40).contains("stale"));
    send(
        &mut app,
        Event::Picture {
            request_id: again,
            result: Err("the picture is too large to show (limits)\u{1b}[2J".into()),
        },
    );
    let shown = screen(&app, 120, 40);
    assert!(
        shown.contains("the picture is too large to show (limits)␛[2J"),
        "{shown}"
    );
    // A failed picture is not asked for again on every resize.
    assert!(picture_request(&send(&mut app, Event::Resize(100, 30))).is_none());
}

#[test]
fn the_link_chooser_at_120x40_80x24_40x12() {
    for (w, h) in SIZES {
        let mut app = runs_open(w, h);
        for key in ['v', 'o'] {
            send(&mut app, press(KeyCode::Char(key)));
        }
        insta::assert_snapshot!(format!("link_chooser_{w}x{h}"), screen(&app, w, h));
    }
}
