//! The compact layout's speed goal (issue 9): one 200×60 frame (ratatui `TestBackend`) of
//! a conversation with 1,000,000 loaded messages, one line per message, < 2 ms; at the
//! newest end, mid-way up, and with the selection moving a message per frame. The
//! comfortable layout's frame at the newest end is measured beside it for the ratio.
//!
//! The history is built through `App::update`, page by page, as the event loop would.

mod common;

use std::time::Instant;

use common::{CTX, HEIGHT, WIDTH, ch, loaded_app, press, scroll_to_middle};
use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::tui::app::App;
use roam::tui::history::MessageLayout;
use roam::tui::view;

const MILLION: u64 = 1_000_000;
const TOTAL: u64 = 2_000_000;

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|frame| view::draw(app, &CTX, frame))
        .expect("draw");
}

fn bench_compact(c: &mut Criterion) {
    let started = Instant::now();
    let mut app = loaded_app(MILLION, TOTAL);
    eprintln!(
        "loaded {MILLION} messages through update in {:.2?}",
        started.elapsed()
    );
    let mut t = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    let mut group = c.benchmark_group("compact_frame");
    group.bench_function("comfortable/newest/1000000", |b| {
        b.iter(|| draw(&mut t, &app));
    });
    app.set_message_layout(MessageLayout::Compact);
    group.bench_function("newest/1000000", |b| b.iter(|| draw(&mut t, &app)));
    // A message selected, moving one older and one newer, with the frame after each.
    app.update(ch('v'));
    let mut older = true;
    group.bench_function("select_step_and_draw/1000000", |b| {
        b.iter(|| {
            app.update(ch(if older { 'k' } else { 'j' }));
            older = !older;
            draw(&mut t, &app);
        });
    });
    app.update(press(KeyCode::Esc));
    scroll_to_middle(&mut app);
    group.bench_function("middle/1000000", |b| b.iter(|| draw(&mut t, &app)));
    group.finish();
}

criterion_group!(benches, bench_compact);
criterion_main!(benches);
