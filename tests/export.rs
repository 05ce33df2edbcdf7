//! Export from a store: JSON lines read back by import to the very same messages, HTML and
//! Markdown that stay inert whatever the messages say, incremental marks.

mod common;

use common::*;
use roam::export::since_last::ExportState;
use roam::export::{Format, Part, Plan, export};
use roam::protocol::{Attachment, ChatType, Content, Message};
use roam::store::Store;
use roam::store::export::MessageRange;
use roam::store::import::{ImportOptions, import_reader};
use roam::store::state::StateFile;

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "</div></section><img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "'; alert(1); '",
    "<!-- unclosed comment",
    "]]><![CDATA[",
    "&lt;already escaped&gt; &amp;",
    "<style>body{display:none}</style>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "\u{202e}evil\u{1b}[31m\u{0}\u{7}",
    "line one\n---\n# not a heading\n> not a quote",
    "指数退避で再試行します 👍🏽",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
];

fn messages() -> Vec<Message> {
    let mut out = Vec::new();
    for (i, t) in HOSTILE.iter().enumerate() {
        let (from, to, kind) = match i % 3 {
            0 => ("alice", "bob", ChatType::Single),
            1 => ("carol", "team", ChatType::Group),
            _ => ("dave", "lobby", ChatType::Room),
        };
        // Over several days, so there are day headings.
        let time = 1_700_000_000_000 + i as i64 * 40_000_000;
        out.push(text(BASE_ID + i as u64, time, from, to, kind, t));
    }
    let mut file = image(
        BASE_ID + 100,
        1_700_000_000_500,
        "bob",
        "alice",
        ChatType::Single,
    );
    if let Content::Image { file: f, .. } = &mut file.content {
        *f = Attachment {
            filename: "<img src=x onerror=alert(1)>.png".into(),
            ..f.clone()
        };
    }
    out.push(file);
    out
}

/// The state: a hostile nickname and group name.
const STATE: &str = r#"{
  "users": [{"name": "carol", "nickname": "<script>alert('nick')</script>"}],
  "groups": [{"id": "team", "name": "</h2><script>alert('group')</script>", "members": ["carol"]}]
}"#;

fn store_from(lines: &str) -> Store {
    let mut store = Store::open_in_memory().expect("store");
    let summary = import_reader(
        &mut store,
        "export",
        lines.as_bytes(),
        &ImportOptions::default(),
    )
    .expect("import");
    assert!(summary.is_complete(), "{summary}");
    store
}

fn plan_all(store: &Store) -> Plan {
    Plan {
        parts: store
            .stored_conversations(None)
            .expect("conversations")
            .into_iter()
            .map(|conversation| Part {
                conversation,
                range: MessageRange::default(),
            })
            .collect(),
        zone: Some(jiff::tz::TimeZone::UTC),
        user: None,
    }
}

fn exported(store: &Store, plan: &Plan, format: Format) -> String {
    let mut out = Vec::new();
    export(store, plan, format, &mut out).expect("export");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn jsonl_export_imports_back_to_the_same_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source: String = messages().iter().map(|m| line(m) + "\n").collect();
    let first = dir.path().join("first.sqlite");
    let mut store = Store::open(&first).expect("store");
    import_reader(
        &mut store,
        "export",
        source.as_bytes(),
        &ImportOptions::default(),
    )
    .expect("import");
    let jsonl = exported(&store, &plan_all(&store), Format::Jsonl);
    assert_eq!(jsonl.lines().count(), messages().len());
    let second = dir.path().join("second.sqlite");
    let mut again = Store::open(&second).expect("store");
    let summary = import_reader(
        &mut again,
        "exported",
        jsonl.as_bytes(),
        &ImportOptions::default(),
    )
    .expect("import");
    assert!(summary.is_complete(), "{summary}");
    assert_eq!(dump(&second), dump(&first));
    // And exporting the copy gives the same file.
    assert_eq!(exported(&again, &plan_all(&again), Format::Jsonl), jsonl);
}

/// The tags an HTML export may hold: roam's own page, nothing from a message.
const PAGE_TAGS: &[&str] = &[
    "html", "head", "meta", "title", "style", "body", "header", "input", "span", "h1", "nav", "h2",
    "ul", "li", "a", "main", "section", "div", "h3", "script",
];

