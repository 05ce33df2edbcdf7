//! Attachments end to end (PROTOCOL.md §8.3, issue 9 points 4-6): safe download names,
//! links that may be opened, the embedded server's `chatfiles` endpoint with its
//! share-secret refusals, ranges, thumbnails and expired files, roam's client downloading
//! over loopback (never overwriting, cancellable, capped), `roam import`'s `files/`
//! folder, and `roam download` against the demo.
//!
//! The database: alice, bob and carol can log in. alice sent bob a PDF (secret), a 10 MB
//! file, a picture with a thumbnail, a file without a secret and two files the store does
//! not hold (one never loaded, one past its expiry); alice sent the group TEAM (alice
//! only) a file.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::backends::{db_arg, each_backend, fresh_db};
use common::*;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, RANGE};
use roam::client::{
    Client, ClientConfig, ClientError, Credential, DownloadError, DownloadOptions, SaveTo,
};
use roam::downloads::{MAX_NAME_BYTES, safe_file_name};
use roam::links::{LinkRefusal, check_link, links_in_text};
use roam::protocol::{Attachment, ChatType, Content, Message};
use roam::server::{ServerConfig, ServerHandle, spawn_over};
use roam::store::state::StateFile;
use roam::store::{Db, Store};
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";
const TEAM: &str = "262857469362177";
const PDF: &str = "0c0f5f3a-e66b-11e3-8863-f1c202c2b3ae";
const BIG: &str = "1b1b1b1b-e66b-11e3-8863-f1c202c2b3ae";
const PICTURE: &str = "2c2c2c2c-e66b-11e3-8863-f1c202c2b3ae";
const OPEN: &str = "3d3d3d3d-e66b-11e3-8863-f1c202c2b3ae";
const NEVER_LOADED: &str = "4e4e4e4e-e66b-11e3-8863-f1c202c2b3ae";
const PAST_EXPIRY: &str = "5f5f5f5f-e66b-11e3-8863-f1c202c2b3ae";
const TEAM_FILE: &str = "6a6a6a6a-e66b-11e3-8863-f1c202c2b3ae";
const SECRET: &str = "DRGM8OZrEeO1vafuJSo2IjHBeKlIhDp0GCnFu54xOF3M6KLr";
const BIG_LEN: usize = 10 << 20;

fn pdf_bytes() -> Vec<u8> {
    b"%PDF-1.4\nnot really a document, but bytes to compare\n%%EOF\n".to_vec()
}

fn big_bytes() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

fn attachment(uuid: &str, secret: Option<&str>, name: &str) -> Attachment {
    Attachment {
        url: format!("https://a1.easemob.com/acme/chatapp/chatfiles/{uuid}"),
        secret: secret.map(str::to_string),
        filename: name.into(),
        file_length: None,
    }
}

fn file_message(id: u64, to: &str, kind: ChatType, file: Attachment) -> Message {
    Message {
        content: Content::File { file },
        ..text(
            id,
            1_700_000_000_000 + id as i64 % 1000,
            "alice",
            to,
            kind,
            "",
        )
    }
}

/// A file the fixture stores: uuid, bytes, thumbnail, expiry.
type StoredFile<'a> = (&'a str, &'a [u8], Option<&'a [u8]>, Option<i64>);

