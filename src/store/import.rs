//! `roam import`: the service's history export files (PROTOCOL.md §3.3, one JSON object per
//! line, plain or gzip) into the store.
//!
//! A line that cannot be read is reported with its file and line number and skipped; it
//! never stops the rest of the file. A file that cannot be read to its end (a truncated or
//! corrupt gzip, an I/O error) keeps what was read before and is reported with the line and
//! byte offset where it broke; the import goes on with the next file and fails at the end.
//!
//! One thread reads and parses lines into prepared messages while the caller's thread
//! writes the previous batch. A batch is bounded by its size in memory
//! ([`ImportOptions::batch_bytes`]), not by a number of lines, so long lines cannot make a
//! batch large; at most two batches exist at once. Lines are parsed completely before
//! anything is written, and each batch is one transaction, so a bad line cannot half-write
//! and a crash loses at most the batch in flight. Importing the same file again adds
//! nothing: message ids already stored are skipped (the first copy wins).
//!
//! Attachment files beside an export (a `files` folder of files named by the uuid of their
//! URL) are loaded by [`files`], after the messages that name them; its documentation
//! gives the layout.

pub mod files;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::insert::PreparedMessage;
use super::{InsertCounts, Store, StoreError, check_id};
use crate::protocol::Message;
use crate::protocol::json::ExportLine;

/// The longest line read; longer ones are rejected without holding them in memory.
pub const MAX_LINE_BYTES: usize = 8 << 20;
/// How many rejections a summary keeps in full; the rest are only counted.
pub const MAX_KEPT_REJECTIONS: usize = 1000;
/// How many WAL pages may pile up during an import before a checkpoint copies them into
/// the database (SQLite's default is 1,000). A checkpoint after every batch wrote each
/// batch twice; 64 MiB of pages lets several batches share one.
const IMPORT_WAL_PAGES: i64 = 16_384;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Draw a progress bar on stderr (it stays hidden anyway when stderr is no terminal).
    pub progress: bool,
    /// At most this many messages per transaction.
    pub batch_size: usize,
    /// At most about this many bytes of prepared messages per transaction; an import
    /// holds two batches at most.
    pub batch_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            progress: true,
            batch_size: 500_000,
            batch_bytes: 64 << 20,
        }
    }
}

/// One line that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The file, as named on the command line.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// A file that could not be read to its end. Its lines before `line` were imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The file, as named on the command line.
    pub file: String,
    /// The last line read whole (0 when none).
    pub line: u64,
    /// How far into the file reading got, in bytes (of the compressed file, for gzip).
    pub offset: u64,
    /// How many bytes of its content (decompressed, for gzip) were read whole.
    pub content_offset: u64,
    /// Why reading stopped.
    pub reason: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: unreadable after line {} (byte {} of the file",
            self.file, self.line, self.offset
        )?;
        if self.content_offset != self.offset {
            write!(f, ", byte {} of its content", self.content_offset)?;
        }
        write!(f, "): {}; the lines before it were imported", self.reason)
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Non-blank lines read.
    pub read: u64,
    /// Messages stored for the first time.
    pub new: u64,
    /// Messages whose id was already stored.
    pub duplicates: u64,
    /// All rejected lines, counted.
    pub rejected_total: u64,
    /// The first [`MAX_KEPT_REJECTIONS`] rejected lines, with reasons.
    pub rejected: Vec<Rejection>,
    /// Files that could not be read to their end: the import is incomplete.
    pub unreadable: Vec<Unreadable>,
}

impl ImportSummary {
    fn reject(&mut self, file: &str, line: u64, reason: String) {
        self.rejected_total += 1;
        if self.rejected.len() < MAX_KEPT_REJECTIONS {
            self.rejected.push(Rejection {
                file: file.to_string(),
                line,
                reason,
            });
        }
    }

    /// Every line was read and stored (or already stored).
    pub fn is_complete(&self) -> bool {
        self.rejected_total == 0 && self.unreadable.is_empty()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines read: {} new, {} already stored, {} rejected",
            self.read, self.new, self.duplicates, self.rejected_total
        )?;
        if !self.unreadable.is_empty() {
            write!(f, "; {} files unreadable to the end", self.unreadable.len())?;
        }
        Ok(())
    }
}

/// Why an import stopped (a malformed line never does).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An export file could not be opened; nothing was imported.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The database failed; batches committed before stay, the one in flight rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts the bytes read from the file (compressed bytes for gzip), for the progress bar
/// and for saying where a file broke.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where import writes its batches of prepared messages, one transaction each: a SQLite
/// store, or a PostgreSQL one ([`super::pg::PgImport`]).
pub(crate) trait BatchWriter {
    /// Stores one batch, as [`Store::insert_prepared`].
    fn write_batch(&mut self, batch: &[PreparedMessage]) -> Result<InsertCounts, StoreError>;
}

impl BatchWriter for Store {
    fn write_batch(&mut self, batch: &[PreparedMessage]) -> Result<InsertCounts, StoreError> {
        self.insert_prepared(batch)
    }
}

