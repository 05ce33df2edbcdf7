//! What a failed call says: one [`ClientError`] per way of failing, every text in it one
//! sanitized line free of the token and password.

use reqwest::StatusCode;

/// Why a call failed. Every text in it is one line, sanitized, and free of the token and
/// password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The configuration cannot work (bad app key, URL, user id, empty credential...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument of a call is out of range or not an id.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server answered with a status other than 200.
    #[error("{}", http_text(endpoint, *status, error, description, excerpt))]
    Http {
        /// Method and path below `/{org}/{app}/`, e.g. `POST users/alice/messageroaming`.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The server's `error` code (`invalid_grant`...), empty when the body had none.
        error: String,
        /// The server's `error_description`, empty when the body had none.
        description: String,
        /// A short sanitized excerpt of a body that was not a §6 error body, else empty.
        excerpt: String,
    },
    /// The server stopped answering within the read or overall timeout.
    #[error("{endpoint}: {addr} did not answer in time")]
    Timeout {
        /// Method and path.
        endpoint: String,
        /// `host:port`.
        addr: String,
    },
    /// No connection could be opened.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// What the system said.
        reason: String,
    },
    /// The connection failed after it was opened (reset, TLS failure...).
    #[error("{endpoint}: network error with {addr}: {reason}")]
    Transport {
        /// Method and path.
        endpoint: String,
        /// `host:port`.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// A 200 whose body is not what the protocol says (not JSON, no `data`, a cursor that
    /// does not move...).
    #[error("{endpoint}: malformed response: {reason}")]
    Malformed {
        /// Method and path.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// The body exceeded [`crate::client::ClientConfig::max_response_bytes`].
    #[error("{endpoint}: response larger than {limit} bytes")]
    TooLarge {
        /// Method and path.
        endpoint: String,
        /// The cap.
        limit: u64,
    },
}

fn http_text(endpoint: &str, status: u16, error: &str, description: &str, excerpt: &str) -> String {
    let mut text = format!("{endpoint}: HTTP {status}");
    if !error.is_empty() {
        text.push(' ');
        text.push_str(error);
    }
    if !description.is_empty() {
        text.push_str(": ");
        text.push_str(description);
    } else if let Some(reason) = canonical_reason(status) {
        text.push_str(": ");
        text.push_str(reason);
    }
    if !excerpt.is_empty() {
        text.push_str(" (body: ");
        text.push_str(excerpt);
        text.push(')');
    }
    text
}

fn canonical_reason(status: u16) -> Option<&'static str> {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

impl ClientError {
    /// One line for a person, as a status line shows it: the server's own
    /// `error_description` first when there is one.
    pub fn description(&self) -> String {
        match self {
            ClientError::Http {
                status,
                error,
                description,
                excerpt,
                ..
            } => {
                let code = if error.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status} {error}")
                };
                if !description.is_empty() {
                    format!("{description} ({code})")
                } else {
                    let reason = canonical_reason(*status).unwrap_or("unexpected status");
                    if excerpt.is_empty() {
                        format!("server answered {reason} ({code})")
                    } else {
                        format!("server answered {reason} ({code}): {excerpt}")
                    }
                }
            }
            ClientError::Timeout { addr, .. } => {
                format!("the server at {addr} did not answer in time")
            }
            ClientError::Connect { addr, reason } => format!("cannot connect to {addr}: {reason}"),
            ClientError::Transport { addr, reason, .. } => {
                format!("network error with {addr}: {reason}")
            }
            ClientError::Malformed { reason, .. } => {
                format!("the server sent something unreadable: {reason}")
            }
            ClientError::TooLarge { limit, .. } => {
                format!("the server's answer is larger than the {limit}-byte limit")
            }
            ClientError::Config(text) | ClientError::InvalidArgument(text) => text.clone(),
        }
    }

    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `error` code (`invalid_grant`, `forbidden_op`...), when it sent one.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Http { error, .. } if !error.is_empty() => Some(error),
            _ => None,
        }
    }
}

/// Server text as one short, inert line: controls and line breaks become spaces (runs
/// collapsed), bidi controls become `?`, and the text is cut at `max_chars`.
pub(super) fn one_line(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        let c = match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => '?',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        if c == ' ' {
            pending_space = !out.is_empty();
            continue;
        }
        if count + usize::from(pending_space) >= max_chars {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_makes_server_text_inert_and_short() {
        assert_eq!(one_line("a\n\r\tb\x1b[2Jc", 50), "a b [2Jc");
        assert_eq!(one_line("x\u{202E}y", 50), "x?y");
        assert_eq!(one_line("  lead  trail  ", 50), "lead trail");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("abc", 3), "abc");
    }

    #[test]
    fn http_errors_describe_themselves_with_the_server_text_first() {
        let e = ClientError::Http {
            endpoint: "POST token".into(),
            status: 400,
            error: "invalid_grant".into(),
            description: "invalid username or password".into(),
            excerpt: String::new(),
        };
        assert_eq!(
            e.description(),
            "invalid username or password (HTTP 400 invalid_grant)"
        );
        assert_eq!(
            e.to_string(),
            "POST token: HTTP 400 invalid_grant: invalid username or password"
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.server_code(), Some("invalid_grant"));
    }
}