async fn store() -> Db {
    let store = fresh_db("files").await;
    let messages = vec![
        file_message(
            BASE_ID,
            "bob",
            ChatType::Single,
            attachment(PDF, Some(SECRET), "report.pdf"),
        ),
        file_message(
            BASE_ID + 1,
            "bob",
            ChatType::Single,
            attachment(BIG, Some(SECRET), "big.bin"),
        ),
        Message {
            content: Content::Image {
                file: attachment(PICTURE, Some(SECRET), "p.png"),
                size: None,
                gif: false,
            },
            ..text(
                BASE_ID + 2,
                1_700_000_000_002,
                "alice",
                "bob",
                ChatType::Single,
                "",
            )
        },
        file_message(
            BASE_ID + 3,
            "bob",
            ChatType::Single,
            attachment(OPEN, None, "open.txt"),
        ),
        file_message(
            BASE_ID + 4,
            "bob",
            ChatType::Single,
            attachment(NEVER_LOADED, Some(SECRET), "old.pdf"),
        ),
        file_message(
            BASE_ID + 5,
            "bob",
            ChatType::Single,
            attachment(PAST_EXPIRY, Some(SECRET), "gone.pdf"),
        ),
        file_message(
            BASE_ID + 6,
            TEAM,
            ChatType::Group,
            attachment(TEAM_FILE, Some(SECRET), "team.pdf"),
        ),
    ];
    store.insert_messages(&messages).await.expect("insert");
    let state = json!({
        "users": [
            {"name": "alice", "password": "pw-alice"},
            {"name": "bob", "password": "pw-bob"},
            {"name": "carol", "password": "pw-carol"}
        ],
        "groups": [{"id": TEAM, "members": ["alice"]}]
    });
    store
        .apply_state(&StateFile::parse(&state.to_string()).expect("state"))
        .await
        .expect("state applies");
    let files: [StoredFile; 6] = [
        (PDF, &pdf_bytes(), None, None),
        (BIG, &big_bytes(), None, None),
        (PICTURE, b"the full picture", Some(b"thumb"), None),
        (OPEN, b"open to all who read it", None, None),
        (PAST_EXPIRY, b"expired bytes", None, Some(1_000)),
        (TEAM_FILE, b"team only", None, None),
    ];
    for (uuid, bytes, thumb, expires) in files {
        store
            .put_file(uuid, "application/octet-stream", bytes, thumb, expires)
            .await
            .expect("put file");
    }
    store
}

async fn server() -> ServerHandle {
    spawn_over(store().await, ServerConfig::new(APPKEY), None)
        .await
        .expect("server starts")
}

fn client(server: &ServerHandle, user: &str) -> Client {
    Client::new(ClientConfig::new(
        server.base_url(),
        APPKEY,
        user,
        Credential::Password(format!("pw-{user}")),
    ))
    .expect("client")
}

async fn login(server: &ServerHandle, user: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/acme/chatapp/token", server.base_url()))
        .json(&json!({"grant_type":"password","username":user,"password":format!("pw-{user}")}))
        .send()
        .await
        .expect("token call")
        .json()
        .await
        .expect("json");
    body["access_token"].as_str().expect("token").to_string()
}

/// `GET chatfiles/{uuid}` with a token and extra headers: status, headers, body bytes.
async fn get_file(
    server: &ServerHandle,
    token: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(format!(
        "{}/acme/chatapp/chatfiles/{path}",
        server.base_url()
    ));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("body").to_vec())
}

fn error_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("a JSON error body");
    v["error"].as_str().unwrap_or_default().to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Names and links
// ---------------------------------------------------------------------------------------

#[test]
fn hostile_download_names_become_safe_file_names() {
    assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
    assert_eq!(safe_file_name("..\\..\\windows\\system.ini"), "system.ini");
    let osc = safe_file_name("a\x1b]0;x\x07.pdf");
    assert!(!osc.chars().any(char::is_control), "{osc:?}");
    assert_eq!(osc, "a]0;x.pdf");
    assert_eq!(safe_file_name("\u{202e}fdp.exe"), "fdp.exe");
    for empty in ["", ".", "..", "...", " ", "\x1b", "dir/", "/"] {
        assert_eq!(safe_file_name(empty), "download", "{empty:?}");
    }
    assert_eq!(safe_file_name(".bashrc"), "bashrc");
    let long = format!("{}.pdf", "x".repeat(10_000));
    let cut = safe_file_name(&long);
    assert!(
        cut.len() <= MAX_NAME_BYTES && cut.ends_with(".pdf"),
        "{}",
        cut.len()
    );
    // Multi-byte characters are cut at a boundary, never inside one.
    let wide = format!("{}.pdf", "界".repeat(10_000));
    let cut = safe_file_name(&wide);
    assert!(cut.len() <= MAX_NAME_BYTES && cut.ends_with(".pdf"));
    assert!(cut.trim_end_matches(".pdf").chars().all(|c| c == '界'));
}

