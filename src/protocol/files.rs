//! Attachments on the wire (PROTOCOL.md §8.3): which file a message's URL names, and the
//! header and error names of `GET /{org}/{app}/chatfiles/{uuid}`. No I/O.
//!
//! An attachment URL is `https://{host}/{org}/{app}/chatfiles/{uuid}`, perhaps with the
//! SDK's query (`?em-redirect=true&share-secret=...`). The uuid is what both sides key a
//! file by: the server's store, `roam import`'s `files/` folder and the client, which asks
//! its own server for it rather than the host a message names.

/// The header carrying a file's share secret.
pub const SHARE_SECRET_HEADER: &str = "share-secret";
/// The query parameter of the SDK's URL form carrying the same secret.
pub const SHARE_SECRET_QUERY: &str = "share-secret";
/// The header asking for the thumbnail instead of the file (value `true`).
pub const THUMBNAIL_HEADER: &str = "thumbnail";
/// The `error` of a file the service no longer holds (404).
pub const FILE_EXPIRED: &str = "file_expired";
/// The `error` of a file the service never had (404).
pub const ENTITY_NOT_FOUND: &str = "entity_not_found";
/// The longest uuid accepted.
pub const MAX_UUID_LEN: usize = 64;

/// Whether `text` can be a file uuid: 1 to [`MAX_UUID_LEN`] of `[A-Za-z0-9_-]`. Nothing
/// that could name another folder or carry a control passes.
pub fn is_uuid(text: &str) -> bool {
    (1..=MAX_UUID_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The uuid of a chat file URL, lowercased: the path segment after the last `chatfiles`
/// segment, which must be the last segment. `None` for anything else (another path, a
/// segment that is not a uuid).
pub fn chatfile_uuid(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let mut segments = path.rsplit('/');
    let uuid = segments.next()?;
    if segments.next()? != "chatfiles" || !is_uuid(uuid) {
        return None;
    }
    Some(uuid.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uuid_is_the_segment_after_chatfiles() {
        let url = "https://a1.easemob.com/roam/demo/chatfiles/0C0F5F3A-e66b-11e3-8863-f1c202c2b3ae";
        assert_eq!(
            chatfile_uuid(url).as_deref(),
            Some("0c0f5f3a-e66b-11e3-8863-f1c202c2b3ae")
        );
        let sdk = format!("{url}?em-redirect=true&share-secret=abc&thumbnail=true");
        assert_eq!(chatfile_uuid(&sdk), chatfile_uuid(url));
        for bad in [
            "",
            "https://h/x/y/files/abc",
            "https://h/chatfiles/",
            "https://h/chatfiles/../etc",
            "https://h/chatfiles/a.b",
            "https://h/chatfiles/abc/more",
            "https://a1.easemob.com/roam/demo/chatfiles/\x1b]0;x\x07",
        ] {
            assert_eq!(chatfile_uuid(bad), None, "{bad:?}");
        }
        assert!(!is_uuid(&"a".repeat(MAX_UUID_LEN + 1)));
    }
}