/// Imports export files in order. All files are opened first, so a wrong name stops the
/// import before anything is written.
pub fn import_files(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut summary = None;
    with_import_settings(store, |store| {
        summary = Some(import_files_into(store, paths, options)?);
        Ok(())
    })?;
    Ok(summary.unwrap_or_default())
}

/// [`import_files`] into any [`BatchWriter`].
pub(crate) fn import_files_into(
    writer: &mut dyn BatchWriter,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut files = Vec::with_capacity(paths.len());
    let mut total = 0u64;
    for path in paths {
        let open = |source| ImportError::Open {
            path: path.clone(),
            source,
        };
        let file = File::open(path).map_err(open)?;
        total += file.metadata().map_err(open)?.len();
        files.push((path, file));
    }
    let bar = progress_bar(options, total);
    let mut summary = ImportSummary::default();
    let mut done = 0u64;
    for (path, file) in files {
        let count = Arc::new(AtomicU64::new(0));
        let name = path.display().to_string();
        bar.set_message(short_name(path));
        import_stream(writer, &name, file, &count, options, &mut summary, &|| {
            bar.set_position(done + count.load(Ordering::Relaxed));
        })?;
        done += count.load(Ordering::Relaxed);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Imports one stream (plain or gzip, told by its first bytes) named `name` in rejections.
pub fn import_reader<R: Read + Send>(
    store: &mut Store,
    name: &str,
    reader: R,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    let count = Arc::new(AtomicU64::new(0));
    with_import_settings(store, |store| {
        import_stream(store, name, reader, &count, options, &mut summary, &|| {})
    })?;
    Ok(summary)
}

/// [`import_reader`] into any [`BatchWriter`].
pub(crate) fn import_reader_into<R: Read + Send>(
    writer: &mut dyn BatchWriter,
    name: &str,
    reader: R,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    let count = Arc::new(AtomicU64::new(0));
    import_stream(writer, name, reader, &count, options, &mut summary, &|| {})?;
    Ok(summary)
}

/// Runs an import with `synchronous=FULL`, so each committed batch is on disk, and
/// checkpoints spaced out; puts the connection's usual settings back after.
fn with_import_settings(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    store.set_synchronous("FULL")?;
    store
        .conn
        .pragma_update(None, "wal_autocheckpoint", IMPORT_WAL_PAGES)
        .map_err(StoreError::from)?;
    let result = f(store);
    let restored = store
        .conn
        .pragma_update(None, "wal_autocheckpoint", 1000)
        .map_err(StoreError::from)
        .and_then(|()| store.set_synchronous("NORMAL"));
    // Copy what piled up in the WAL into the database now rather than at some later
    // commit. Busy readers only make this partial: not an error.
    let checkpoint = store
        .conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    result?;
    restored?;
    checkpoint.map_err(StoreError::from)?;
    Ok(())
}

fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

fn progress_bar(options: &ImportOptions, total: u64) -> ProgressBar {
    let target = if options.progress && io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:20!} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// One batch from the reading thread.
#[derive(Default)]
struct Batch {
    messages: Vec<PreparedMessage>,
    /// The line number of each message.
    lines: Vec<u64>,
    /// Lines rejected while reading: (line, reason).
    rejected: Vec<(u64, String)>,
    /// Non-blank lines read.
    read: u64,
    /// Bytes of prepared messages.
    bytes: usize,
    /// Set on the last batch of a file that broke off.
    unreadable: Option<Unreadable>,
}

/// Reads `reader` on a thread of its own while this one writes what it read.
fn import_stream<R: Read + Send>(
    store: &mut dyn BatchWriter,
    name: &str,
    reader: R,
    count: &Arc<AtomicU64>,
    options: &ImportOptions,
    summary: &mut ImportSummary,
    tick: &dyn Fn(),
) -> Result<(), ImportError> {
    let source = Counting {
        inner: reader,
        count: Arc::clone(count),
    };
    // One batch waits while another is written: reading never runs further ahead.
    let (sender, batches) = sync_channel(0);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("import-read".into())
            .spawn_scoped(scope, || read_batches(name, source, options, sender))
            .map_err(|e| StoreError::Thread(e.to_string()))?;
        // Returning drops `batches`, which stops the reader at its next batch.
        write_batches(store, name, batches, summary, tick)
    })
}

fn write_batches(
    store: &mut dyn BatchWriter,
    name: &str,
    batches: Receiver<Batch>,
    summary: &mut ImportSummary,
    tick: &dyn Fn(),
) -> Result<(), ImportError> {
    for batch in batches {
        summary.read += batch.read;
        let mut rejected = batch.rejected;
        if !batch.messages.is_empty() {
            let counts = store.write_batch(&batch.messages)?;
            summary.new += counts.new;
            summary.duplicates += counts.duplicates;
            for (index, reason) in counts.rejected {
                let line = batch.lines.get(index).copied().unwrap_or(0);
                rejected.push((line, reason));
            }
        }
        rejected.sort_by_key(|(line, _)| *line);
        for (line, reason) in rejected {
            summary.reject(name, line, reason);
        }
        summary.unreadable.extend(batch.unreadable);
        tick();
    }
    Ok(())
}

