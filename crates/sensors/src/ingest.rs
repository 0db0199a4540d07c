//! Ingest: messages from a watched folder, from stdin (NDJSON) or from MQTT become one stream
//! of parsed readings through QC into the store. [`Pipeline::process`] takes a batch of
//! messages: each is parsed (what is not a reading is rejected with its reason), every reading
//! goes through QC, and the batch's decisions and rejections are stored in one transaction;
//! only then are the messages acknowledged (MQTT) or their files moved to `done/`.

use crate::qc::{Decision, ModelView, Qc};
use crate::reading::{self, Rejected};
use crate::reason::Reason;
use crate::store::{Batch, Store, StoreError};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// What a batch of messages gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every QC decision, with its message's source.
    pub decisions: Vec<(Decision, String)>,
    /// Every rejected message (or element), with its source.
    pub rejected: Vec<(Rejected, String)>,
}

impl Outcome {
    /// Accepted readings.
    pub fn accepted(&self) -> usize {
        self.decisions.iter().filter(|(d, _)| d.accepted()).count()
    }
}

/// Parse → QC → store.
pub struct Pipeline<'r> {
    /// The QC (its counts are the pipeline's).
    pub qc: Qc<'r>,
    /// The store, if readings are kept.
    pub store: Option<Store>,
    /// Largest message, bytes.
    pub max_message_bytes: usize,
}

impl<'r> Pipeline<'r> {
    /// A pipeline.
    pub fn new(qc: Qc<'r>, store: Option<Store>, max_message_bytes: usize) -> Pipeline<'r> {
        Pipeline {
            qc,
            store,
            max_message_bytes,
        }
    }

    /// Parses and checks a batch of `(source, payload)` messages and stores the result in one
    /// transaction (durable when this returns `Ok`). `flush` releases held jumps at the end
    /// (the end of a stream or a file batch).
    pub fn process(
        &mut self,
        msgs: &[(String, Vec<u8>)],
        model: &dyn ModelView,
        flush: bool,
    ) -> Result<Outcome, StoreError> {
        self.process_limited(msgs, model, flush, self.max_message_bytes)
    }

    /// [`Pipeline::process`] with another size limit (whole files).
    pub fn process_limited(
        &mut self,
        msgs: &[(String, Vec<u8>)],
        model: &dyn ModelView,
        flush: bool,
        max_bytes: usize,
    ) -> Result<Outcome, StoreError> {
        let mut out = Outcome::default();
        for (source, payload) in msgs {
            for r in reading::parse_message(payload, max_bytes) {
                match r {
                    Ok(r) => {
                        for d in self.qc.push(r, model) {
                            out.decisions.push((d, source.clone()));
                        }
                    }
                    Err(e) => {
                        self.qc.count_rejected(e.reason);
                        out.rejected.push((e, source.clone()));
                    }
                }
            }
        }
        if flush {
            for d in self.qc.flush() {
                out.decisions.push((d, "flush".into()));
            }
        }
        self.store_outcome(&out)?;
        Ok(out)
    }

    /// Stores decisions and rejections made elsewhere (released held jumps).
    pub fn store_outcome(&mut self, out: &Outcome) -> Result<(), StoreError> {
        if let Some(store) = &mut self.store {
            let batch = Batch {
                decisions: out.decisions.iter().map(|(d, s)| (d, s.as_str())).collect(),
                rejected: out.rejected.iter().map(|(r, s)| (r, s.as_str())).collect(),
                held: Some(self.qc.held()),
            };
            store.append(&batch)?;
        }
        Ok(())
    }

    /// After a restart: the readings QC held undecided when the last batch was stored are
    /// checked again, first (with a fresh QC, a held jump has nothing to jump from, so it is
    /// judged on its own). Call before taking new messages.
    pub fn recover_held(&mut self, model: &dyn ModelView) -> Result<Outcome, StoreError> {
        let Some(store) = &self.store else {
            return Ok(Outcome::default());
        };
        let mut out = Outcome::default();
        for (sensor, time_ms, time, value, unit) in store.held()? {
            let r = reading::Reading {
                sensor: reading::SensorRef::Id(sensor),
                time_ms,
                time,
                value,
                unit: Some(unit),
                quality: None,
            };
            for d in self.qc.push(r, model) {
                out.decisions.push((d, "held before a restart".into()));
            }
        }
        self.store_outcome(&out)?;
        Ok(out)
    }
}

/// Default largest file in a watched folder, bytes.
pub const DEFAULT_MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// A watched folder: files are moved in atomically (written elsewhere, then renamed in);
/// hidden files (`.name`) and names ending `.part` or `.tmp` are still being written and are
/// left alone. A processed file goes to `done/`; a file with no reading in it to `rejected/`,
/// with `NAME.reason.txt` beside it; a file with some bad parts goes to `done/` with its
/// `NAME.reason.txt` listing them.
pub struct Folder {
    dir: PathBuf,
}

impl Folder {
    /// Watches `dir` (creating `done/` and `rejected/` in it).
    pub fn new(dir: &Path) -> io::Result<Folder> {
        std::fs::create_dir_all(dir.join("done"))?;
        std::fs::create_dir_all(dir.join("rejected"))?;
        Ok(Folder {
            dir: dir.to_path_buf(),
        })
    }