#[test]
fn only_http_links_without_controls_may_be_opened() {
    for (url, refusal) in [
        ("file:///etc/passwd", LinkRefusal::Scheme("file".into())),
        (
            "javascript:alert(1)",
            LinkRefusal::Scheme("javascript".into()),
        ),
        (
            "data:text/html,<script>x</script>",
            LinkRefusal::Scheme("data".into()),
        ),
        ("https://example.com/a\nb", LinkRefusal::Controls),
        ("https://example.com/\x1b]0;x\x07", LinkRefusal::Controls),
        ("https://exa\u{202e}mple.com/", LinkRefusal::Controls),
        ("not a url", LinkRefusal::Controls),
        ("nothing", LinkRefusal::Unparsable),
    ] {
        assert_eq!(check_link(url), Err(refusal), "{url:?}");
    }
    let ok = check_link("https://user@evil.example:8443/x?y=1").expect("https");
    assert_eq!(ok.host, "evil.example", "the host, never the user part");
    let idn = check_link("http://bücher.example/").expect("IDN");
    assert_eq!(idn.host, "xn--bcher-kva.example", "shown as ASCII");
    let found = links_in_text("go to javascript:alert(1) or https://ok.example/a. or file:///x");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].url, "https://ok.example/a");
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_share_secret_opens_a_file_and_its_absence_or_a_wrong_one_does_not() {
    each_backend(the_share_secret_opens_a_file_and_its_absence_or_a_wrong_one_does_not_on).await;
}

async fn the_share_secret_opens_a_file_and_its_absence_or_a_wrong_one_does_not_on() {
    let server = server().await;
    let alice = login(&server, "alice").await;
    let (status, _, body) = get_file(&server, None, PDF, &[("share-secret", SECRET)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");
    let (status, _, body) = get_file(&server, Some(&alice), PDF, &[]).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _, body) =
        get_file(&server, Some(&alice), PDF, &[("share-secret", "wrong")]).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden_op")
    );
    assert!(!String::from_utf8_lossy(&body).contains("wrong"));
    let (status, headers, body) =
        get_file(&server, Some(&alice), PDF, &[("share-secret", SECRET)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pdf_bytes());
    assert_eq!(headers[ACCEPT_RANGES], "bytes");
    // The SDK's URL form, with the secret in the query; the uuid in any case.
    let sdk = format!(
        "{}?em-redirect=true&share-secret={SECRET}",
        PDF.to_uppercase()
    );
    let (status, _, body) = get_file(&server, Some(&alice), &sdk, &[]).await;
    assert_eq!((status, body), (StatusCode::OK, pdf_bytes()));
    // The receiver reads it too; a file without a secret needs none.
    let bob = login(&server, "bob").await;
    let (status, _, _) = get_file(&server, Some(&bob), PDF, &[("share-secret", SECRET)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = get_file(&server, Some(&bob), OPEN, &[]).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, b"open to all who read it".to_vec())
    );
}

#[tokio::test]
async fn a_file_is_only_for_readers_of_a_message_naming_it() {
    each_backend(a_file_is_only_for_readers_of_a_message_naming_it_on).await;
}

async fn a_file_is_only_for_readers_of_a_message_naming_it_on() {
    let server = server().await;
    let carol = login(&server, "carol").await;
    let bob = login(&server, "bob").await;
    // carol holds the secret but reads neither the single chat nor the group: to her the
    // files do not exist, like a uuid nobody named.
    for (token, uuid) in [
        (&carol, PDF),
        (&carol, TEAM_FILE),
        (&bob, TEAM_FILE),
        (&carol, "7b7b7b7b-0000"),
    ] {
        let (status, _, body) =
            get_file(&server, Some(token), uuid, &[("share-secret", SECRET)]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::NOT_FOUND, "entity_not_found"),
            "{uuid}"
        );
    }
    let alice = login(&server, "alice").await;
    let (status, _, body) = get_file(
        &server,
        Some(&alice),
        TEAM_FILE,
        &[("share-secret", SECRET)],
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, b"team only".to_vec()));
    for hostile in ["..%2F..%2Fetc%2Fpasswd", "%1B%5D0%3Bx%07", &"a".repeat(200)] {
        let (status, _, body) = get_file(&server, Some(&alice), hostile, &[]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::NOT_FOUND, "entity_not_found")
        );
    }
}

#[tokio::test]
async fn files_gone_from_the_store_answer_file_expired() {
    each_backend(files_gone_from_the_store_answer_file_expired_on).await;
}

