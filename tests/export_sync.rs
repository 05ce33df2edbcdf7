//! `roam export` from a deployment's library syncs it first, unless `--offline`: the real
//! binary against the embedded server over loopback.

mod common;

use std::sync::Arc;

use common::*;
use roam::protocol::ChatType;
use roam::server::{ServerConfig, spawn};
use roam::store::state::StateFile;
use roam::store::{Store, StorePool};
use serde_json::json;

const APPKEY: &str = "acme#chatapp";
const MESSAGES: usize = 120;

/// `roam export --all --format jsonl` of alice's library of the server at `url`: the
/// exit status, the lines printed and standard error.
async fn export(url: &str, data: &std::path::Path, offline: bool) -> (bool, usize, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_roam"));
    command
        .args([
            "export",
            "--api-url",
            url,
            "--appkey",
            APPKEY,
            "--user",
            "alice",
        ])
        .args(["--all", "--format", "jsonl"])
        .env("ROAM_PASSWORD", "pw-alice")
        .env("ROAM_DATA_DIR", data.join("data"))
        .env("ROAM_CACHE_DIR", data.join("cache"))
        .env("ROAM_CONFIG", data.join("no-config.toml"))
        .stdin(std::process::Stdio::null());
    if offline {
        command.arg("--offline");
    }
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("roam export runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"msg_id\"") || l.contains("\"id\""))
        .count();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_syncs_the_library_first_unless_offline() {
    let mut store = Store::open_in_memory().expect("store");
    store
        .insert_messages(&alice_bob(MESSAGES))
        .expect("messages");
    let state = json!({"users": [{"name": "alice", "password": "pw-alice"}]});
    store
        .apply_state(&StateFile::parse(&state.to_string()).expect("state"))
        .expect("applies");
    let pool = Arc::new(StorePool::single(store));
    let server = spawn(Arc::clone(&pool), ServerConfig::new(APPKEY), None)
        .await
        .expect("server");
    let url = server.base_url();
    let dir = tempfile::tempdir().expect("temp dir");

    // Offline, before any sync: there is no library to export.
    let (ok, _, stderr) = export(&url, dir.path(), true).await;
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("no library"), "{stderr}");

    // Online: synced first, then every message exported.
    let (ok, lines, stderr) = export(&url, dir.path(), false).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("synced first"), "{stderr}");
    assert_eq!(lines, MESSAGES, "{stderr}");

    // A message more on the server: offline exports what the library holds, online
    // syncs it in first.
    let newer = text(
        BASE_ID + 999_999,
        1_800_000_000_000,
        "bob",
        "alice",
        ChatType::Single,
        "one more",
    );
    pool.with(|s| s.insert_messages(&[newer]))
        .expect("inserted");
    let (ok, lines, stderr) = export(&url, dir.path(), true).await;
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("synced first"), "{stderr}");
    assert_eq!(lines, MESSAGES);
    let (ok, lines, stderr) = export(&url, dir.path(), false).await;
    assert!(ok, "{stderr}");
    assert_eq!(lines, MESSAGES + 1, "{stderr}");
}
