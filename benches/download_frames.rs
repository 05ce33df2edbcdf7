//! Drawing while a download runs (issue 9): one 200×60 frame (ratatui `TestBackend`) of a
//! conversation with 100,000 loaded messages, idle and while the fetch task downloads a
//! 10 MB attachment from roam's own server over loopback, its progress events applied to
//! the state as the event loop does. The goal: frames stay under 5 ms while it runs.
//!
//! Each finished download is removed and the next one started at once, so every frame
//! measured has a download in flight.

mod common;

use std::time::Duration;

use common::{CTX, HEIGHT, WIDTH, loaded_app};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::protocol::{Attachment, ChatType, Content, Message};
use roam::store::Store;
use roam::tui::app::{App, Event, FetchRequest};
use roam::tui::fetch::{self, FetchHandle};
use roam::tui::view;
use serde_json::Map;

const UUID: &str = "0b7c6a52-1d9b-11ef-8e5c-0242ac120002";
const FILE_BYTES: usize = 10_000_000;

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|frame| view::draw(app, &CTX, frame))
        .expect("draw");
}

/// The attachment: named by a message of bob's, so the server serves it.
fn attachment(base: &str) -> Attachment {
    Attachment {
        url: format!("{base}/acme/chatapp/chatfiles/{UUID}"),
        secret: None,
        filename: "big.bin".into(),
        file_length: Some(FILE_BYTES as u64),
    }
}

/// Starts one download into `dir`.
fn start(fetch: &FetchHandle, request_id: u64, file: &Attachment, dir: &std::path::Path) {
    assert!(fetch.send(FetchRequest::Download {
        request_id,
        file: file.clone(),
        dir: dir.to_path_buf(),
    }));
}

fn bench_frames(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("files.db");
    let downloads = dir.path().join("downloads");
    let mut store = Store::open(&path).expect("store");
    store.set_password("alice", "pw").expect("user");
    let named = Message {
        id: 1,
        from: "bob".into(),
        to: "alice".into(),
        chat_type: ChatType::Single,
        time: common::NEWEST,
        content: Content::File {
            file: attachment("https://files.example"),
        },
        ext: Map::new(),
        meta: None,
    };
    store.insert_messages(&[named]).expect("the message");
    let bytes: Vec<u8> = (0..FILE_BYTES).map(|i| (i % 251) as u8).collect();
    store
        .put_file(UUID, "application/octet-stream", &bytes, None, None)
        .expect("the file");
    drop(store);
    let (rt, server, client) = common::served(&path);
    let file = attachment(&server.base_url());
    let mut fetch = {
        let _inside = rt.enter();
        fetch::spawn(client)
    };

    let mut app = loaded_app(100_000, 200_000);
    let mut t = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    let mut group = c.benchmark_group("download_frames");
    group.bench_function("idle", |b| b.iter(|| draw(&mut t, &app)));

    // Wait for one whole download first: the figure below is only honest if downloads do
    // complete in this setup.
    start(&fetch, 1, &file, &downloads);
    let first = loop {
        match rt.block_on(fetch.events.recv()) {
            Some(Event::Downloaded { outcome, .. }) => break outcome,
            Some(_) => {}
            None => panic!("the fetch task stopped"),
        }
    };
    assert!(
        matches!(first, roam::tui::event::DownloadOutcome::Saved(_)),
        "{first:?}"
    );
    let mut request_id = 2;
    let mut completed = 0u32;
    start(&fetch, request_id, &file, &downloads);
    group.bench_function("while_a_10MB_download_runs", |b| {
        b.iter(|| {
            while let Ok(event) = fetch.events.try_recv() {
                if let Event::Downloaded { .. } = event {
                    completed += 1;
                    let _ = std::fs::remove_dir_all(&downloads);
                    request_id += 1;
                    start(&fetch, request_id, &file, &downloads);
                } else {
                    app.update(event);
                }
            }
            draw(&mut t, &app);
        });
    });
    group.finish();
    eprintln!("{completed} downloads of 10 MB completed while frames were measured");
    drop(fetch);
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(server);
}

criterion_group!(benches, bench_frames);
criterion_main!(benches);