async fn files_gone_from_the_store_answer_file_expired_on() {
    let server = server().await;
    let bob = login(&server, "bob").await;
    for uuid in [NEVER_LOADED, PAST_EXPIRY] {
        let (status, _, body) =
            get_file(&server, Some(&bob), uuid, &[("share-secret", SECRET)]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::NOT_FOUND, "file_expired"),
            "{uuid}"
        );
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error_description"], format!("file {uuid} is expired"));
    }
    // The secret is checked first: an expired file tells nothing to a wrong secret.
    let (status, _, _) =
        get_file(&server, Some(&bob), NEVER_LOADED, &[("share-secret", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_byte_range_is_served_and_one_past_the_end_is_416() {
    each_backend(one_byte_range_is_served_and_one_past_the_end_is_416_on).await;
}

async fn one_byte_range_is_served_and_one_past_the_end_is_416_on() {
    let server = server().await;
    let bob = login(&server, "bob").await;
    let pdf = pdf_bytes();
    let len = pdf.len();
    let s = ("share-secret", SECRET);
    let (status, headers, body) = get_file(
        &server,
        Some(&bob),
        PDF,
        &[s, (RANGE.as_str(), "bytes=0-3")],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, b"%PDF");
    assert_eq!(headers[CONTENT_RANGE], format!("bytes 0-3/{len}").as_str());
    assert_eq!(headers[ACCEPT_RANGES], "bytes");
    let (status, _, body) =
        get_file(&server, Some(&bob), PDF, &[s, (RANGE.as_str(), "bytes=-6")]).await;
    assert_eq!(
        (status, body),
        (StatusCode::PARTIAL_CONTENT, pdf[len - 6..].to_vec())
    );
    let (status, _, body) =
        get_file(&server, Some(&bob), PDF, &[s, (RANGE.as_str(), "bytes=9-")]).await;
    assert_eq!(
        (status, body),
        (StatusCode::PARTIAL_CONTENT, pdf[9..].to_vec())
    );
    let past = format!("bytes={len}-");
    let (status, headers, _) =
        get_file(&server, Some(&bob), PDF, &[s, (RANGE.as_str(), &past)]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(headers[CONTENT_RANGE], format!("bytes */{len}").as_str());
    // Several ranges: the whole file.
    let (status, _, body) = get_file(
        &server,
        Some(&bob),
        PDF,
        &[s, (RANGE.as_str(), "bytes=0-1,4-5")],
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, pdf));
    // A range of the 10 MB file.
    let (status, _, body) = get_file(
        &server,
        Some(&bob),
        BIG,
        &[s, (RANGE.as_str(), "bytes=5000000-5000009")],
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::PARTIAL_CONTENT,
            big_bytes()[5_000_000..5_000_010].to_vec()
        )
    );
}

#[tokio::test]
async fn the_thumbnail_header_gets_the_stored_thumbnail_or_the_file() {
    each_backend(the_thumbnail_header_gets_the_stored_thumbnail_or_the_file_on).await;
}

async fn the_thumbnail_header_gets_the_stored_thumbnail_or_the_file_on() {
    let server = server().await;
    let bob = login(&server, "bob").await;
    let s = ("share-secret", SECRET);
    let (_, _, body) = get_file(&server, Some(&bob), PICTURE, &[s, ("thumbnail", "true")]).await;
    assert_eq!(body, b"thumb");
    let query = format!("{PICTURE}?thumbnail=true&share-secret={SECRET}");
    let (_, _, body) = get_file(&server, Some(&bob), &query, &[]).await;
    assert_eq!(body, b"thumb");
    let (_, _, body) = get_file(&server, Some(&bob), PICTURE, &[s]).await;
    assert_eq!(body, b"the full picture");
    let (_, _, body) = get_file(&server, Some(&bob), PDF, &[s, ("thumbnail", "true")]).await;
    assert_eq!(body, pdf_bytes(), "no thumbnail stored: the file");
}

// ---------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_client_downloads_into_a_folder_and_never_overwrites() {
    each_backend(the_client_downloads_into_a_folder_and_never_overwrites_on).await;
}

async fn the_client_downloads_into_a_folder_and_never_overwrites_on() {
    let server = server().await;
    let bob = client(&server, "bob");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("report.pdf"), b"mine").expect("existing file");
    let file = attachment(PDF, Some(SECRET), "../../report.pdf");
    let mut seen = Vec::new();
    let saved = bob
        .download_to(
            &file,
            SaveTo::Dir(dir.path()),
            &DownloadOptions::default(),
            &mut |p| seen.push(p),
        )
        .await
        .expect("download");
    assert_eq!(saved, dir.path().join("report (1).pdf"));
    assert_eq!(std::fs::read(&saved).expect("read"), pdf_bytes());
    assert_eq!(
        std::fs::read(dir.path().join("report.pdf")).expect("read"),
        b"mine"
    );
    let last = seen.last().expect("progress");
    assert_eq!(
        (last.received, last.total),
        (pdf_bytes().len() as u64, Some(pdf_bytes().len() as u64))
    );
    let again = bob
        .download_to(
            &file,
            SaveTo::Dir(dir.path()),
            &DownloadOptions::default(),
            &mut |_| {},
        )
        .await
        .expect("download");
    assert_eq!(again, dir.path().join("report (2).pdf"));
    // An exact path that exists is refused, and left alone.
    let refused = bob
        .download_to(
            &file,
            SaveTo::Path(&dir.path().join("report.pdf")),
            &DownloadOptions::default(),
            &mut |_| {},
        )
        .await;
    assert!(
        matches!(refused, Err(DownloadError::Write { .. })),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("report.pdf")).expect("read"),
        b"mine"
    );
    assert_eq!(
        files_in(dir.path()),
        ["report (1).pdf", "report (2).pdf", "report.pdf"]
    );
}

