//! `GET /{org}/{app}/chatfiles/{uuid}` (PROTOCOL.md §8.3): a message's attachment, with
//! the service's header rules.
//!
//! - `Authorization: Bearer` of a user or of the app ([`Caller`]); missing or bad: 401.
//! - The share-secret as the header `share-secret` or, in the SDK's URL form, the query
//!   parameter `share-secret`. A file whose messages carry a secret needs it: missing is
//!   401 `unauthorized`, wrong is 403 `forbidden_op` (roam's choice: the service documents
//!   that the secret is needed, not how it refuses one).
//! - `thumbnail: true` (header, or `thumbnail=true` in the query) asks for the thumbnail:
//!   the stored one when there is one, else the file itself (roam's choice: the service
//!   scales images to 170 px; the original is what a client would scale anyway).
//! - One byte range (`Range: bytes=a-b`, `a-`, `-n`) is answered 206 with
//!   `Content-Range`; a range starting past the end is 416 with `Content-Range: bytes
//!   */length`; several ranges, or a header that does not parse, get the whole file
//!   (a server may ignore `Range`). Every answer says `Accept-Ranges: bytes`.
//! - A uuid nobody named, or named only in messages the caller may not read
//!   ([`crate::store::files`]), is 404 `entity_not_found`; one the store does not hold (or
//!   holds past its expiry) is 404 `file_expired`, as the service answers after 7 days.
//!
//! The range asked is read from the store in one piece (files are at most
//! [`crate::store::files::MAX_FILE_BYTES`]) with the pooled connection released before the
//! bytes are sent.

use std::ops::Range;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::{Caller, LenientQuery};
use super::handlers::now_ms;
use super::log_text::LogText;
use super::stored;
use crate::protocol::files::{SHARE_SECRET_HEADER, SHARE_SECRET_QUERY, THUMBNAIL_HEADER, is_uuid};
use crate::store::files::FileAccess;

/// What a `Range` header asks of a file of a given length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeAsked {
    /// No range, or one to ignore: the whole file, 200.
    Whole,
    /// One satisfiable range, cut to the file: 206.
    Part(Range<u64>),
    /// A range starting at or past the end: 416.
    Unsatisfiable,
}

/// Reads a `Range` header against a file of `length` bytes (RFC 9110 §14.1.2, one range).
pub fn range_asked(header: Option<&str>, length: u64) -> RangeAsked {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAsked::Whole;
    };
    if spec.contains(',') {
        return RangeAsked::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsked::Whole;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || length == 0 {
                RangeAsked::Unsatisfiable
            } else {
                RangeAsked::Part(length.saturating_sub(n)..length)
            }
        }
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|end| end < start) {
                return RangeAsked::Whole;
            }
            if start >= length {
                return RangeAsked::Unsatisfiable;
            }
            let end = end.map_or(length, |e| e.saturating_add(1).min(length));
            RangeAsked::Part(start..end)
        }
        _ => RangeAsked::Whole,
    }
}

/// Whether a header or query value says `true`.
fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// Whether `given` opens a file named by messages carrying `secrets`; the refusal when not.
fn check_secret(secrets: &[Option<String>], given: Option<&str>) -> Result<(), ApiError> {
    if secrets.iter().any(Option::is_none) {
        return Ok(());
    }
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Err(ApiError::unauthorized(
            "this file needs its share-secret (header share-secret)",
        ));
    };
    if secrets.iter().flatten().any(|s| same_secret(s, given)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the share-secret does not open this file",
        ))
    }
}

