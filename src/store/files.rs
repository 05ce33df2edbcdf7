//! Attachments (PROTOCOL.md §8.3): which messages name which chat file, and the files'
//! bytes, for the server's `chatfiles` endpoint.
//!
//! A message's attachment is linked by the uuid of its URL
//! ([`crate::protocol::files::chatfile_uuid`]) when the message is stored, with the
//! share-secret the message carries; a video's thumbnail URL is linked the same way. The
//! bytes come later and separately (`roam import`'s `files/` folder, the demo), so a
//! message may name a file the store does not hold: the service's answer for that is
//! "expired", since it once held every file a message names.
//!
//! Who may download a file (roam's choice; the service serves a file to any token of the
//! app that brings its share-secret): a user who may read a message naming it, by the
//! history's access rules ([`crate::store`]); the app's administrator (an app token) any
//! file. The secret is still required of both: it must be the secret of one of those
//! messages. Stored files are immutable: a uuid already holding bytes keeps them.

use std::ops::Range;

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::kind_from_sql;
use super::{Store, StoreError, check_id, message_from_row};
use crate::protocol::files::{chatfile_uuid, is_uuid};
use crate::protocol::{ChatType, Content, Message};

/// The largest file the store takes (the service's own upload limit is 10 MB by default).
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// The chat files a message names: its attachment's uuid and secret, and a video's
/// thumbnail's. URLs that are not chat file URLs name none.
pub(crate) fn linked_files(message: &Message) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(file) = message.content.attachment()
        && let Some(uuid) = chatfile_uuid(&file.url)
    {
        out.push((uuid, file.secret.clone().filter(|s| !s.is_empty())));
    }
    if let Content::Video {
        thumb: Some(thumb),
        thumb_secret,
        ..
    } = &message.content
        && let Some(uuid) = chatfile_uuid(thumb)
        && !out.iter().any(|(u, _)| *u == uuid)
    {
        out.push((uuid, thumb_secret.clone().filter(|s| !s.is_empty())));
    }
    out
}

/// Writes a message's links (stored id `id`) inside the caller's transaction.
pub(crate) fn write_links(
    conn: &Connection,
    id: i64,
    links: &[(String, Option<String>)],
) -> rusqlite::Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO message_files(uuid, message, secret) VALUES (?1, ?2, ?3)",
    )?;
    for (uuid, secret) in links {
        insert.execute(params![uuid, id, secret])?;
    }
    Ok(())
}

/// Schema step 6 on a database with messages: links every stored attachment once.
pub(crate) fn link_stored_messages(conn: &Connection) -> rusqlite::Result<()> {
    let mut read = conn.prepare(
        "SELECT id, chat_type, sender, receiver, time, json FROM messages
         WHERE type IN ('img', 'video', 'audio', 'file', 'combine')",
    )?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let message = message_from_row(
            id,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)?,
        );
        // A message whose JSON no longer reads names no file it could be asked for.
        if let Ok(message) = message {
            write_links(conn, id, &linked_files(&message))?;
        }
    }
    Ok(())
}

/// A file the store holds: what a response needs before its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Its media type.
    pub content_type: String,
    /// Its length in bytes.
    pub length: u64,
    /// The thumbnail's length, when one is stored.
    pub thumbnail_length: Option<u64>,
    /// When it expires (ms since the epoch); `None`: kept.
    pub expires: Option<i64>,
}

/// What a reader may know of a file ([`Store::file_access`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileAccess {
    /// The secrets of the messages naming it that the reader may read (`None`: a message
    /// naming it without a secret).
    pub secrets: Vec<Option<String>>,
    /// The file, when the store holds its bytes.
    pub stored: Option<StoredFile>,
}

/// What [`Store::put_file`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutFile {
    /// Stored.
    Stored,
    /// The uuid already holds bytes (kept: files are immutable).
    AlreadyStored,
    /// No message names the uuid: nothing could ever download it, so it is not stored.
    NotNamed,
}

