//! Moving through a 1,000,000-message conversation served by the embedded server over
//! loopback HTTP, through the real client, fetch path, state machine and views:
//!
//! - `jump/to_date`: from the Enter that submits a date in the jump prompt to the first
//!   200×60 frame that shows that day (two requests, asked together): goal < 20 ms.
//! - `jump/to_beginning`: from `B` to the first frame showing the beginning (one
//!   request): goal < 20 ms.
//! - `jump/draw_middle`: one 200×60 frame of a window that starts in the middle of
//!   history, more to load both ways: goal < 2 ms.
//! - `unread/5000_back`: from `u` to the frame showing the unread divider 5,000 messages
//!   back (100 pages, one after another): goal < 1 s.
//!
//! The conversation is a single chat, `alice` reading `bob`, one message every 90 s over
//! about three years, with the varied text of `benches/common`.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use crossterm::event::KeyCode;
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::client::Client;
use roam::protocol::{ChatType, Content, Conversation, ConversationPage, HistoryQuery, Message};
use roam::server::ServerHandle;
use roam::store::Store;
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchRequest};
use roam::tui::fetch;
use roam::tui::view::{self, ViewContext};
use serde_json::Map;

use common::{HEIGHT, WIDTH, ch, press};

const MESSAGES: u64 = 1_000_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
/// The oldest message's time: 2020-09-13 12:26 UTC.
const FIRST: i64 = 1_600_000_000_000;
const GAP: i64 = 90_000;
const DAY: i64 = 86_400_000;

fn message(i: u64) -> Message {
    let (from, to) = if i.is_multiple_of(3) {
        ("alice", "bob")
    } else {
        ("bob", "alice")
    };
    Message {
        id: BASE_ID + i,
        from: from.into(),
        to: to.into(),
        chat_type: ChatType::Single,
        time: FIRST + i as i64 * GAP,
        content: Content::Text {
            text: common::text(i),
        },
        ext: Map::new(),
        meta: None,
    }
}

/// The database, with the bulk path: big batches, synchronous off.
fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    store.set_password("alice", "pw").expect("user");
    let batch = 100_000u64;
    for start in (0..MESSAGES).step_by(batch as usize) {
        let messages: Vec<Message> = (start..start + batch).map(message).collect();
        store.insert_messages(&messages).expect("insert");
    }
}

/// What the benches share: the runtime, the server and a logged-in client.
struct Fixture {
    rt: tokio::runtime::Runtime,
    server: ServerHandle,
    client: Client,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("million.db");
    let started = Instant::now();
    build(&path);
    eprintln!("built {MESSAGES} messages in {:.1?}", started.elapsed());
    let (rt, server, client) = common::served(&path);
    Fixture {
        rt,
        server,
        client,
        _dir: dir,
    }
}

/// Carries out every fetch in `fx` through the client, all at once as the fetch task
/// does, and feeds the answers to the app; repeats with what the answers ask for until
/// `done` says the app is where it should be. Returns how many requests ran.
async fn settle(
    app: &mut App,
    client: &Client,
    fx: Vec<Effect>,
    done: impl Fn(&App) -> bool,
) -> usize {
    let mut fx = fx;
    let mut requests = 0;
    while !done(app) {
        let asked: Vec<(HistoryQuery, u64)> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Fetch(FetchRequest::History {
                    query, request_id, ..
                }) => Some((query.clone(), *request_id)),
                _ => None,
            })
            .collect();
        assert!(
            !asked.is_empty(),
            "the app waits for nothing but is not done: {fx:?} · {}",
            app.status_line()
        );
        requests += asked.len();
        let answers =
            futures::future::join_all(asked.into_iter().map(|r| history(client, r))).await;
        fx = answers.into_iter().flat_map(|e| app.update(e)).collect();
    }
    requests
}

/// The answer to a history request, as the fetch task gives it.
async fn history(client: &Client, (query, request_id): (HistoryQuery, u64)) -> Event {
    let conversation = ConversationKey::of_query(&query);
    let result = fetch::Source::history(client, query).await;
    Event::HistoryPage {
        conversation,
        request_id,
        result,
    }
}

/// A 200×60 app with `bob` open at the newest page; `unread` in the list.
async fn opened(client: &Client, unread: u32) -> App {
    let mut app = App::new(WIDTH, HEIGHT, TimeZone::UTC);
    let fx = app.start();
    let request_id = fx
        .iter()
        .find_map(|e| match e {
            Effect::Fetch(FetchRequest::ConversationPage { request_id, .. }) => Some(*request_id),
            _ => None,
        })
        .expect("a list request");
    app.update(Event::ConversationPage {
        request_id,
        result: Ok(ConversationPage {
            conversations: vec![Conversation {
                id: "bob".into(),
                kind: ChatType::Single,
                unread,
                pinned: false,
                pinned_at: None,
                marks: Vec::new(),
                last_message: Some(message(MESSAGES - 1)),
            }],
            next_cursor: None,
        }),
    });
    app.update(Event::Tick {
        now_ms: FIRST + MESSAGES as i64 * GAP,
    });
    let fx = app.update(press(KeyCode::Enter));
    // The first page, and the older page it prefetches: nothing left in flight.
    settle(&mut app, client, fx, |a| {
        a.current_history()
            .is_some_and(|h| !h.is_empty() && h.in_flight().is_none())
    })
    .await;
    app
}