#[test]
fn html_export_is_inert_whatever_the_messages_say() {
    let source: String = messages().iter().map(|m| line(m) + "\n").collect();
    let mut store = store_from(&source);
    store
        .apply_state(&StateFile::parse(STATE).expect("state"))
        .expect("apply");
    let html = exported(&store, &plan_all(&store), Format::Html);
    // One script, roam's own, at the end; allowed by its hash only.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("script-src 'sha256-"), "{html}");
    assert!(html.contains("default-src 'none'"));
    let tag = regex::Regex::new(r"<\s*/?\s*([A-Za-z!?][A-Za-z0-9-]*)").expect("regex");
    let (page, script) = html.rsplit_once("<script>").expect("the script");
    assert!(
        script.starts_with("\n(function () {"),
        "roam's own script: {script}"
    );
    for found in tag.captures_iter(page) {
        let name = found[1].to_ascii_lowercase();
        assert!(
            PAGE_TAGS.contains(&name.as_str()) || name == "!doctype",
            "tag {name:?} from a message in {html}"
        );
    }
    for (open, close) in [
        ("<div", "</div>"),
        ("<section", "</section>"),
        ("<span", "</span>"),
    ] {
        assert_eq!(
            html.matches(open).count(),
            html.matches(close).count(),
            "{open}"
        );
    }
    // Nothing is fetched: no tag has a source or a link to elsewhere.
    let whole_tag = regex::Regex::new(r"<[A-Za-z][^>]*>").expect("regex");
    let handler = regex::Regex::new(r"(?i)\son[a-z]+\s*=").expect("regex");
    for t in whole_tag.find_iter(page) {
        let t = t.as_str();
        assert!(!t.contains("src=") && !handler.is_match(t), "{t}");
        assert!(!t.contains("href=") || t.starts_with("<a href=\"#c"), "{t}");
    }
    assert!(!html.contains(['\u{0}', '\u{7}', '\u{1b}']));
    // The text is all there, escaped.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("指数退避で再試行します 👍🏽"));
    assert!(html.contains("&lt;script&gt;alert(&#39;nick&#39;)&lt;/script&gt; (carol)"));
    // A table of contents, day headings and the find box.
    assert!(html.contains("<nav>") && html.contains("href=\"#c0\""));
    assert!(html.contains("<h3>2023-11-14 Tuesday</h3>"), "{html}");
    assert!(html.contains("id=\"find\""));
}

#[test]
fn markdown_export_is_readable_and_escaped() {
    let source: String = messages().iter().map(|m| line(m) + "\n").collect();
    let mut store = store_from(&source);
    store
        .apply_state(&StateFile::parse(STATE).expect("state"))
        .expect("apply");
    let md = exported(&store, &plan_all(&store), Format::Markdown);
    // Every `<` is escaped: none can open HTML.
    let raw = regex::Regex::new(r"(^|[^\\])<").expect("regex");
    assert!(!raw.is_match(&md), "{md}");
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"), "{md}");
    assert!(
        md.contains("\n\\---") && md.contains("\n\\# not a heading"),
        "{md}"
    );
    assert!(md.contains("## 2023-11-14 Tuesday"), "{md}");
    assert!(md.contains("# alice ↔ bob"), "{md}");
    assert!(md.contains("指数退避で再試行します 👍🏽"));
}

#[test]
fn incremental_marks_export_only_what_is_newer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("series.jsonl");
    let all = alice_bob(30);
    let mut store = Store::open_in_memory().expect("store");
    // Split between milliseconds: a mark is a (time, id), and a message that arrives later
    // but sorts before it is not new (see `since_last`).
    store.insert_messages(&all[..21]).expect("insert");
    let mut state = ExportState::load(&out, Format::Jsonl).expect("new state");
    let run = |store: &Store, state: &ExportState| {
        let mut plan = plan_all(store);
        for part in &mut plan.parts {
            part.range.after = state.after(&part.conversation.name);
        }
        let mut text = Vec::new();
        let summary = export(store, &plan, Format::Jsonl, &mut text).expect("export");
        (String::from_utf8(text).expect("UTF-8"), summary)
    };
    let (first, summary) = run(&store, &state);
    state.advance(&summary);
    state.save(&out).expect("save");
    let mut state = ExportState::load(&out, Format::Jsonl).expect("saved state");
    store.insert_messages(&all[21..]).expect("insert");
    let (second, summary) = run(&store, &state);
    state.advance(&summary);
    let (third, _) = run(&store, &state);
    assert_eq!(first.lines().count(), 21);
    assert_eq!(second.lines().count(), 9);
    assert_eq!(third, "");
    let whole = exported(&store, &plan_all(&store), Format::Jsonl);
    assert_eq!(first + &second, whole);
    assert!(
        ExportState::load(&out, Format::Markdown).is_err(),
        "formats do not mix"
    );
}
