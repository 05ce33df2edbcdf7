//! Attachments on PostgreSQL, with the SQLite store's rules (see [`crate::store::files`]):
//! a file is served to whoever may read a message naming it, with that message's secret;
//! stored files are immutable.

use std::ops::Range;

use super::{PgError, PgStore};
use crate::protocol::ChatType;
use crate::protocol::files::chatfile_uuid;
use crate::store::files::{FileAccess, PutFile, StoredFile, checked_file, checked_uuid};
use crate::store::schema::kind_from_sql;
use crate::store::{StoreError, check_id, message_from_row};

impl PgStore {
    /// Stores a file's bytes (and optionally a thumbnail) under `uuid`, when a message
    /// names it, as [`crate::store::Store::put_file`].
    pub async fn put_file(
        &self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
        expires: Option<i64>,
    ) -> Result<PutFile, StoreError> {
        let uuid = checked_file(uuid, bytes, thumbnail)?;
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        let client = self.client().await?;
        let named = client
            .prepare_cached("SELECT 1 FROM message_files WHERE uuid = $1 LIMIT 1")
            .await
            .map_err(db)?;
        if client
            .query_opt(&named, &[&uuid])
            .await
            .map_err(db)?
            .is_none()
        {
            return Ok(PutFile::NotNamed);
        }
        let put = client
            .prepare_cached(
                "INSERT INTO files(uuid, content_type, bytes, thumbnail, expires)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uuid) DO NOTHING",
            )
            .await
            .map_err(db)?;
        let written = client
            .execute(&put, &[&uuid, &content_type, &bytes, &thumbnail, &expires])
            .await
            .map_err(db)?;
        Ok(if written == 1 {
            PutFile::Stored
        } else {
            PutFile::AlreadyStored
        })
    }

    /// The file name the first message naming `uuid` gives it, when one does.
    pub async fn file_name(&self, uuid: &str) -> Result<Option<String>, StoreError> {
        let Ok(uuid) = checked_uuid(uuid) else {
            return Ok(None);
        };
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT m.id, m.chat_type, m.sender, m.receiver, m.time, m.json
                 FROM message_files mf JOIN messages m ON m.id = mf.message
                 WHERE mf.uuid = $1 ORDER BY m.id LIMIT 1",
            )
            .await
            .map_err(db)?;
        let Some(r) = client.query_opt(&stmt, &[&uuid]).await.map_err(db)? else {
            return Ok(None);
        };
        let kind: i16 = r.try_get(1).map_err(db)?;
        let json: String = r.try_get(5).map_err(db)?;
        let message = message_from_row(
            r.try_get(0).map_err(db)?,
            i64::from(kind),
            r.try_get(2).map_err(db)?,
            r.try_get(3).map_err(db)?,
            r.try_get(4).map_err(db)?,
            &json,
        )?;
        Ok(message.content.attachment().map(|f| {
            if chatfile_uuid(&f.url).as_deref() == Some(uuid.as_str()) {
                f.filename.clone()
            } else {
                format!("{}.thumbnail", f.filename)
            }
        }))
    }

    /// What `reader` may know of the file `uuid` (`None` as reader: the app's
    /// administrator), as [`crate::store::Store::file_access`].
    pub async fn file_access(
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
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        let client = self.client().await?;
        let links = client
            .prepare_cached(
                "SELECT mf.secret, m.conv, c.kind, m.sender, m.receiver,
                        EXISTS (SELECT 1 FROM user_convs uc
                                WHERE uc.\"user\" = $2 AND uc.conv = m.conv)
                 FROM message_files mf
                 JOIN messages m ON m.id = mf.message
                 JOIN convs c ON c.id = m.conv
                 WHERE mf.uuid = $1",
            )
            .await
            .map_err(db)?;
        let asker = reader.clone().unwrap_or_default();
        let mut secrets = Vec::new();
        for r in client.query(&links, &[&uuid, &asker]).await.map_err(db)? {
            let kind: i16 = r.try_get(2).map_err(db)?;
            let readable = match &reader {
                None => true,
                Some(user) => match kind_from_sql(i64::from(kind)) {
                    ChatType::Single => {
                        r.try_get::<_, &str>(3).map_err(db)? == user
                            || r.try_get::<_, &str>(4).map_err(db)? == user
                    }
                    ChatType::Group => r.try_get(5).map_err(db)?,
                    ChatType::Room => true,
                },
            };
            if readable {
                secrets.push(r.try_get::<_, Option<String>>(0).map_err(db)?);
            }
        }
        if secrets.is_empty() {
            return Ok(None);
        }
        let stmt = client
            .prepare_cached(
                "SELECT content_type, length(bytes)::bigint, length(thumbnail)::bigint, expires
                 FROM files WHERE uuid = $1",
            )
            .await
            .map_err(db)?;
        let stored = match client.query_opt(&stmt, &[&uuid]).await.map_err(db)? {
            None => None,
            Some(r) => Some(StoredFile {
                content_type: r.try_get(0).map_err(db)?,
                length: r.try_get::<_, i64>(1).map_err(db)?.try_into().unwrap_or(0),
                thumbnail_length: r
                    .try_get::<_, Option<i64>>(2)
                    .map_err(db)?
                    .map(|n| n.try_into().unwrap_or(0)),
                expires: r.try_get(3).map_err(db)?,
            }),
        };
        Ok(Some(FileAccess { secrets, stored }))
    }

    /// Bytes `range` of a stored file (or of its thumbnail), cut to what it holds; `None`
    /// when it is not stored. Check [`PgStore::file_access`] first: this checks nothing.
    pub async fn file_bytes(
        &self,
        uuid: &str,
        thumbnail: bool,
        range: Range<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Ok(uuid) = checked_uuid(uuid) else {
            return Ok(None);
        };
        let column = if thumbnail { "thumbnail" } else { "bytes" };
        // substring counts bytes from 1.
        let start = i32::try_from(range.start.saturating_add(1)).unwrap_or(i32::MAX);
        let len = i32::try_from(range.end.saturating_sub(range.start)).unwrap_or(i32::MAX);
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT substring({column} FROM $2 FOR $3) FROM files
                 WHERE uuid = $1 AND {column} IS NOT NULL"
            ))
            .await
            .map_err(db)?;
        let row = client
            .query_opt(&stmt, &[&uuid, &start, &len])
            .await
            .map_err(db)?;
        row.map(|r| r.try_get::<_, Vec<u8>>(0).map_err(db))
            .transpose()
    }
}