#[tokio::test]
async fn a_ten_megabyte_file_streams_to_disk() {
    each_backend(a_ten_megabyte_file_streams_to_disk_on).await;
}

async fn a_ten_megabyte_file_streams_to_disk_on() {
    let server = server().await;
    let bob = client(&server, "bob");
    let dir = tempfile::tempdir().expect("dir");
    let mut chunks = 0;
    let saved = bob
        .download_to(
            &attachment(BIG, Some(SECRET), "big.bin"),
            SaveTo::Path(&dir.path().join("big.bin")),
            &DownloadOptions::default(),
            &mut |_| chunks += 1,
        )
        .await
        .expect("download");
    assert!(std::fs::read(&saved).expect("read") == big_bytes());
    assert!(chunks > 10, "progress as it arrives, not once: {chunks}");
}

#[tokio::test]
async fn expired_refused_and_foreign_files_are_told_apart() {
    each_backend(expired_refused_and_foreign_files_are_told_apart_on).await;
}

async fn expired_refused_and_foreign_files_are_told_apart_on() {
    let server = server().await;
    let bob = client(&server, "bob");
    let carol = client(&server, "carol");
    let dir = tempfile::tempdir().expect("dir");
    let opts = DownloadOptions::default();
    let to = SaveTo::Dir(dir.path());
    let e = bob
        .download_to(
            &attachment(NEVER_LOADED, Some(SECRET), "old.pdf"),
            to,
            &opts,
            &mut |_| {},
        )
        .await;
    assert!(matches!(e, Err(DownloadError::Expired)), "{e:?}");
    assert_eq!(
        e.err().map(|e| e.to_string()).as_deref(),
        Some("the file has expired on the server")
    );
    let e = bob
        .download_to(
            &attachment(PDF, Some("wrong-secret"), "r.pdf"),
            to,
            &opts,
            &mut |_| {},
        )
        .await;
    match e {
        Err(DownloadError::Client(ClientError::Http {
            status: 403,
            ref description,
            ..
        })) => {
            assert!(!description.contains("wrong-secret"));
        }
        other => panic!("{other:?}"),
    }
    let e = carol
        .download_to(
            &attachment(PDF, Some(SECRET), "r.pdf"),
            to,
            &opts,
            &mut |_| {},
        )
        .await;
    assert!(
        matches!(
            e,
            Err(DownloadError::Client(ClientError::Http { status: 404, .. }))
        ),
        "{e:?}"
    );
    let e = bob
        .download_to(
            &attachment("x", None, "x").clone_with_url("javascript:alert(1)"),
            to,
            &opts,
            &mut |_| {},
        )
        .await;
    assert!(matches!(e, Err(DownloadError::NotAChatFile)), "{e:?}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

trait WithUrl {
    fn clone_with_url(&self, url: &str) -> Attachment;
}

impl WithUrl for Attachment {
    fn clone_with_url(&self, url: &str) -> Attachment {
        Attachment {
            url: url.into(),
            ..self.clone()
        }
    }
}

#[tokio::test]
async fn a_cancelled_or_oversized_download_leaves_nothing() {
    each_backend(a_cancelled_or_oversized_download_leaves_nothing_on).await;
}

async fn a_cancelled_or_oversized_download_leaves_nothing_on() {
    let server = server().await;
    let bob = client(&server, "bob");
    let dir = tempfile::tempdir().expect("dir");
    let big = attachment(BIG, Some(SECRET), "big.bin");
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let options = DownloadOptions {
        cancel: Some(cancelled),
        ..DownloadOptions::default()
    };
    let mut received = 0;
    let e = bob
        .download_to(&big, SaveTo::Dir(dir.path()), &options, &mut |p| {
            received = p.received;
            if p.received > 0 {
                let _ = cancel.send(true);
            }
        })
        .await;
    assert!(matches!(e, Err(DownloadError::Cancelled)), "{e:?}");
    assert!(received > 0 && received < BIG_LEN as u64, "{received}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    let capped = DownloadOptions {
        max_bytes: 1 << 20,
        ..DownloadOptions::default()
    };
    let e = bob
        .download_to(&big, SaveTo::Dir(dir.path()), &capped, &mut |_| {})
        .await;
    assert!(
        matches!(e, Err(DownloadError::TooLarge { limit: 1_048_576 })),
        "{e:?}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

// ---------------------------------------------------------------------------------------
// Import and the demo
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_loads_the_files_folder_beside_an_export() {
    each_backend(import_loads_the_files_folder_beside_an_export_on).await;
}

async fn import_loads_the_files_folder_beside_an_export_on() {
    let dir = tempfile::tempdir().expect("dir");
    let export = dir.path().join("2024060112.jsonl");
    let messages = [
        file_message(
            BASE_ID,
            "bob",
            ChatType::Single,
            attachment(PDF, Some(SECRET), "report.pdf"),
        ),
        file_message(
            BASE_ID + 1,
            "bob",
            ChatType::Single,
            attachment(OPEN, None, "open.png"),
        ),
    ];
    let lines: Vec<String> = messages.iter().map(line).collect();
    std::fs::write(&export, lines.join("\n") + "\n").expect("export");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("files dir");
    std::fs::write(files.join(PDF), pdf_bytes()).expect("pdf");
    std::fs::write(files.join(OPEN), b"png bytes").expect("png");
    std::fs::write(files.join(format!("{OPEN}.thumbnail")), b"thumb").expect("thumb");
    std::fs::write(files.join("7c7c7c7c-nobody-names-it"), b"x").expect("unnamed");
    std::fs::write(files.join("..hidden"), b"x").expect("not a uuid");
    let db = db_arg(dir.path(), "import_files");
    let out = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["import", "--quiet", "--db", &db])
        .arg(&export)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("roam import runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("attachments: 2 stored, 0 already stored, 1 named by no message, 1 skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("..hidden: not a uuid"), "{stderr}");
    let store = Db::open(&db).await.expect("store");
    let access = store
        .file_access(Some("bob"), OPEN)
        .await
        .expect("access")
        .expect("readable");
    let stored = access.stored.expect("stored");
    assert_eq!(
        (stored.content_type.as_str(), stored.thumbnail_length),
        ("image/png", Some(5))
    );
    assert_eq!(
        store.file_bytes(PDF, false, 0..1000).await.expect("bytes"),
        Some(pdf_bytes()),
        "{}",
        store.kind()
    );
}

#[test]
fn downloads_dir_in_the_config_must_be_absolute() {
    use roam::config::Config;
    let path = Path::new("config.toml");
    let ok = Config::parse("downloads_dir = \"/srv/downloads\"\n", path).expect("absolute");
    assert_eq!(
        ok.downloads_dir.as_deref(),
        Some(Path::new("/srv/downloads"))
    );
    assert!(ok.to_toml().contains("downloads_dir = \"/srv/downloads\""));
    let e = Config::parse("downloads_dir = \"relative\"\n", path).expect_err("relative");
    assert!(
        e.to_string()
            .contains("downloads_dir must be an absolute path"),
        "{e}"
    );
}

#[test]
fn roam_download_saves_omars_pdf_from_the_demo() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("files-cache");
    roam::embedded::demo_database(&cache).expect("demo database");
    let out_dir = tempfile::tempdir().expect("dir");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_roam"))
            .args(["download", "omar.haddad", "1100709575807348736", "-o"])
            .arg(out_dir.path())
            .args(extra)
            .env("ROAM_CACHE_DIR", &cache)
            .env("ROAM_CONFIG", cache.join("no-config.toml"))
            .env("ROAM_DATA_DIR", cache.join("data"))
            .env_remove("ROAM_PASSWORD")
            .env_remove("ROAM_TOKEN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("roam download runs")
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = out_dir.path().join("محضر_الاجتماع_دبي.pdf");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        saved.display().to_string()
    );
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        roam::demo::files::pdf()
    );
    // Again: a second name, the first file untouched.
    let out = run(&["--single"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out_dir.path().join("محضر_الاجتماع_دبي (1).pdf").exists());
    // Omar's earlier voice messages in the big group expired long ago.
    let expired = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args([
            "download",
            roam::demo::BIG_CONVERSATION,
            "1100261876413628417",
            "--group",
            "-o",
        ])
        .arg(out_dir.path())
        .env("ROAM_CACHE_DIR", &cache)
        .env("ROAM_CONFIG", cache.join("no-config.toml"))
        .env("ROAM_DATA_DIR", cache.join("data"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("roam download runs");
    assert!(!expired.status.success());
    let stderr = String::from_utf8_lossy(&expired.stderr);
    assert!(stderr.contains("has expired on the server"), "{stderr}");
    assert_eq!(files_in(out_dir.path()).len(), 2);
}

/// A server that streams 2 MiB without announcing a length: the cap counts what arrives.
#[tokio::test]
async fn the_size_cap_counts_bytes_a_server_did_not_announce() {
    use axum::body::Body;
    use axum::routing::get;
    async fn unannounced() -> Body {
        Body::from_stream(futures::stream::iter((0..32).map(|_| {
            Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![7u8; 64 << 10]))
        })))
    }
    let app = axum::Router::new().route("/acme/chatapp/chatfiles/{uuid}", get(unannounced));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::new(ClientConfig::new(
        format!("http://{addr}"),
        APPKEY,
        "bob",
        Credential::Token("a-token".into()),
    ))
    .expect("client");
    let dir = tempfile::tempdir().expect("dir");
    let capped = DownloadOptions {
        max_bytes: 1 << 20,
        ..DownloadOptions::default()
    };
    let mut announced = Some(0);
    let e = client
        .download_to(
            &attachment(BIG, None, "big.bin"),
            SaveTo::Dir(dir.path()),
            &capped,
            &mut |p| {
                announced = p.total;
            },
        )
        .await;
    assert_eq!(announced, None, "the fake server announces no length");
    assert!(matches!(e, Err(DownloadError::TooLarge { .. })), "{e:?}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// A schema-5 database gains the attachment tables, its messages' files linked once.
#[test]
fn schema_step_6_links_the_attachments_of_stored_messages() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("old.sqlite");
    {
        let mut store = Store::open(&db).expect("store");
        store
            .insert_messages(&[file_message(
                BASE_ID,
                "bob",
                ChatType::Single,
                attachment(PDF, Some(SECRET), "report.pdf"),
            )])
            .expect("insert");
    }
    let conn = rusqlite::Connection::open(&db).expect("sqlite");
    conn.execute_batch("DROP TABLE message_files; DROP TABLE files; PRAGMA user_version = 5;")
        .expect("back to version 5");
    drop(conn);
    let store = Store::open(&db).expect("migrated");
    let access = store
        .file_access(Some("bob"), PDF)
        .expect("access")
        .expect("linked by the migration");
    assert_eq!(access.secrets, [Some(SECRET.to_string())]);
    assert_eq!(access.stored, None, "no bytes yet: expired to the server");
}
