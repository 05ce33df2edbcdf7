//! TLS to PostgreSQL: libpq's `sslmode` over rustls (ring, the provider the HTTP client
//! already brings).
//!
//! | `sslmode` | encrypted | certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | - |
//! | `allow`, `prefer` (default) | when the server offers it, else plain | no |
//! | `require` | always (fails when the server has no TLS) | no, unless a CA file is given, then as `verify-ca` (as libpq) |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA and issued for the host |
//!
//! The trusted CAs are those of the `sslrootcert` file; without one, libpq's default file
//! `~/.postgresql/root.crt` when it exists, else the public web roots (`webpki-roots`,
//! compiled in: libpq would fail instead). `sslrootcert=system` asks for the public roots.
//! A Unix socket never uses TLS (as libpq).
//!
//! libpq's `allow` (plain first, TLS only when the server insists) is read as `prefer`:
//! tokio-postgres cannot retry, and `prefer` connects wherever `allow` would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much TLS a connection insists on (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is checked only when a CA file is given.
    Require,
    /// TLS, the certificate signed by a trusted CA (any host name).
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and issued for the host connected to.
    VerifyFull,
}

impl SslMode {
    /// Reads libpq's spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The nearest mode tokio-postgres knows: it only decides whether TLS is tried and
    /// whether it is mandatory; the checks are the verifier's.
    pub(crate) fn wire(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Wire;
        match self {
            SslMode::Disable => Wire::Disable,
            SslMode::Prefer => Wire::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Wire::Require,
        }
    }
}

/// Where the trusted CA certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootSource {
    /// The public web roots compiled into roam.
    System,
    /// A PEM file of CA certificates (`sslrootcert`, or `~/.postgresql/root.crt`).
    File(PathBuf),
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `sslmode` is not one of libpq's.
    #[error("sslmode={0:?} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    BadMode(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("cannot use the root certificate file {path}: {reason}")]
    RootCert {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The TLS side of a connection: the mode and, when certificates are checked, the CAs.
#[derive(Clone)]
pub struct TlsSettings {
    mode: SslMode,
    /// `None` when the mode checks no certificate.
    roots: Option<(RootSource, Arc<RootCertStore>)>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mode", &self.mode)
            .field("roots", &self.roots.as_ref().map(|(source, _)| source))
            .finish()
    }
}

impl TlsSettings {
    /// Settings for `mode`, `root_cert` being the `sslrootcert` given (URL or
    /// `PGSSLROOTCERT`) and `home` where `~/.postgresql/root.crt` is looked for.
    pub fn new(
        mode: SslMode,
        root_cert: Option<&str>,
        home: Option<&Path>,
    ) -> Result<TlsSettings, TlsError> {
        let source = match root_cert.filter(|r| !r.is_empty()) {
            Some("system") => Some(RootSource::System),
            Some(file) => Some(RootSource::File(PathBuf::from(file))),
            None => home
                .map(|h| h.join(".postgresql").join("root.crt"))
                .filter(|f| f.is_file())
                .map(RootSource::File),
        };
        let checked = match mode {
            SslMode::Disable | SslMode::Prefer => None,
            // libpq: `require` with a CA file given checks the chain as verify-ca.
            SslMode::Require => source.filter(|s| matches!(s, RootSource::File(_))),
            SslMode::VerifyCa | SslMode::VerifyFull => Some(source.unwrap_or(RootSource::System)),
        };
        let roots = match checked {
            None => None,
            Some(source) => {
                let store = load_roots(&source)?;
                Some((source, Arc::new(store)))
            }
        };
        Ok(TlsSettings { mode, roots })
    }

