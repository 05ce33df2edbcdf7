//! Shared by the TUI benches: a deterministic group conversation of any length with varied
//! text (English, Chinese, Japanese, emoji, mixed, some multi-line), served page by page
//! the way PROTOCOL.md §4 pages (newest first, cursor = the next older message's id), and
//! an [`App`] loaded with it through the real `update` path.

#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::tz::TimeZone;
use roam::protocol::{
    ChatType, Content, Conversation, ConversationPage, Direction, HistoryPage, Message,
};
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchRequest, PAGE_SIZE};
use roam::tui::view::ViewContext;
use serde_json::Map;

/// The terminal every bench draws: 200 columns × 60 rows.
pub const WIDTH: u16 = 200;
/// Rows.
pub const HEIGHT: u16 = 60;

/// The newest message's time: 2024-03-05 12:00 UTC.
pub const NEWEST: i64 = 1_709_640_000_000;
/// The clock frames are drawn at.
pub const CTX: ViewContext<'static> = ViewContext {
    now_ms: NEWEST + 60_000,
    notice: None,
};

const BASE_ID: u64 = 1_300_000_000_000_000_000;
const GROUP: &str = "product-launch";
/// The word [`text`] puts in about one message in 2,000: a query that matches rarely.
pub const RARE_WORD: &str = "quokka";

const SENDERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

const PHRASES: &[&str] = &[
    "Are we still on for the meeting tomorrow?",
    "I pushed the fix, can you review the PR when you have a minute?",
    "lol 😂",
    "ok",
    "Sounds good 👍",
    "Let me check and get back to you.",
    "The build is green again, thanks for the quick turnaround.",
    "Can someone share the slides from the last review?",
    "I'll be 10 minutes late, start without me",
    "好的，我们明天见",
    "今天的会议改到下午三点了，请大家注意时间。",
    "收到 👌",
    "这个问题我来处理一下，稍后同步结果。",
    "你看一下群里的消息，我们需要尽快确认方案。",
    "了解です。よろしくお願いします。",
    "お疲れ様です！資料を共有しました。",
    "明天的 deploy 要 review 一下 PR #1234 吗？",
    "周末去 hiking 吗 🏔️ 天气预报说是晴天",
    "🎉🎉🎉",
    "❤️",
    "👨‍👩‍👧‍👦 family photo from the weekend",
    "https://example.com/docs/launch-plan?version=3&lang=zh-CN",
    "We need to decide on the pricing before the end of the week.",
    "数据已经导出到共享盘了，文件名是 report-2024-03.xlsx",
    "Thanks! 谢谢大家的支持 🙏",
    "Please double-check the numbers in section 4 of the report.",
    "The customer asked whether the export includes attachments.",
    "我们下周一上线，周五之前冻结代码。",
];

/// A small deterministic generator (SplitMix64), so every run sees the same history.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The text of message `i`: mostly one short phrase, some several, a few long paragraphs,
/// about one in ten a multi-line list; one in 2,000 mentions [`RARE_WORD`].
pub fn text(i: u64) -> String {
    let mut r = mix(i);
    let mut next = |n: u64| {
        r = mix(r);
        r % n
    };
    let phrase = |k: u64| PHRASES[k as usize % PHRASES.len()];
    let shape = next(100);
    let mut out = String::new();
    if shape < 60 {
        out.push_str(phrase(next(1000)));
    } else if shape < 82 {
        for k in 0..2 + next(3) {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(phrase(next(1000)));
        }
    } else if shape < 90 {
        for k in 0..5 + next(8) {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(phrase(next(1000)));
        }
    } else {
        for k in 0..2 + next(5) {
            if k > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{}. {}", k + 1, phrase(next(1000))));
        }
    }
    if next(2000) == 0 {
        out.push_str(" — did you see the quokka photo?");
    }
    out
}

/// Message `i` of the conversation (0 = oldest), `n` messages in all: a minute to a few
/// hours apart, so day separators appear now and then.
pub fn message(i: u64, n: u64) -> Message {
    // Average gap ~ 4 minutes; deterministic per position counted from the newest.
    let from_newest = n - 1 - i;
    let time = NEWEST - (from_newest as i64) * 240_000 - (mix(i) % 200_000) as i64;
    Message {
        id: BASE_ID + i,
        from: SENDERS[(mix(i ^ 0x55) % SENDERS.len() as u64) as usize].into(),
        to: GROUP.into(),
        chat_type: ChatType::Group,
        time,
        content: Content::Text { text: text(i) },
        ext: Map::new(),
        meta: None,
    }
}

/// The page a server would answer for `cursor` (an id, inclusive; `None` = newest),
/// newest first, `PAGE_SIZE` messages.
pub fn page(cursor: Option<&str>, n: u64) -> HistoryPage {
    let end = match cursor {
        None => n,
        Some(c) => c.parse::<u64>().expect("cursor is an id") - BASE_ID + 1,
    };
    let start = end.saturating_sub(u64::from(PAGE_SIZE));
    let messages = (start..end).rev().map(|i| message(i, n)).collect();
    let is_last = start == 0;
    HistoryPage {
        messages,
        next_cursor: (!is_last).then(|| (BASE_ID + start - 1).to_string()),
        is_last,
        undecodable: 0,
    }
}

