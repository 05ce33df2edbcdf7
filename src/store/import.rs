//! `roam import`: the service's history export files (PROTOCOL.md §3.3, one JSON object per
//! line, plain or gzip) into the store.
//!
//! A line that cannot be read is reported with its file and line number and skipped; it
//! never stops the rest of the file. Lines are parsed completely before anything is
//! written, and written in transactions of many lines, so a bad line cannot half-write and
//! a crash loses at most the batch in flight. Importing the same file again adds nothing:
//! message ids already stored are skipped (the first copy wins).

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Store, StoreError, check_id};
use crate::protocol::Message;
use crate::protocol::json::ExportLine;

/// The longest line read; longer ones are rejected without holding them in memory.
pub const MAX_LINE_BYTES: usize = 8 << 20;
/// How many rejections a summary keeps in full; the rest are only counted.
pub const MAX_KEPT_REJECTIONS: usize = 1000;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Draw a progress bar on stderr (it stays hidden anyway when stderr is no terminal).
    pub progress: bool,
    /// Messages per transaction.
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            progress: true,
            batch_size: 20_000,
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
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines read: {} new, {} already stored, {} rejected",
            self.read, self.new, self.duplicates, self.rejected_total
        )
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

/// Counts the bytes read from the file (compressed bytes for gzip) for the progress bar.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Imports export files in order. All files are opened first, so a wrong name stops the
/// import before anything is written.
pub fn import_files(
    store: &mut Store,
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
    with_full_sync(store, |store| {
        for (path, file) in files {
            let count = Rc::new(Cell::new(0));
            let reader = Counting {
                inner: file,
                count: Rc::clone(&count),
            };
            let name = path.display().to_string();
            bar.set_message(short_name(path));
            import_stream(store, &name, reader, options, &mut summary, &|| {
                bar.set_position(done + count.get());
            })?;
            done += count.get();
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(summary)
}

/// Imports one stream (plain or gzip, told by its first bytes) named `name` in rejections.
pub fn import_reader<R: Read>(
    store: &mut Store,
    name: &str,
    reader: R,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    with_full_sync(store, |store| {
        import_stream(store, name, reader, options, &mut summary, &|| {})
    })?;
    Ok(summary)
}

/// Runs an import with `synchronous=FULL`, so each committed batch is on disk, and puts the
/// connection's usual setting back after.
fn with_full_sync(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    store.set_synchronous("FULL")?;
    let result = f(store);
    let restored = store.set_synchronous("NORMAL");
    result?;
    restored?;
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

fn import_stream<R: Read>(
    store: &mut Store,
    name: &str,
    reader: R,
    options: &ImportOptions,
    summary: &mut ImportSummary,
    tick: &dyn Fn(),
) -> Result<(), ImportError> {
    let mut plain = BufReader::with_capacity(256 << 10, reader);
    // Gzip by its magic bytes, whatever the file is called.
    let is_gzip = match plain.fill_buf() {
        Ok(head) => head.starts_with(&[0x1f, 0x8b]),
        Err(e) => {
            summary.reject(name, 1, format!("read error: {e}"));
            return Ok(());
        }
    };
    let mut lines: Box<dyn BufRead> = if is_gzip {
        Box::new(BufReader::with_capacity(
            256 << 10,
            MultiGzDecoder::new(plain),
        ))
    } else {
        Box::new(plain)
    };

    let batch_size = options.batch_size.max(1);
    let mut batch: Vec<Message> = Vec::with_capacity(batch_size.min(100_000));
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let read = (&mut lines)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                // A truncated or corrupt file: keep what was read, report where it broke.
                summary.reject(name, line_no + 1, format!("read error: {e}"));
                break;
            }
        }
        line_no += 1;
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            summary.read += 1;
            summary.reject(
                name,
                line_no,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            );
            if let Err(e) = skip_line(&mut lines) {
                summary.reject(name, line_no, format!("read error: {e}"));
                break;
            }
            continue;
        }
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        summary.read += 1;
        match parse_line(line) {
            Ok(message) => batch.push(message),
            Err(reason) => summary.reject(name, line_no, reason),
        }
        if batch.len() >= batch_size {
            flush(store, &mut batch, summary)?;
            tick();
        }
    }
    flush(store, &mut batch, summary)?;
    tick();
    Ok(())
}

fn skip_line(reader: &mut dyn BufRead) -> io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(pos) => {
                reader.consume(pos + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

fn flush(
    store: &mut Store,
    batch: &mut Vec<Message>,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let counts = store.insert_messages(batch)?;
    summary.new += counts.new;
    summary.duplicates += counts.duplicates;
    batch.clear();
    Ok(())
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
