//! One HTTP exchange over reqwest: the URL built from the app key, the timeouts, the size
//! cap on bodies, and an error that names the endpoint and carries the server's words with
//! every secret taken out. Whether to try again is not decided here ([`super::retry`]).

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ClientConfig;
use super::auth::Secret;
use super::error::{ClientError, one_line};
use super::retry::{Refusal, retry_after};
use crate::protocol::ids;
use crate::protocol::json::ErrorBody;

/// Error bodies are read only this far: enough for any §6 body, and a huge error page
/// should not turn into a "too large" error hiding the status.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// How much of an unreadable body an error quotes.
const EXCERPT_CHARS: usize = 120;
/// How long one line of server text in an error may get.
pub(super) const SERVER_TEXT_CHARS: usize = 300;

/// Which token a call sends as Bearer.
pub(super) enum Bearer {
    /// None: the password and app grants.
    Nobody,
    /// The user's token: every call but the token call.
    User,
    /// This app token: the `inherit` grant.
    App(Secret),
}

/// One request to make: method, path below `/{org}/{app}/`, query pairs, JSON body.
pub(super) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// The token it sends.
    pub bearer: Bearer,
}

impl Call {
    /// A call with the token and no query or body.
    pub fn get(path: String) -> Call {
        Call {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            bearer: Bearer::User,
        }
    }

    /// `METHOD path`, as errors and logs name it.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A try the server (or the network) refused, and how, for the retry policy.
pub(super) struct Refused {
    pub error: ClientError,
    pub refusal: Refusal,
}

/// The HTTP side of a client: where the app lives and how requests travel.
pub(super) struct Transport {
    http: reqwest::Client,
    /// Base URL without a trailing slash.
    base: String,
    org: String,
    app: String,
    max_response_bytes: u64,
    connect_timeout: Duration,
}

/// How long an idle connection is kept for reuse: below the 20 s after which roam's
/// server closes one.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

impl Transport {
    /// Checks the URL, app key, timeouts and size cap of `config`.
    pub fn new(config: &ClientConfig) -> Result<Transport, ClientError> {
        let (org, app) = config
            .appkey
            .split_once('#')
            .filter(|(org, app)| ids::is_id(org) && ids::is_id(app))
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "app key {:?} must be org#app, both parts 1 to 64 letters, digits, '_', '.' or '-'",
                    one_line(&config.appkey, 80)
                ))
            })?;
        let base = config.base_url.trim().trim_end_matches('/').to_string();
        let url = Url::parse(&base).map_err(|e| {
            ClientError::Config(format!(
                "API URL {:?} is not a URL: {e}",
                one_line(&base, 120)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "API URL must start with http:// or https://, not {}://",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ClientError::Config("API URL has no host".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::Config(
                "API URL must not have a query or fragment".into(),
            ));
        }
        // Credentials in the URL would travel into reqwest's error texts and logs.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::Config(
                "API URL must not carry a user name or password".into(),
            ));
        }
        for (name, d) in [
            ("connect timeout", config.connect_timeout),
            ("read timeout", config.read_timeout),
            ("total timeout", config.total_timeout),
        ] {
            if d.is_zero() {
                return Err(ClientError::Config(format!("the {name} must not be zero")));
            }
        }
        if config.max_response_bytes == 0 {
            return Err(ClientError::Config(
                "the response size limit must not be zero".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.total_timeout)
            // Servers close idle keep-alive connections (roam's own after 20 s, proxies
            // often sooner): reusing one the server just closed fails the request, so an
            // idle connection is dropped here first.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            // The protocol has no redirects; following one would resend the token to
            // wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            base,
            org: org.to_string(),
            app: app.to_string(),
            max_response_bytes: config.max_response_bytes,
            connect_timeout: config.connect_timeout,
        })
    }

    /// The HTTP client itself, for calls that stream their body (downloads).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The app key, `org#app`.
    pub fn appkey(&self) -> String {
        format!("{}#{}", self.org, self.app)
    }

    /// `host:port` of the base URL, as a person would recognise the server.
    pub fn host(&self) -> String {
        Url::parse(&self.base).map_or_else(|_| self.base.clone(), |url| address(&url))
    }

    /// The full URL of a call.
    pub fn url(&self, call: &Call) -> Result<Url, ClientError> {
        let mut url = Url::parse(&format!(
            "{}/{}/{}/{}",
            self.base, self.org, self.app, call.path
        ))
        .map_err(|e| ClientError::Config(format!("cannot build a URL from the API URL: {e}")))?;
        if !call.query.is_empty() {
            // Encodes each value: cursors are opaque and may hold '+', '/', '=' or '&'.
            url.query_pairs_mut().extend_pairs(call.query.iter());
        }
        Ok(url)
    }

    /// One HTTP exchange: the 200 body, or how it was refused. `secrets` are taken out of
    /// any server text that makes it into the error.
    pub async fn exchange(
        &self,
        call: &Call,
        url: &Url,
        token: Option<&Secret>,
        secrets: &[Secret],
    ) -> Result<Vec<u8>, Refused> {
        let endpoint = call.endpoint();
        let final_error = |error| Refused {
            error,
            refusal: Refusal::Final,
        };
        let mut request = self.http.request(call.method.clone(), url.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let started = Instant::now();
        let mut response = request
            .send()
            .await
            .map_err(|e| final_error(self.transport_error(&endpoint, url, &e)))?;
        let status = response.status();
        tracing::debug!(%endpoint, status = status.as_u16(), elapsed = ?started.elapsed(), "response");
        if status == StatusCode::OK {
            return self
                .read_body(&mut response, &endpoint, url)
                .await
                .map_err(final_error);
        }
        let wait = retry_after(response.headers(), SystemTime::now());
        // An error body that cannot be read in full still leaves the status to report.
        let body = read_prefix(&mut response, ERROR_BODY_LIMIT).await;
        Err(Refused {
            error: http_error(&endpoint, status, &body, secrets),
            refusal: Refusal::of(status.as_u16(), wait),
        })
    }

    /// Reads a 200 body in chunks, refusing it past the size cap.
    async fn read_body(
        &self,
        response: &mut reqwest::Response,
        endpoint: &str,
        url: &Url,
    ) -> Result<Vec<u8>, ClientError> {
        let too_large = || ClientError::TooLarge {
            endpoint: endpoint.to_string(),
            limit: self.max_response_bytes,
        };
        let announced = response.content_length();
        if announced.is_some_and(|n| n > self.max_response_bytes) {
            return Err(too_large());
        }
        // Trust the announced length for the first allocation only up to 1 MiB.
        let capacity = announced.unwrap_or(0).min(1 << 20);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(endpoint, url, &e))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_response_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    pub(super) fn transport_error(
        &self,
        endpoint: &str,
        url: &Url,
        e: &reqwest::Error,
    ) -> ClientError {
        let addr = address(url);
        // The innermost cause is the useful part ("Connection refused"); reqwest's own text
        // repeats the URL.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let reason = one_line(&cause.to_string(), SERVER_TEXT_CHARS);
        if e.is_connect() {
            let reason = if e.is_timeout() {
                format!("no connection within {:?}", self.connect_timeout)
            } else {
                reason
            };
            ClientError::Connect { addr, reason }
        } else if e.is_timeout() {
            ClientError::Timeout {
                endpoint: endpoint.to_string(),
                addr,
            }
        } else {
            ClientError::Transport {
                endpoint: endpoint.to_string(),
                addr,
                reason,
            }
        }
    }
}