    /// The files waiting, in name order.
    pub fn waiting(&self) -> io::Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if !e.file_type()?.is_file()
                || name.starts_with('.')
                || name.ends_with(".part")
                || name.ends_with(".tmp")
            {
                continue;
            }
            v.push(e.path());
        }
        v.sort();
        Ok(v)
    }

    /// Reads a waiting file, at most `max_bytes` of it (a larger one reads as oversized).
    pub fn read(path: &Path, max_bytes: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(path)?
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Moves a processed file to `done/` or `rejected/` (by whether any reading came from it),
    /// writing `NAME.reason.txt` beside it when anything in it was rejected or quarantined.
    /// Returns where it went.
    pub fn finish(&self, path: &Path, out: &Outcome) -> io::Result<PathBuf> {
        let source = path.display().to_string();
        let mine = |s: &String| *s == source;
        let readings = out.decisions.iter().filter(|(_, s)| mine(s)).count();
        let mut reasons = String::new();
        for (r, s) in out.rejected.iter().filter(|(_, s)| mine(s)) {
            let _ = s;
            reasons += &format!("{}: {}\n", r.reason.code(), r.detail);
        }
        for (d, _) in out.decisions.iter().filter(|(_, s)| mine(s)) {
            if let Some(r) = d.reason().filter(|r| !r.is_warning()) {
                reasons += &format!(
                    "{} {} {}: {} ({})\n",
                    r.code(),
                    d.sensor_id,
                    d.time,
                    r.en(),
                    d.detail
                );
            }
        }
        let sub = if readings == 0 { "rejected" } else { "done" };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut target = self.dir.join(sub).join(&name);
        let mut k = 1;
        while target.exists() {
            target = self.dir.join(sub).join(format!("{name}.{k}"));
            k += 1;
        }
        if !reasons.is_empty() {
            let rp = PathBuf::from(format!("{}.reason.txt", target.display()));
            let tmp = PathBuf::from(format!("{}.part", rp.display()));
            std::fs::write(&tmp, reasons)?;
            std::fs::rename(&tmp, &rp)?;
        }
        std::fs::rename(path, &target)?;
        Ok(target)
    }
}

/// One poll of a watched folder: every waiting file is read (at most `max_file_bytes`),
/// parsed, checked and stored in one transaction, then moved to `done/` or `rejected/`.
/// Returns where each file went.
pub fn folder_once(
    p: &mut Pipeline,
    folder: &Folder,
    model: &dyn ModelView,
    max_file_bytes: usize,
) -> Result<Vec<PathBuf>, String> {
    let files = folder
        .waiting()
        .map_err(|e| format!("{}: {e}", folder.dir.display()))?;
    if files.is_empty() {
        return Ok(vec![]);
    }
    let mut msgs = Vec::with_capacity(files.len());
    for f in &files {
        let bytes = Folder::read(f, max_file_bytes).map_err(|e| format!("{}: {e}", f.display()))?;
        msgs.push((f.display().to_string(), bytes));
    }
    let out = p
        .process_limited(&msgs, model, false, max_file_bytes)
        .map_err(|e| e.to_string())?;
    files
        .iter()
        .map(|f| {
            folder
                .finish(f, &out)
                .map_err(|e| format!("{}: {e}", f.display()))
        })
        .collect()
}

/// Reads lines of at most `max` bytes: each `Ok(line)` or, for a longer line (read to its end
/// and dropped), `Err(length)`. Never holds more than `max` bytes of a line.
pub struct BoundedLines<R> {
    r: R,
    max: usize,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `r`, at most `max` bytes each.
    pub fn new(r: R, max: usize) -> Self {
        BoundedLines { r, max }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Result<Vec<u8>, usize>>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        let mut len = 0usize;
        let mut last = 0u8;
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            };
            if buf.is_empty() {
                if len == 0 {
                    return None;
                }
                break;
            }
            let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
                Some(p) => (&buf[..p], Some(p + 1)),
                None => (buf, None),
            };
            if len + chunk.len() <= self.max {
                line.extend_from_slice(chunk);
            }
            len += chunk.len();
            if let Some(b) = chunk.last() {
                last = *b;
            }
            let used = found.unwrap_or(buf.len());
            self.r.consume(used);
            if found.is_some() {
                break;
            }
        }
        if last == b'\r' {
            len -= 1;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Some(Ok(if len > self.max { Err(len) } else { Ok(line) }))
    }
}

/// A stdin line that is too long, as a rejection.
pub fn oversized_line(len: usize, max: usize) -> Rejected {
    Rejected {
        reason: Reason::Oversized,
        detail: format!("a line of {len} bytes, the limit is {max}"),
        excerpt: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines_drop_long_lines_whole() {
        let text = b"short\n0123456789abcdef\r\nok\nlast";
        let r = std::io::BufReader::with_capacity(4, &text[..]);
        let lines: Vec<_> = BoundedLines::new(r, 8).map(|l| l.unwrap()).collect();
        assert_eq!(
            lines,
            vec![
                Ok(b"short".to_vec()),
                Err(16),
                Ok(b"ok".to_vec()),
                Ok(b"last".to_vec())
            ]
        );
    }
}
