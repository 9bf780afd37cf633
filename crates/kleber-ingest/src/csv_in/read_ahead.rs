//! A CSV file's records read on a thread of their own.
//!
//! Tokenizing the CSV (finding fields, quotes and line ends, checking UTF-8) was a third of an
//! import's CPU, done twice (type inference, then conversion) on the thread that also infers
//! and converts. [`ReadAhead`] runs a [`Stream`] on its own thread and hands its records over
//! in chunks, so both passes use a second core. Chunks come back empty to be refilled: the
//! records' buffers are reused, not reallocated.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use encoding_rs::Encoding;

use super::{Next, Stream};
use crate::error::Error;

/// Records a chunk holds.
const CHUNK_RECORDS: usize = 1024;

/// Chunks read ahead of the consumer.
const CHUNKS_AHEAD: usize = 4;

/// One record as the stream read it, and where it starts.
struct Item {
    next: Next,
    record: csv::StringRecord,
    line: u64,
}

/// Records read one after the other, and the bytes of the file read after the last.
struct Chunk {
    items: Vec<Item>,
    len: usize,
    bytes: u64,
}

/// A [`Stream`] read on its own thread; same answers, in the same order.
pub(super) struct ReadAhead {
    path: PathBuf,
    chunks: Receiver<Result<Chunk, Error>>,
    spent: Sender<Vec<Item>>,
    items: Vec<Item>,
    len: usize,
    pos: usize,
    /// The line where the last record handed over starts.
    pub(super) line: u64,
    /// Bytes of the file read so far (up to a chunk ahead of the records handed over).
    pub(super) bytes: u64,
}

impl ReadAhead {
    /// Starts reading `path` (as [`Stream::open`] would) on a new thread.
    pub(super) fn open(
        path: &Path,
        enc: &'static Encoding,
        bom: usize,
        delim: u8,
        quote: u8,
    ) -> Result<ReadAhead, Error> {
        let (tx, chunks) = sync_channel(CHUNKS_AHEAD);
        let (spent, refill) = channel();
        let owned = path.to_path_buf();
        std::thread::Builder::new()
            .name("kleber-csv-read".to_owned())
            .spawn(move || read(&owned, Stream::open(&owned, enc, bom, delim, quote), &tx, &refill))
            .map_err(|e| Error::input(path, e))?;
        Ok(ReadAhead {
            path: path.to_path_buf(),
            chunks,
            spent,
            items: Vec::new(),
            len: 0,
            pos: 0,
            line: 0,
            bytes: bom as u64,
        })
    }

    /// Reads the next record into `record`; [`ReadAhead::line`] is then the line where it
    /// starts.
    pub(super) fn next(&mut self, record: &mut csv::StringRecord) -> Result<Next, Error> {
        loop {
            if self.pos < self.len {
                let item = &mut self.items[self.pos];
                self.pos += 1;
                std::mem::swap(record, &mut item.record);
                self.line = item.line;
                return Ok(item.next);
            }
            let spent = std::mem::take(&mut self.items);
            if !spent.is_empty() {
                // The reader may have stopped (after the end or an error): nothing to refill.
                let _ = self.spent.send(spent);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    (self.items, self.len, self.pos) = (chunk.items, chunk.len, 0);
                    self.bytes = chunk.bytes;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(Error::unreadable(
                        &self.path,
                        "the CSV reader stopped before the end of the file".to_owned(),
                    ));
                }
            }
        }
    }
}

/// The reading thread: fills chunks until the end, an error, or the consumer's going away.
fn read(
    path: &Path,
    opened: Result<Stream, Error>,
    chunks: &SyncSender<Result<Chunk, Error>>,
    refill: &Receiver<Vec<Item>>,
) {
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(e) => {
            let _ = chunks.send(Err(e));
            return;
        }
    };
    loop {
        let mut items = refill.try_recv().unwrap_or_default();
        let mut len = 0;
        let mut ended = false;
        let mut failed = None;
        while len < CHUNK_RECORDS {
            if len == items.len() {
                items.push(Item { next: Next::End, record: csv::StringRecord::new(), line: 0 });
            }
            let item = &mut items[len];
            match stream.next(path, &mut item.record) {
                Ok(next) => {
                    (item.next, item.line) = (next, stream.line);
                    len += 1;
                    if matches!(next, Next::End) {
                        ended = true;
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let chunk = Chunk { items, len, bytes: stream.bytes.get() };
        // A send fails only when the consumer is gone (it stopped reading): stop too.
        if chunks.send(Ok(chunk)).is_err() || ended {
            return;
        }
        if let Some(e) = failed {
            let _ = chunks.send(Err(e));
            return;
        }
    }
}
