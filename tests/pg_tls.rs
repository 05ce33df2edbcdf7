//! TLS to PostgreSQL, against real servers: a cluster of this binary's own with TLS on (a
//! CA and a server certificate for 127.0.0.1 and localhost made here), and the shared
//! plain cluster. Whether a session is encrypted is asked of the server (`pg_stat_ssl`),
//! never taken from the client's settings. Skips, saying so, without PostgreSQL.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use common::postgres::{self, Cluster};
use roam::client::{Client, ClientConfig, Credential};
use roam::demo::{DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER};
use roam::store::pg::{PgError, PgStore, PgTarget};

/// The TLS cluster and the files a client needs.
struct Tls {
    cluster: Cluster,
    /// The CA that signed the server's certificate (PEM).
    ca_file: PathBuf,
    /// Another CA, that signed nothing the server shows.
    other_ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// A CA certificate and its key.
fn make_ca(name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().expect("CA key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    (params, key, pem)
}

/// The cluster of this binary with TLS on, started on first use.
fn tls() -> Option<&'static Tls> {
    static TLS: OnceLock<Option<Tls>> = OnceLock::new();
    TLS.get_or_init(|| {
        let cluster = postgres::own_cluster()?;
        let (ca_params, ca_key, ca_pem) = make_ca("roam test CA");
        let (_, _, other_pem) = make_ca("roam other CA");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let server = params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        cluster
            .enable_tls(&server.pem(), &server_key.serialize_pem())
            .expect("TLS on");
        let dir = tempfile::tempdir().expect("dir");
        let ca_file = dir.path().join("ca.pem");
        let other_ca_file = dir.path().join("other-ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write CA");
        std::fs::write(&other_ca_file, other_pem).expect("write CA");
        Some(Tls {
            cluster,
            ca_file,
            other_ca_file,
            _dir: dir,
        })
    })
    .as_ref()
}

/// A new database on the TLS cluster, its URL with `query` appended.
fn tls_url(hint: &str, query: &str) -> Option<(&'static Tls, String)> {
    let tls = tls()?;
    let db = tls.cluster.create_database(hint);
    Some((tls, format!("{}?{query}", tls.cluster.url(&db))))
}

/// A new database on the plain (shared) cluster, its URL with `query` appended.
fn plain_url(hint: &str, query: &str) -> Option<(&'static Cluster, String)> {
    let (cluster, url) = postgres::database(hint)?;
    Some((cluster, format!("{url}?{query}")))
}

fn encoded(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('%', "%25")
        .replace('&', "%26")
}

async fn open(url: &str) -> Result<PgStore, PgError> {
    PgStore::open(PgTarget::from_url(url)?, 2).await
}

/// The reason a connection was refused, checked not to show the password.
async fn refused(url: &str, password: &str) -> String {
    let err = open(url).await.expect_err("the connection is refused");
    let text = err.to_string();
    assert!(!text.contains(password), "the password is shown: {text}");
    text
}

#[tokio::test]
async fn require_encrypts_the_session() {
    let Some((_, url)) = tls_url("require", "sslmode=require") else {
        return;
    };
    let store = open(&url).await.expect("connects");
    assert!(store.connection_encrypted().await.expect("pg_stat_ssl"));
}

#[tokio::test]
async fn the_default_is_prefer_and_takes_tls_when_offered() {
    let Some(tls) = tls() else {
        return;
    };
    let url = tls.cluster.url(&tls.cluster.create_database("default"));
    let store = open(&url).await.expect("connects");
    assert!(store.connection_encrypted().await.expect("pg_stat_ssl"));
}

#[tokio::test]
async fn disable_stays_plain_even_when_the_server_offers_tls() {
    let Some((_, url)) = tls_url("disable", "sslmode=disable") else {
        return;
    };
    let store = open(&url).await.expect("connects");
    assert!(!store.connection_encrypted().await.expect("pg_stat_ssl"));
}

#[tokio::test]
async fn verify_full_with_the_test_ca_connects() {
    let Some(tls) = tls() else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={}", encoded(&tls.ca_file));
    let (_, url) = tls_url("full", &query).expect("cluster");
    let store = open(&url).await.expect("connects");
    assert!(store.connection_encrypted().await.expect("pg_stat_ssl"));
    // The same from the environment libpq users set.
    let db = tls.cluster.create_database("full_env");
    let ca = tls.ca_file.display().to_string();
    let vars = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())];
    let target = PgTarget::from_url_with(
        &tls.cluster.url(&db),
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        },
        None,
    )
    .expect("target");
    let store = PgStore::open(target, 1).await.expect("connects");
    assert!(store.connection_encrypted().await.expect("pg_stat_ssl"));
}