    /// Plain connections only (what a Unix socket gets).
    pub fn disabled() -> TlsSettings {
        TlsSettings {
            mode: SslMode::Disable,
            roots: None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// Where the trusted CAs come from, when certificates are checked.
    pub fn root_source(&self) -> Option<&RootSource> {
        self.roots.as_ref().map(|(source, _)| source)
    }

    /// The connector the pool hands tokio-postgres.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match &self.roots {
            None => Arc::new(Unchecked(provider.clone())),
            Some((_, roots)) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                        .build()
                        .map_err(|e| format!("TLS certificate verifier: {e}"))?;
                // `require` with a CA file is verify-ca, as libpq.
                if self.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(AnyName(webpki))
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

/// The CA certificates of a source.
fn load_roots(source: &RootSource) -> Result<RootCertStore, TlsError> {
    match source {
        RootSource::System => Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        RootSource::File(path) => {
            let bad = |reason: String| TlsError::RootCert {
                path: path.clone(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            let mut store = RootCertStore::empty();
            let (added, _ignored) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("no usable PEM certificate in it".into()));
            }
            Ok(store)
        }
    }
}

/// `prefer` and `require` without a CA: the session is encrypted but the server is not
/// authenticated (libpq does the same). The handshake signatures are still checked, so
/// the peer holds the key of the certificate it showed.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full check, less the host name. webpki checks the chain (and dates)
/// before the name, so a name mismatch means everything else passed.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A plain-words reason for a failed connection when TLS is why, with what to do about
/// it; `None` when TLS is not the cause. Never holds the password: only the TLS library's
/// and the server's words are used.
pub(crate) fn explain(err: &tokio_postgres::Error, settings: &TlsSettings) -> Option<String> {
    // tokio-postgres shows only the kind of error ("error performing TLS handshake"); the
    // words that say why are in its sources.
    let chain = || {
        std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    if chain().any(|e| e.to_string().contains("server does not support TLS")) {
        return Some(format!(
            "the server does not support TLS (SSL), and sslmode={} requires it \
             (turn on ssl in the server, or use sslmode=prefer or disable)",
            settings.mode.as_str()
        ));
    }
    let rustls_error = chain().find_map(|e| {
        e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        })
    })?;
    let roots = match settings.root_source() {
        Some(RootSource::File(path)) => format!("the CA certificates in {}", path.display()),
        _ => "the public web CAs (give a private CA with sslrootcert=FILE or PGSSLROOTCERT)"
            .to_string(),
    };
    Some(match rustls_error {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => format!(
            "TLS: the server's certificate is not signed by a trusted CA \
             (sslmode={} trusts {roots})",
            settings.mode.as_str()
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "TLS: the server's certificate is not issued for the host connected to \
             ({rustls_error}; sslmode=verify-full checks the host name, verify-ca does not)"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => format!("TLS: the server's certificate is out of date ({rustls_error})"),
        other => format!("TLS handshake failed: {other}"),
    })
}

/// An error with its sources, `: ` between them (tokio-postgres's own text names only the
/// kind of error: "db error", "error connecting to server").
pub(crate) fn with_sources(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_libpq_spells_them() {
        for mode in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(SslMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SslMode::parse("allow"), Some(SslMode::Prefer));
        assert_eq!(SslMode::parse("verify_full"), None);
        assert_eq!(SslMode::parse("Require"), None);
    }

    #[test]
    fn only_checking_modes_load_certificates() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("none.pem");
        let missing = missing.to_str().expect("utf-8");
        // Not checking: the file is never read.
        for mode in [SslMode::Disable, SslMode::Prefer] {
            let s = TlsSettings::new(mode, Some(missing), None).expect("settings");
            assert_eq!(s.root_source(), None);
        }
        // Checking: a missing file is an error naming it.
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let err = TlsSettings::new(mode, Some(missing), None).expect_err("missing");
            assert!(err.to_string().contains("none.pem"), "{err}");
        }
        // `require` without a CA checks nothing; verify-* fall back to the public roots.
        let s = TlsSettings::new(SslMode::Require, None, None).expect("settings");
        assert_eq!(s.root_source(), None);
        let s = TlsSettings::new(SslMode::VerifyFull, None, None).expect("settings");
        assert_eq!(s.root_source(), Some(&RootSource::System));
        let s = TlsSettings::new(SslMode::VerifyCa, Some("system"), None).expect("settings");
        assert_eq!(s.root_source(), Some(&RootSource::System));
        // A file without a certificate is refused.
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = TlsSettings::new(SslMode::VerifyFull, empty.to_str(), None).expect_err("empty");
        assert!(err.to_string().contains("no usable"), "{err}");
    }

    #[test]
    fn the_default_ca_file_is_libpqs() {
        let home = tempfile::tempdir().expect("dir");
        let s = TlsSettings::new(SslMode::VerifyFull, None, Some(home.path())).expect("settings");
        assert_eq!(s.root_source(), Some(&RootSource::System));
        std::fs::create_dir(home.path().join(".postgresql")).expect("mkdir");
        let file = home.path().join(".postgresql").join("root.crt");
        std::fs::write(&file, "junk").expect("write");
        // Found, so read (and refused: it holds no certificate).
        let err = TlsSettings::new(SslMode::VerifyFull, None, Some(home.path())).expect_err("junk");
        assert!(err.to_string().contains("root.crt"), "{err}");
        // `prefer` reads nothing.
        TlsSettings::new(SslMode::Prefer, None, Some(home.path())).expect("prefer");
    }
}