fn frame(terminal: &mut Terminal<TestBackend>, app: &App) -> String {
    let ctx = ViewContext {
        now_ms: FIRST + MESSAGES as i64 * GAP,
        notice: None,
    };
    terminal.draw(|f| view::draw(app, &ctx, f)).expect("draw");
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

/// The day `i` days after the first message, as the prompt takes it and the sticky date
/// row shows it.
fn day(i: i64) -> (String, String) {
    let ts = jiff::Timestamp::from_millisecond(FIRST + i * DAY).expect("a time");
    let z = ts.to_zoned(TimeZone::UTC);
    (
        z.strftime("%Y-%m-%d").to_string(),
        z.strftime("%Y-%m-%d %a").to_string(),
    )
}

fn bench_jumps(c: &mut Criterion) {
    let fx = fixture();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut group = c.benchmark_group("jump");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));

    let mut n = 0i64;
    group.bench_function("to_date", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                // Days spread over the three years, a different one each time.
                let (typed, shown) = day(7 + (n * 389) % 1000);
                let mut app = fx.rt.block_on(opened(&fx.client, 0));
                app.update(ch('t'));
                for c in typed.chars() {
                    app.update(ch(c));
                }
                let started = Instant::now();
                let effects = app.update(press(KeyCode::Enter));
                let requests = fx.rt.block_on(settle(&mut app, &fx.client, effects, |a| {
                    a.current_history()
                        .is_some_and(|h| h.marker_index().is_some() && !h.is_placing())
                }));
                let screen = frame(&mut terminal, &app);
                total += started.elapsed();
                assert_eq!(requests, 2, "the page at the time and the one before");
                assert!(screen.contains(&shown), "the frame shows {shown}");
            }
            total
        });
    });

    group.bench_function("to_beginning", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut app = fx.rt.block_on(opened(&fx.client, 0));
                let started = Instant::now();
                let effects = app.update(ch('B'));
                let requests = fx.rt.block_on(settle(&mut app, &fx.client, effects, |a| {
                    a.current_history().is_some_and(|h| !h.is_empty())
                }));
                let screen = frame(&mut terminal, &app);
                total += started.elapsed();
                assert_eq!(requests, 1);
                assert!(screen.contains("beginning of conversation"));
            }
            total
        });
    });

    // A window in the middle of history, with more to load both ways, paged out to a
    // few thousand messages.
    let mut app = fx.rt.block_on(opened(&fx.client, 0));
    let effects = app.update(Event::JumpTo(FIRST + 500 * DAY));
    fx.rt.block_on(settle(&mut app, &fx.client, effects, |a| {
        a.current_history().is_some_and(|h| !h.is_placing())
    }));
    for key in [KeyCode::PageUp, KeyCode::PageDown] {
        for _ in 0..60 {
            let effects = app.update(press(key));
            fx.rt.block_on(settle(&mut app, &fx.client, effects, |a| {
                a.current_history().is_some_and(|h| h.in_flight().is_none())
            }));
        }
    }
    let loaded = app.current_history().map_or(0, |h| h.len());
    eprintln!("a window in the middle: {loaded} loaded, more both ways");
    group.bench_function("draw_middle", |b| {
        b.iter(|| frame(&mut terminal, &app));
    });
    group.finish();

    let mut group = c.benchmark_group("unread");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("5000_back", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut app = fx.rt.block_on(opened(&fx.client, 5000));
                let started = Instant::now();
                let effects = app.update(ch('u'));
                let requests = fx.rt.block_on(settle(&mut app, &fx.client, effects, |a| {
                    !a.status_line().contains("loading unread")
                        && a.current_history().is_some_and(|h| h.in_flight().is_none())
                }));
                let screen = frame(&mut terminal, &app);
                total += started.elapsed();
                // 5,000 back is 100 pages; the first two came when it opened.
                assert!(requests >= 98, "{requests} pages");
                assert!(screen.contains("5,000 unread"));
            }
            total
        });
    });
    group.finish();
    fx.rt.block_on(fx.server.shutdown()).expect("shutdown");
}

criterion_group!(benches, bench_jumps);
criterion_main!(benches);
