//! The rows of a binary `COPY ... FROM STDIN (FORMAT binary)`, encoded by hand into large
//! chunks.
//!
//! A row is a field count and, per field, its length (-1 for NULL) and its bytes in
//! PostgreSQL's binary form: big-endian integers, text as its UTF-8 bytes. Writing that
//! straight into a buffer costs a few copies a row, where going through `ToSql` and a
//! writer future per row cost several times that on a machine whose cores the server
//! needs too.

use super::PgError;

/// What a binary copy starts with: the signature, no flags, no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// What ends it: a field count of -1.
const TRAILER: &[u8] = &[0xff, 0xff];
/// How big a chunk grows before it is sent: big enough that sending is rare, small
/// enough that the server starts on the rows while the rest are encoded.
pub(super) const CHUNK_BYTES: usize = 1 << 20;

/// A chunk of binary copy data being written.
pub(super) struct CopyRows {
    buf: Vec<u8>,
}

impl CopyRows {
    /// The first chunk (it holds the header).
    pub(super) fn new() -> CopyRows {
        let mut buf = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
        buf.extend_from_slice(HEADER);
        CopyRows { buf }
    }

    /// Starts a row of `fields` fields.
    pub(super) fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    /// A BIGINT field.
    pub(super) fn int8(&mut self, v: i64) {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A SMALLINT field.
    pub(super) fn int2(&mut self, v: i16) {
        self.buf.extend_from_slice(&2i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A TEXT or BYTEA field (its bytes as they are).
    pub(super) fn bytes(&mut self, v: &[u8]) -> Result<(), PgError> {
        let len = i32::try_from(v.len())
            .map_err(|_| PgError::Invariant(format!("a field of {} bytes", v.len())))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
        Ok(())
    }

    /// A NULL field.
    pub(super) fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// The chunk is big enough to send.
    pub(super) fn is_full(&self) -> bool {
        self.buf.len() >= CHUNK_BYTES
    }

    /// Takes the chunk written so far, leaving an empty one.
    pub(super) fn take(&mut self) -> std::io::Cursor<Vec<u8>> {
        let next = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
        std::io::Cursor::new(std::mem::replace(&mut self.buf, next))
    }

    /// The last chunk: what is left, and the trailer.
    pub(super) fn finish(mut self) -> std::io::Cursor<Vec<u8>> {
        self.buf.extend_from_slice(TRAILER);
        std::io::Cursor::new(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_its_count_then_each_field_by_length() {
        let mut rows = CopyRows::new();
        rows.row(4);
        rows.int8(-2);
        rows.int2(1);
        rows.bytes(b"ab").unwrap();
        rows.null();
        let out = rows.finish().into_inner();
        let mut want = HEADER.to_vec();
        want.extend_from_slice(&[0, 4]);
        want.extend_from_slice(&[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        want.extend_from_slice(&[0, 0, 0, 2, 0, 1]);
        want.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(out, want);
        assert_eq!(HEADER.len(), 19);
    }
}