/// An export file's lines: plain or gzip, told by its first bytes, whatever the name.
enum Source<R: Read> {
    Plain(BufReader<Counting<R>>),
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<Counting<R>>>>>),
}

impl<R: Read> Source<R> {
    fn open(reader: Counting<R>) -> io::Result<Source<R>> {
        let mut plain = BufReader::with_capacity(256 << 10, reader);
        let is_gzip = plain.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok(if is_gzip {
            Source::Gzip(Box::new(BufReader::with_capacity(
                256 << 10,
                MultiGzDecoder::new(plain),
            )))
        } else {
            Source::Plain(plain)
        })
    }

    fn lines(&mut self) -> &mut dyn BufRead {
        match self {
            Source::Plain(r) => r,
            Source::Gzip(r) => r,
        }
    }

    /// Where and why the file broke off, after `line` whole lines and `content_offset`
    /// bytes of content.
    fn broke(&self, name: &str, line: u64, content_offset: u64, e: io::Error) -> Unreadable {
        Unreadable {
            file: name.to_string(),
            line,
            offset: self.file_offset(),
            content_offset,
            reason: e.to_string(),
        }
    }

    /// How many bytes of the file were taken from it (read and not still buffered).
    fn file_offset(&self) -> u64 {
        let file = match self {
            Source::Plain(r) => r,
            Source::Gzip(r) => r.get_ref().get_ref(),
        };
        let buffered = file.buffer().len() as u64;
        file.get_ref()
            .count
            .load(Ordering::Relaxed)
            .saturating_sub(buffered)
    }
}

/// The first batch holds at most this share of [`ImportOptions::batch_bytes`].
const FIRST_BATCH_SHARE: usize = 8;

/// The reading thread: lines into prepared messages, in batches, until the end, a read
/// error, or the writer hanging up.
fn read_batches<R: Read>(
    name: &str,
    reader: Counting<R>,
    options: &ImportOptions,
    out: SyncSender<Batch>,
) {
    let mut source = match Source::open(reader) {
        Ok(source) => source,
        Err(e) => {
            let _ = out.send(Batch {
                unreadable: Some(Unreadable {
                    file: name.to_string(),
                    line: 0,
                    offset: 0,
                    content_offset: 0,
                    reason: e.to_string(),
                }),
                ..Batch::default()
            });
            return;
        }
    };
    let batch_size = options.batch_size.max(1);
    // The writer waits for the first batch whole, with nothing to do: a smaller first
    // batch gets it going sooner, while the next one is read.
    let mut batch_bytes = options.batch_bytes / FIRST_BATCH_SHARE;
    let mut batch = Batch::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut content_offset = 0u64;
    loop {
        buf.clear();
        let read = source
            .lines()
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf);
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                batch.unreadable = Some(source.broke(name, line_no, content_offset, e));
                break;
            }
        };
        content_offset += n as u64;
        line_no += 1;
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            batch.read += 1;
            let reason = format!("line longer than {MAX_LINE_BYTES} bytes");
            batch.rejected.push((line_no, reason));
            if let Err(e) = skip_line(source.lines(), &mut content_offset) {
                batch.unreadable = Some(source.broke(name, line_no, content_offset, e));
                break;
            }
            continue;
        }
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        batch.read += 1;
        match parse_line(line).and_then(|m| PreparedMessage::new(&m).map_err(|e| e.to_string())) {
            Ok(message) => {
                batch.bytes += message.memory_size();
                batch.messages.push(message);
                batch.lines.push(line_no);
            }
            Err(reason) => {
                batch.bytes += size_of::<(u64, String)>() + reason.len();
                batch.rejected.push((line_no, reason));
            }
        }
        if batch.messages.len() >= batch_size || batch.bytes >= batch_bytes {
            if out.send(std::mem::take(&mut batch)).is_err() {
                return;
            }
            batch_bytes = options.batch_bytes;
        }
    }
    let _ = out.send(batch);
}

/// Skips the rest of a line too long to hold, counting the bytes passed.
fn skip_line(reader: &mut dyn BufRead, offset: &mut u64) -> io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(pos) => {
                reader.consume(pos + 1);
                *offset += pos as u64 + 1;
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
                *offset += n as u64;
            }
        }
    }
}

/// Reads one export line into a message, or says why not.
pub fn parse_line(line: &[u8]) -> Result<Message, String> {
    let export: ExportLine =
        serde_json::from_slice(line).map_err(|e| format!("not an export line: {e}"))?;
    let mut message = export.to_message().map_err(|e| e.to_string())?;
    message.from = check_id(&message.from).map_err(|e| format!("from: {e}"))?;
    message.to = check_id(&message.to).map_err(|e| format!("to: {e}"))?;
    Ok(message)
}
