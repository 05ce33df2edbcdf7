//! The `messageroaming` answer written straight into one buffer: the envelope of
//! PROTOCOL.md §4 around the page's entries, each base64-encoded in place. The same JSON,
//! field for field, as serializing `Envelope<RoamingPage>`, without a `String` per entry.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::store::EntryPage;

/// The JSON text of a history answer: `{"data":{"msgs":[{"msg":…}],"next_key":…,
/// "is_last":…},"action":"post","timestamp":…,"duration":…}`.
pub fn page_json(page: &EntryPage, timestamp: i64, duration: i64) -> String {
    let entries = page.entries();
    let mut out = String::with_capacity(page.total_bytes() * 4 / 3 + entries.len() * 16 + 160);
    out.push_str(r#"{"data":{"msgs":["#);
    for (i, entry) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Base64 needs no JSON escaping.
        out.push_str(r#"{"msg":""#);
        STANDARD.encode_string(entry, &mut out);
        out.push_str(r#""}"#);
    }
    // A cursor is a decimal id: no escaping either.
    out.push_str(r#"],"next_key":""#);
    if let Some(next) = page.next_cursor {
        out.push_str(&next.to_string());
    }
    out.push_str(r#"","is_last":"#);
    out.push_str(if page.is_last { "true" } else { "false" });
    out.push_str(r#"},"action":"post","timestamp":"#);
    out.push_str(&timestamp.to_string());
    out.push_str(r#","duration":"#);
    out.push_str(&duration.to_string());
    out.push('}');
    out
}

/// The answer itself: 200, JSON.
pub fn page_response(json: String) -> Response {
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json::{Envelope, RoamingEntry, RoamingPage};

    /// What the handler wrote before: the serialized envelope, entries base64 each.
    fn serialized(page: &EntryPage, timestamp: i64, duration: i64) -> String {
        let envelope = Envelope {
            data: RoamingPage {
                msgs: page
                    .entries()
                    .map(|e| RoamingEntry {
                        msg: STANDARD.encode(e),
                    })
                    .collect(),
                next_key: page.next_cursor.map(|c| c.to_string()).unwrap_or_default(),
                is_last: page.is_last,
            },
            action: Some("post".to_string()),
            timestamp: Some(timestamp),
            duration: Some(duration),
        };
        serde_json::to_string(&envelope).expect("json")
    }

    #[test]
    fn the_written_answer_is_the_serialized_envelope() {
        let entries: [&[u8]; 4] = [b"", b"\x08\x01", &[0xff; 31], &[0u8, 1, 2, 3, 254]];
        let pages = [
            EntryPage::from_entries([], None, true),
            EntryPage::from_entries(entries[..1].iter().copied(), None, true),
            EntryPage::from_entries(entries.iter().copied(), Some(u64::MAX), false),
            EntryPage::from_entries(entries[1..].iter().copied(), Some(0), false),
        ];
        for page in &pages {
            for (timestamp, duration) in [(0, 0), (1_764_000_000_000, 3), (-1, i64::MAX)] {
                assert_eq!(
                    page_json(page, timestamp, duration),
                    serialized(page, timestamp, duration),
                    "{page:?}"
                );
            }
        }
    }
}