/// The bytes of text in messages `range` (0 = oldest).
pub fn text_bytes(range: std::ops::Range<u64>) -> u64 {
    range.map(|i| text(i).len() as u64).sum()
}

pub fn key() -> ConversationKey {
    ConversationKey {
        id: GROUP.into(),
        kind: ChatType::Group,
    }
}

pub fn press(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Event {
    press(KeyCode::Char(c))
}

pub fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// The request for an older page among `fx`, if any: (cursor, request id).
pub fn older_page(fx: &[Effect]) -> Option<(Option<String>, u64)> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::History {
            query, request_id, ..
        }) if query.direction == Direction::Up => Some((query.cursor.clone(), *request_id)),
        _ => None,
    })
}

/// The answer to a history request, from the `n`-message conversation.
pub fn answer(cursor: Option<String>, request_id: u64, n: u64) -> Event {
    let result = Ok(page(cursor.as_deref(), n));
    Event::HistoryPage {
        conversation: key(),
        request_id,
        result,
    }
}

/// A 200×60 app showing the conversation list with the one conversation, and the
/// conversation open with its first (newest) page requested: the request's effects.
pub fn open_app() -> (App, Vec<Effect>) {
    let mut app = App::new(WIDTH, HEIGHT, TimeZone::UTC);
    let fx = app.start();
    let request_id = fx
        .iter()
        .find_map(|e| match e {
            Effect::Fetch(FetchRequest::ConversationPage { request_id, .. }) => Some(*request_id),
            _ => None,
        })
        .expect("the list is requested at start");
    let conversation = Conversation {
        id: GROUP.into(),
        kind: ChatType::Group,
        unread: 0,
        pinned: false,
        pinned_at: None,
        marks: Vec::new(),
        last_message: Some(message(0, 1)),
    };
    app.update(Event::ConversationPage {
        request_id,
        result: Ok(ConversationPage {
            conversations: vec![conversation],
            next_cursor: None,
        }),
    });
    let fx = app.update(press(KeyCode::Enter));
    (app, fx)
}

/// An app with the newest `loaded` messages of a `total`-message conversation loaded
/// through `update`: every page is answered as it is requested, and `Home` (scroll to the
/// oldest loaded) makes the app ask for the next one. Ends scrolled back to the newest
/// message; when more is left on the server, a request for it may be in flight.
pub fn loaded_app(loaded: u64, total: u64) -> App {
    let (mut app, mut fx) = open_app();
    loop {
        let len = app.current_history().map_or(0, |h| h.len() as u64);
        if let Some((cursor, id)) = older_page(&fx) {
            if len >= loaded {
                break;
            }
            fx = app.update(answer(cursor, id, total));
            continue;
        }
        if len >= loaded || app.current_history().is_some_and(|h| h.at_beginning()) {
            break;
        }
        fx = app.update(press(KeyCode::Home));
        assert!(
            older_page(&fx).is_some(),
            "Home near the top asks for the next page"
        );
    }
    app.update(press(KeyCode::End));
    assert_eq!(app.current_history().map(|h| h.len() as u64), Some(loaded));
    app
}

/// How many messages are newer than the one at the bottom of the view.
pub fn from_newest(h: &roam::tui::history::History) -> usize {
    h.anchor().map_or(0, |a| {
        usize::try_from(h.end_position() - 1 - a.position()).unwrap_or(0)
    })
}

/// Scrolls up a screen at a time until the view's bottom is at least halfway up the loaded
/// messages.
pub fn scroll_to_middle(app: &mut App) {
    let len = app.current_history().map_or(0, |h| h.len());
    while app.current_history().map_or(0, from_newest) < len / 2 {
        let fx = app.update(press(KeyCode::PageUp));
        assert!(older_page(&fx).is_none(), "everything is loaded");
    }
}

/// roam's server over the store at `path` (where `alice` has the password `pw`) on a
/// two-worker runtime, as the program runs it, and a client logged in as alice.
pub fn served(
    path: &std::path::Path,
) -> (
    tokio::runtime::Runtime,
    roam::server::ServerHandle,
    roam::client::Client,
) {
    use roam::client::{Client, ClientConfig, Credential};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pool = std::sync::Arc::new(roam::store::StorePool::open(path, 4).expect("pool"));
    let server = rt
        .block_on(roam::server::spawn(
            pool,
            roam::server::ServerConfig::new("acme#chatapp"),
            None,
        ))
        .expect("server");
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        "acme#chatapp".to_string(),
        "alice".to_string(),
        Credential::Password("pw".to_string()),
    ))
    .expect("client");
    rt.block_on(client.login()).expect("login");
    (rt, server, client)
}