#[tokio::test]
async fn verify_full_without_the_ca_fails_saying_why() {
    let Some((tls, url)) = tls_url("noca", "sslmode=verify-full") else {
        return;
    };
    let why = refused(&url, tls.cluster.password()).await;
    assert!(why.contains("not signed by a trusted CA"), "{why}");
    assert!(why.contains("sslrootcert"), "{why}");
    // Another CA is no better.
    let query = format!(
        "sslmode=verify-ca&sslrootcert={}",
        encoded(&tls.other_ca_file)
    );
    let (_, url) = tls_url("otherca", &query).expect("cluster");
    let why = refused(&url, tls.cluster.password()).await;
    assert!(why.contains("not signed by a trusted CA"), "{why}");
    assert!(why.contains("other-ca.pem"), "{why}");
    // `require` with a CA file checks the chain, as libpq.
    let query = format!(
        "sslmode=require&sslrootcert={}",
        encoded(&tls.other_ca_file)
    );
    let (_, url) = tls_url("requireca", &query).expect("cluster");
    let why = refused(&url, tls.cluster.password()).await;
    assert!(why.contains("not signed by a trusted CA"), "{why}");
}

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some(tls) = tls() else {
        return;
    };
    let db = tls.cluster.create_database("name");
    // Connect to 127.0.0.1 while naming a host the certificate is not for.
    let url = format!(
        "postgres://postgres:{}@wrong.invalid:{}/{db}?hostaddr=127.0.0.1&sslrootcert={}",
        tls.cluster.password(),
        tls.cluster.port(),
        encoded(&tls.ca_file)
    );
    let why = refused(
        &format!("{url}&sslmode=verify-full"),
        tls.cluster.password(),
    )
    .await;
    assert!(why.contains("not issued for the host"), "{why}");
    assert!(why.contains("wrong.invalid"), "{why}");
    let store = open(&format!("{url}&sslmode=verify-ca"))
        .await
        .expect("verify-ca connects");
    assert!(store.connection_encrypted().await.expect("pg_stat_ssl"));
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_saying_why() {
    let Some((cluster, url)) = plain_url("require_plain", "sslmode=require") else {
        return;
    };
    let why = refused(&url, cluster.password()).await;
    assert!(why.contains("does not support TLS"), "{why}");
}

#[tokio::test]
async fn prefer_falls_back_to_plain_without_tls() {
    let Some((_, url)) = plain_url("prefer_plain", "sslmode=prefer") else {
        return;
    };
    let store = open(&url).await.expect("connects");
    assert!(!store.connection_encrypted().await.expect("pg_stat_ssl"));
}

/// `roam` with arguments, run to the end.
fn roam(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("roam runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roam_imports_and_serves_over_verified_tls() {
    let Some(tls) = tls() else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={}", encoded(&tls.ca_file));
    let (_, url) = tls_url("serve", &query).expect("cluster");
    let password = tls.cluster.password();
    let imported = roam(&[
        "import",
        "--quiet",
        "--db",
        &url,
        "assets/demo-history.jsonl.gz",
        "--state",
        "assets/demo-state.json",
    ]);
    let log = String::from_utf8_lossy(&imported.stderr);
    assert!(imported.status.success(), "{log}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("http://").nth(1) {
                let _ = tx.send(format!("http://{}", addr.trim()));
            }
        }
    });
    let base_url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("roam serve announces its address");
    let client = Client::new(ClientConfig {
        total_timeout: Duration::from_secs(30),
        ..ClientConfig::new(
            &base_url,
            DEMO_APPKEY,
            DEMO_USER,
            Credential::Password(DEMO_PASSWORD.into()),
        )
    })
    .expect("client");
    client
        .login()
        .await
        .expect("login over the TLS-backed server");
    assert!(!client.conversations().await.expect("list").is_empty());
    let _ = child.kill();
    let _ = child.wait();

    // Without the CA the server refuses to start, saying why, without the password.
    let db = tls.cluster.create_database("serve_noca");
    let url = format!("{}?sslmode=verify-full", tls.cluster.url(&db));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam serve starts");
    // A server that (wrongly) connected would serve forever: give it a minute.
    let mut ended = None;
    for _ in 0..600 {
        ended = serve.try_wait().expect("wait");
        if ended.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if ended.is_none() {
        let _ = serve.kill();
    }
    let out = serve.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        ended.is_some(),
        "roam serve connected without the CA: {log}"
    );
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("not signed by a trusted CA"), "{log}");
    assert!(!log.contains(password), "the password is shown: {log}");
}
