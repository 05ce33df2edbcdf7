//! `roam search` and `roam export` on the demo's database and on store files; search also
//! on the demo loaded into PostgreSQL (`--db postgres://...`, when a cluster can be had),
//! where it must print what it prints from the SQLite file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use roam::protocol::Content;
use roam::protocol::json::MessageJson;

/// The binary's demo cache, inside the build's temp dir, imported once per test binary.
fn cli_cache() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("search_export-cache");
        roam::embedded::demo_database(&dir).expect("demo database for the CLI");
        dir
    })
}

fn demo_db() -> PathBuf {
    roam::embedded::demo_database(cli_cache()).expect("demo database")
}

fn roam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(args)
        .env("ROAM_CACHE_DIR", cli_cache())
        .env("ROAM_CONFIG", cli_cache().join("no-config.toml"))
        .env("ROAM_DATA_DIR", cli_cache().join("data"))
        .env("TZ", "UTC")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("roam runs")
}

/// The demo's history and state imported into a PostgreSQL database by `roam import`, once
/// per test binary; `None` without a cluster.
fn demo_pg() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let (_, url) = common::postgres::database("search_demo")?;
        let dir = tempfile::tempdir().expect("temp dir");
        let history = dir.path().join("demo-history.jsonl.gz");
        std::fs::write(&history, roam::embedded::DEMO_HISTORY).expect("history");
        // Without the demo's one plain password: hashing it properly is slow and beside
        // the point here.
        let mut state: serde_json::Value =
            serde_json::from_str(roam::embedded::DEMO_STATE).expect("state");
        for user in state["users"].as_array_mut().expect("users") {
            user.as_object_mut().expect("user").remove("password");
        }
        let state_file = dir.path().join("state.json");
        std::fs::write(&state_file, state.to_string()).expect("state");
        ok(&[
            "import",
            "--quiet",
            "--db",
            &url,
            "--state",
            state_file.to_str().expect("path"),
            history.to_str().expect("path"),
        ]);
        Some(url)
    })
    .as_deref()
}

/// `--db` for the demo on each back end present: its SQLite file, and PostgreSQL.
fn demo_dbs() -> Vec<String> {
    let mut dbs = vec![demo_db().to_str().expect("path").to_string()];
    dbs.extend(demo_pg().map(str::to_string));
    dbs
}