/// A media type for a file name, by its extension; `application/octet-stream` for the
/// rest. It only labels the response: the client saves bytes, never runs them.
pub fn content_type_for(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The uuid of a file to store, checked, when it and its thumbnail are within
/// [`MAX_FILE_BYTES`]: what both back ends ask before storing one.
pub(crate) fn checked_file(
    uuid: &str,
    bytes: &[u8],
    thumbnail: Option<&[u8]>,
) -> Result<String, StoreError> {
    let uuid = checked_uuid(uuid)?;
    for part in std::iter::once(bytes).chain(thumbnail) {
        if part.len() as u64 > MAX_FILE_BYTES {
            return Err(StoreError::File(format!(
                "{uuid}: {} bytes, more than the {MAX_FILE_BYTES}-byte limit",
                part.len()
            )));
        }
    }
    Ok(uuid)
}

impl Store {
    /// Stores a file's bytes (and optionally a thumbnail) under `uuid`, when a message
    /// names it. Files over [`MAX_FILE_BYTES`] are refused; `expires` (ms) makes it
    /// answer "expired" from then on.
    pub fn put_file(
        &mut self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
        expires: Option<i64>,
    ) -> Result<PutFile, StoreError> {
        let uuid = checked_file(uuid, bytes, thumbnail)?;
        let tx = self.conn.transaction()?;
        let named = tx
            .prepare_cached("SELECT 1 FROM message_files WHERE uuid = ?1")?
            .exists([&uuid])?;
        if !named {
            return Ok(PutFile::NotNamed);
        }
        let written = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO files(uuid, content_type, bytes, thumbnail, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![uuid, content_type, bytes, thumbnail, expires])?;
        tx.commit()?;
        Ok(if written == 1 {
            PutFile::Stored
        } else {
            PutFile::AlreadyStored
        })
    }

    /// The file name the first message naming `uuid` gives it, when one does.
    pub fn file_name(&self, uuid: &str) -> Result<Option<String>, StoreError> {
        let Ok(uuid) = checked_uuid(uuid) else {
            return Ok(None);
        };
        let row = self
            .conn
            .prepare_cached(
                "SELECT m.id, m.chat_type, m.sender, m.receiver, m.time, m.json
                 FROM message_files mf JOIN messages m ON m.id = mf.message
                 WHERE mf.uuid = ?1 ORDER BY m.id LIMIT 1",
            )?
            .query_row([&uuid], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let Some((id, kind, from, to, time, json)) = row else {
            return Ok(None);
        };
        let message = message_from_row(id, kind, from, to, time, &json)?;
        Ok(message.content.attachment().map(|f| {
            if chatfile_uuid(&f.url).as_deref() == Some(uuid.as_str()) {
                f.filename.clone()
            } else {
                // The video's thumbnail: named after the video.
                format!("{}.thumbnail", f.filename)
            }
        }))
    }

    /// What `reader` may know of the file `uuid` (`None` as reader: the app's
    /// administrator): `None` when no message they may read names it, which is also the
    /// answer for a uuid nobody named, so the two cannot be told apart.
    pub fn file_access(
        &self,
        reader: Option<&str>,
        uuid: &str,
    ) -> Result<Option<FileAccess>, StoreError> {
        let Ok(uuid) = checked_uuid(uuid) else {
            return Ok(None);
        };
        let reader = match reader.map(check_id) {
            Some(Err(_)) => return Ok(None),
            Some(Ok(user)) => Some(user),
            None => None,
        };
        let mut links = self.conn.prepare_cached(
            "SELECT mf.secret, m.conv, c.kind, m.sender, m.receiver
             FROM message_files mf
             JOIN messages m ON m.id = mf.message
             JOIN convs c ON c.id = m.conv
             WHERE mf.uuid = ?1",
        )?;
        let mut member = self
            .conn
            .prepare_cached("SELECT 1 FROM user_convs WHERE user = ?1 AND conv = ?2")?;
        let mut rows = links.query([&uuid])?;
        let mut secrets = Vec::new();
        while let Some(r) = rows.next()? {
            let conv: i64 = r.get(1)?;
            let readable = match &reader {
                None => true,
                Some(user) => match kind_from_sql(r.get(2)?) {
                    ChatType::Single => {
                        r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)? == user
                            || r.get_ref(4)?.as_str().map_err(rusqlite::Error::from)? == user
                    }
                    ChatType::Group => member.exists(params![user, conv])?,
                    ChatType::Room => true,
                },
            };
            if readable {
                secrets.push(r.get::<_, Option<String>>(0)?);
            }
        }
        if secrets.is_empty() {
            return Ok(None);
        }
        let stored = self
            .conn
            .prepare_cached(
                "SELECT content_type, length(bytes), length(thumbnail), expires
                 FROM files WHERE uuid = ?1",
            )?
            .query_row([&uuid], |r| {
                Ok(StoredFile {
                    content_type: r.get(0)?,
                    length: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    thumbnail_length: r
                        .get::<_, Option<i64>>(2)?
                        .map(|n| n.try_into().unwrap_or(0)),
                    expires: r.get(3)?,
                })
            })
            .optional()?;
        Ok(Some(FileAccess { secrets, stored }))
    }

    /// Bytes `range` of a stored file (or of its thumbnail), cut to what it holds; `None`
    /// when it is not stored. Check [`Store::file_access`] first: this checks nothing.
    pub fn file_bytes(
        &self,
        uuid: &str,
        thumbnail: bool,
        range: Range<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Ok(uuid) = checked_uuid(uuid) else {
            return Ok(None);
        };
        let column = if thumbnail { "thumbnail" } else { "bytes" };
        // substr counts a blob's bytes from 1.
        let start = i64::try_from(range.start)
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        let len = i64::try_from(range.end.saturating_sub(range.start)).unwrap_or(i64::MAX);
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT substr({column}, ?2, ?3) FROM files WHERE uuid = ?1 AND {column} IS NOT NULL"
            ))?
            .query_row(params![uuid, start, len], |r| r.get::<_, Vec<u8>>(0))
            .optional()?)
    }
}

/// A uuid as stored: checked, lowercase.
pub(crate) fn checked_uuid(uuid: &str) -> Result<String, StoreError> {
    if is_uuid(uuid) {
        Ok(uuid.to_ascii_lowercase())
    } else {
        Err(StoreError::File(format!(
            "{:?} is not a file uuid",
            uuid.chars().take(80).collect::<String>()
        )))
    }
}
