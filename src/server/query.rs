//! A lenient query-string reader. The official SDK sends query strings unencoded, may start
//! them with an empty pair (`list?&limit=20`) and adds a `_v=<ms>` cache buster (PROTOCOL.md
//! §1): a strict extractor would turn those into errors, so queries are read by hand.

use std::collections::HashMap;

/// The parameters of a query string: first occurrence wins, empty pairs are skipped,
/// `%XX` escapes decoded where valid and kept literally where not.
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in query.unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(percent_decode(key))
            .or_insert_with(|| percent_decode(value));
    }
    out
}

/// Decodes `%XX` escapes; anything that is not a valid escape, or bytes that do not make
/// UTF-8, stay as they were (lossily for the latter).
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_quirks_are_tolerated() {
        let q = parse_query(Some(
            "&limit=20&cursor=&need_mark=true&_v=1716999999999&limit=5",
        ));
        assert_eq!(q.get("limit").map(String::as_str), Some("20"));
        assert_eq!(q.get("cursor").map(String::as_str), Some(""));
        assert_eq!(q.get("_v").map(String::as_str), Some("1716999999999"));
        assert!(parse_query(None).is_empty());
        assert!(parse_query(Some("&&")).is_empty());
    }

    #[test]
    fn escapes_decode_only_when_valid() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%E4%BD%A0"), "你");
    }
}