fn ok(args: &[&str]) -> String {
    let out = roam(args);
    assert!(
        out.status.success(),
        "roam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// What search looks at, written out again for the brute force.
fn searchable(content: &Content) -> String {
    match content {
        Content::Text { text } => text.clone(),
        Content::Image { file, .. }
        | Content::Video { file, .. }
        | Content::Audio { file, .. }
        | Content::File { file } => file.filename.clone(),
        Content::Location {
            address, building, ..
        } => format!("{address}\n{}", building.as_deref().unwrap_or_default()),
        Content::Combined {
            title,
            summary,
            text,
            ..
        } => format!("{title}\n{summary}\n{text}"),
        _ => String::new(),
    }
}

/// Every message of a store file whose searchable text holds `needle` (ASCII case
/// folded), by looking at each: (id, time), sorted.
fn brute_force(db: &Path, needle: &str) -> Vec<(u64, i64)> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare("SELECT id, time, chat_type, json FROM messages")
        .expect("prepare");
    let needle = needle.to_lowercase();
    let mut found: Vec<(u64, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .expect("query")
        .filter_map(|row| {
            let (stored, time, kind, json) = row.expect("row");
            let id = roam::store::schema::id_from_sql(stored);
            let form: MessageJson = serde_json::from_str(&json).ok()?;
            let kind = roam::store::schema::kind_from_sql(kind);
            let message = form.to_message(id, time, Some(kind)).ok()?;
            searchable(&message.content)
                .to_lowercase()
                .contains(&needle)
                .then_some((id, time))
        })
        .collect();
    found.sort();
    found
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn search_finds_every_occurrence_in_the_demo() {
    for db in demo_dbs() {
        every_occurrence_in_the_demo(&db);
    }
}

fn every_occurrence_in_the_demo(db: &str) {
    for needle in ["退避", "sqlite"] {
        let out = ok(&["search", needle, "--json", "--limit", "1000000", "--db", db]);
        let lines = json_lines(&out);
        let (state, hits) = lines.split_last().expect("lines");
        assert_eq!(state["is_last"], true, "{state}");
        let mut found: Vec<(u64, i64)> = hits
            .iter()
            .map(|h| {
                let id = h["id"].as_str().expect("id as a string");
                (
                    id.parse().expect("an id"),
                    h["time"].as_i64().expect("time"),
                )
            })
            .collect();
        let times: Vec<i64> = found.iter().map(|f| f.1).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
        for h in hits {
            let snippet = h["snippet"].as_str().expect("snippet");
            let range = h["match"].as_array().expect("match");
            let (a, b) = (
                range[0].as_u64().expect("a") as usize,
                range[1].as_u64().expect("b") as usize,
            );
            assert_eq!(snippet[a..b].to_lowercase(), needle, "{h}");
        }
        found.sort();
        let expected = brute_force(&demo_db(), needle);
        assert!(expected.len() > 50, "{needle}: the demo talks about it");
        let missing: Vec<_> = expected
            .iter()
            .filter(|e| !found.contains(e))
            .take(5)
            .collect();
        let extra: Vec<_> = found
            .iter()
            .filter(|f| !expected.contains(f))
            .take(5)
            .collect();
        assert!(
            found == expected,
            "{needle}: found {} of {}; missing {missing:?}, extra {extra:?}",
            found.len(),
            expected.len()
        );
        // More than one conversation holds it.
        let convs: std::collections::BTreeSet<&str> = hits
            .iter()
            .map(|h| h["conversation"].as_str().expect("c"))
            .collect();
        assert!(convs.len() > 1, "{needle}: {convs:?}");
    }
}

#[test]
fn search_text_names_people_and_filters_narrow() {
    for db in demo_dbs() {
        text_names_people_and_filters_narrow(&db);
    }
    let bad = roam(&["search", "x", "--db", "/nonexistent/roam.sqlite"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not exist"));
}

fn text_names_people_and_filters_narrow(db: &str) {
    let text = ok(&["search", "退避", "--limit", "3", "--db", db]);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("roam dev team (262857469362177)"), "{text}");
    assert!(text.contains("(li.wei)"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no highlight off a terminal: {text:?}"
    );
    let narrowed = json_lines(&ok(&[
        "search",
        "sqlite",
        "--in",
        "262857469362177",
        "--from",
        "omar.haddad",
        "--type",
        "txt",
        "--since",
        "2025-06-01",
        "--json",
        "--limit",
        "100000",
        "--db",
        db,
    ]));
    let (_, hits) = narrowed.split_last().expect("lines");
    assert!(!hits.is_empty());
    for h in hits {
        assert_eq!(h["conversation"], "262857469362177");
        assert_eq!(h["from"], "omar.haddad");
        assert!(h["time"].as_i64().expect("time") >= 1_748_736_000_000);
    }
    let bad = roam(&["search", "(", "--regex", "--db", db]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("regex"));
}

/// The JSON Lines of `roam search` run page by page with `--cursor` until the last:
/// each page's output.
fn json_pages(db: &str, args: &[&str], limit: &str, most: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..most {
        let mut all: Vec<&str> = vec!["search", "--json", "--limit", limit, "--db", db];
        all.extend_from_slice(args);
        if let Some(c) = &cursor {
            all.extend_from_slice(&["--cursor", c]);
        }
        let page = ok(&all);
        let lines = json_lines(&page);
        let state = lines.last().expect("the paging state");
        out.push(page.clone());
        match state["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return out,
        }
    }
    out
}

#[test]
fn search_on_postgresql_prints_what_it_prints_from_the_file() {
    let Some(pg) = demo_pg() else {
        return;
    };
    let file = demo_db();
    let file = file.to_str().expect("path");
    let queries: [&[&str]; 7] = [
        &["退避"],
        &["避"],
        &["sqlite"],
        &["e"],
        &["sq(l|ｌ)", "--regex"],
        &["sqlite", "--in", "262857469362177", "--since", "2025-06-01"],
        &["the", "--from", "omar.haddad", "--type", "txt"],
    ];
    for args in queries {
        // Everything at once, and page by page through the cursor (to the end, or the
        // first pages of a needle found everywhere).
        let whole = json_pages(file, args, "1000000", 1);
        assert_eq!(json_pages(pg, args, "1000000", 1), whole, "{args:?}");
        let paged = json_pages(file, args, "7", 6);
        assert_eq!(json_pages(pg, args, "7", 6), paged, "{args:?}");
        // Paging skips nothing and repeats nothing.
        let ids = |pages: &[String]| -> Vec<String> {
            pages
                .iter()
                .flat_map(|p| json_lines(p))
                .filter_map(|l| l["id"].as_str().map(str::to_string))
                .collect()
        };
        let all = ids(&whole);
        let walked = ids(&paged);
        assert!(!all.is_empty(), "{args:?}");
        assert_eq!(walked, all[..walked.len()], "{args:?}");
    }
    let text = ok(&["search", "退避", "--limit", "3", "--db", pg]);
    assert!(text.contains("roam dev team (262857469362177)"), "{text}");
    // The password never shows, even when the database refuses.
    let bad = roam(&["search", "x", "--db", &format!("{pg}_missing")]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    let password = common::postgres::cluster().expect("cluster").password();
    assert!(!err.contains(password), "{err}");
}

#[test]
fn the_demo_exported_as_jsonl_imports_back_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("all.jsonl");
    let copy = dir.path().join("copy.sqlite");
    ok(&[
        "export",
        "--all",
        "--format",
        "jsonl",
        "-o",
        file.to_str().expect("path"),
    ]);
    ok(&[
        "import",
        "--quiet",
        "--db",
        copy.to_str().expect("path"),
        file.to_str().expect("path"),
    ]);
    assert_eq!(common::dump(&copy), common::dump(&demo_db()));
}

#[test]
fn the_demo_exports_as_one_html_page_and_as_markdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("all.html");
    ok(&[
        "export",
        "--all",
        "--format",
        "html",
        "-o",
        file.to_str().expect("path"),
    ]);
    let html = std::fs::read_to_string(&file).expect("written");
    let total: i64 = rusqlite::Connection::open(demo_db())
        .expect("open")
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("count");
    assert_eq!(html.matches("<div class=\"m\"").count() as i64, total);
    assert!(html.contains("<nav>") && html.contains("roam dev team (262857469362177)"));
    assert_eq!(html.matches("<script").count(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let md = ok(&[
        "export",
        "262857469362177",
        "--format",
        "markdown",
        "--since",
        "2025-06-29",
        "--until",
        "2025-06-29",
    ]);
    assert!(md.starts_with("# roam dev team (262857469362177)"), "{md}");
    assert!(md.contains("## 2025-06-29 Sunday"), "{md}");
    assert!(!md.contains("## 2025-06-28"), "{md}");
    let md_for_user = ok(&[
        "export", "--all", "--user", "li.wei", "--format", "markdown",
    ]);
    assert!(md_for_user.contains("# roam dev team (262857469362177)"));
}

#[test]
fn since_last_appends_only_what_is_new() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.sqlite");
    let out = dir.path().join("series.jsonl");
    let all = common::alice_bob(60);
    let write = |name: &str, messages: &[roam::protocol::Message]| {
        let path = dir.path().join(name);
        let text: String = messages.iter().map(|m| common::line(m) + "\n").collect();
        std::fs::write(&path, text).expect("write");
        path
    };
    let first = write("first.jsonl", &all[..30]);
    let second = write("second.jsonl", &all[30..]);
    let (db_arg, out_arg) = (db.to_str().expect("path"), out.to_str().expect("path"));
    let export = || {
        ok(&[
            "export",
            "--all",
            "--format",
            "jsonl",
            "--since-last",
            "-o",
            out_arg,
            "--db",
            db_arg,
        ])
    };
    ok(&[
        "import",
        "--quiet",
        "--db",
        db_arg,
        first.to_str().expect("path"),
    ]);
    export();
    assert_eq!(
        std::fs::read_to_string(&out).expect("out").lines().count(),
        30
    );
    assert!(dir.path().join("series.jsonl.roam-export.json").exists());
    ok(&[
        "import",
        "--quiet",
        "--db",
        db_arg,
        second.to_str().expect("path"),
    ]);
    export();
    export();
    let series = std::fs::read_to_string(&out).expect("out");
    let whole = ok(&["export", "--all", "--format", "jsonl", "--db", db_arg]);
    assert_eq!(series, whole);
    let bad = roam(&[
        "export",
        "--all",
        "--format",
        "html",
        "--since-last",
        "-o",
        out_arg,
        "--db",
        db_arg,
    ]);
    assert!(!bad.status.success());
    let bad = roam(&["export", "--format", "jsonl", "--db", db_arg]);
    assert!(!bad.status.success(), "neither ids nor --all");
}