/// `GET /{org}/{app}/chatfiles/{uuid}`.
pub(super) async fn chatfile(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    params: Result<RawPathParams, RawPathParamsRejection>,
    LenientQuery(query): LenientQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let uuid = params
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(name, _)| *name == "uuid")
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_default();
    if !is_uuid(&uuid) {
        tracing::debug!(uuid = %LogText::with_max(&uuid, 80), "not a file uuid");
        return Err(ApiError::file_not_found());
    }
    let uuid = uuid.to_ascii_lowercase();
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secret = header_text(SHARE_SECRET_HEADER)
        .or_else(|| query.get(SHARE_SECRET_QUERY).map(String::as_str))
        .map(str::to_string);
    let thumbnail = is_true(header_text(THUMBNAIL_HEADER))
        || is_true(query.get("thumbnail").map(String::as_str));
    let range = header_text(header::RANGE.as_str()).map(str::to_string);

    let reader = caller.user.clone();
    let asked = uuid.clone();
    let access = stored::file_access(&state, reader, asked).await?;
    let Some(FileAccess { secrets, stored }) = access else {
        return Err(ApiError::file_not_found());
    };
    if let Err(refusal) = check_secret(&secrets, secret.as_deref()) {
        tracing::debug!(uuid = %LogText::new(&uuid), status = refusal.status.as_u16(), "file refused");
        return Err(refusal);
    }
    let Some(file) = stored.filter(|f| f.expires.is_none_or(|at| at > now_ms())) else {
        return Err(ApiError::file_expired(&uuid));
    };
    let thumbnail = thumbnail && file.thumbnail_length.is_some();
    let length = if thumbnail {
        file.thumbnail_length.unwrap_or(0)
    } else {
        file.length
    };
    let (status, part) = match range_asked(range.as_deref(), length) {
        RangeAsked::Whole => (StatusCode::OK, 0..length),
        RangeAsked::Part(part) => (StatusCode::PARTIAL_CONTENT, part),
        RangeAsked::Unsatisfiable => {
            let mut refused = ApiError::range_not_satisfiable(length).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                refused.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            refused
                .headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Ok(refused);
        }
    };
    let wanted = part.clone();
    let bytes = stored::file_bytes(&state, uuid, thumbnail, wanted)
        .await?
        .unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{length}",
            part.start,
            part.end.saturating_sub(1)
        ))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_is_read_and_cut_to_the_file() {
        use RangeAsked::*;
        let cases: &[(Option<&str>, u64, RangeAsked)] = &[
            (None, 10, Whole),
            (Some("bytes=0-3"), 10, Part(0..4)),
            (Some("bytes=4-"), 10, Part(4..10)),
            (Some("bytes=8-100"), 10, Part(8..10)),
            (Some("bytes=-3"), 10, Part(7..10)),
            (Some("bytes=-30"), 10, Part(0..10)),
            (Some("bytes=10-"), 10, Unsatisfiable),
            (Some("bytes=10-12"), 10, Unsatisfiable),
            (Some("bytes=-0"), 10, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=0-1,4-5"), 10, Whole),
            (Some("bytes=5-2"), 10, Whole),
            (Some("bytes=a-b"), 10, Whole),
            (Some("bytes=-"), 10, Whole),
            (Some("items=0-1"), 10, Whole),
            (Some("bytes=+1-2"), 10, Whole),
            (Some("bytes=99999999999999999999999-"), 10, Whole),
        ];
        for (header, length, want) in cases {
            assert_eq!(
                &range_asked(*header, *length),
                want,
                "{header:?} of {length}"
            );
        }
    }

    #[test]
    fn a_secret_is_needed_when_every_message_carries_one() {
        let s = |x: &str| Some(x.to_string());
        assert!(check_secret(&[s("abc")], Some("abc")).is_ok());
        assert!(check_secret(&[s("abc"), s("def")], Some("def")).is_ok());
        assert!(check_secret(&[s("abc"), None], None).is_ok());
        let missing = check_secret(&[s("abc")], None).expect_err("missing");
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let empty = check_secret(&[s("abc")], Some("")).expect_err("empty");
        assert_eq!(empty.status, StatusCode::UNAUTHORIZED);
        let wrong = check_secret(&[s("abc")], Some("abd")).expect_err("wrong");
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(!wrong.description.contains("abd"));
    }
}