/// `host:port` of a URL.
fn address(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The error of a status other than 200, with the server's §6 words when it sent them.
pub(super) fn http_error(
    endpoint: &str,
    status: StatusCode,
    body: &[u8],
    secrets: &[Secret],
) -> ClientError {
    let (error, description, excerpt) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) if !parsed.error.is_empty() || !parsed.error_description.is_empty() => (
            one_line(&redact(&parsed.error, secrets), 60),
            one_line(
                &redact(&parsed.error_description, secrets),
                SERVER_TEXT_CHARS,
            ),
            String::new(),
        ),
        _ => {
            let text = redact(&String::from_utf8_lossy(body), secrets);
            (String::new(), String::new(), one_line(&text, EXCERPT_CHARS))
        }
    };
    let description = if description.is_empty() && status.is_success() {
        format!(
            "only 200 carries a result, the server answered {}",
            status.as_u16()
        )
    } else {
        description
    };
    ClientError::Http {
        endpoint: endpoint.to_string(),
        status: status.as_u16(),
        error,
        description,
        excerpt,
    }
}

/// Parses a 200 body; a body that is not the JSON expected is [`ClientError::Malformed`],
/// quoting it with the secrets taken out.
pub(super) fn parse<T: DeserializeOwned>(
    endpoint: &str,
    bytes: &[u8],
    secrets: &[Secret],
) -> Result<T, ClientError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let reason = if e.is_data() {
            format!("unexpected JSON: {e}")
        } else {
            let text = redact(&String::from_utf8_lossy(bytes), secrets);
            let excerpt = one_line(&text, EXCERPT_CHARS);
            if excerpt.is_empty() {
                "the body is empty, not JSON".to_string()
            } else {
                format!("the body is not JSON: {excerpt}")
            }
        };
        ClientError::Malformed {
            endpoint: endpoint.to_string(),
            reason,
        }
    })
}

/// Takes the secrets out of server text: a misbehaving server or proxy may echo the request
/// back in its error page.
fn redact(text: &str, secrets: &[Secret]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if !secret.expose().is_empty() {
            text = text.replace(secret.expose(), "<redacted>");
        }
    }
    text
}

/// Reads at most `limit` bytes of a body; a failure ends the read with what arrived.
pub(super) async fn read_prefix(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_taken_out_of_server_text() {
        let token = Secret::new("tok-123");
        let password = Secret::new("pw-456");
        let body = br#"{"error":"bad tok-123","error_description":"you sent pw-456"}"#;
        let e = http_error(
            "GET x",
            StatusCode::BAD_REQUEST,
            body,
            &[token.clone(), password],
        );
        let text = e.to_string();
        assert!(
            !text.contains("tok-123") && !text.contains("pw-456"),
            "{text}"
        );
        assert!(text.contains("<redacted>"), "{text}");
        let e = parse::<Value>("GET x", b"<html>tok-123", &[token]).expect_err("not JSON");
        assert!(!e.to_string().contains("tok-123"), "{e}");
    }
}
