//! The sensor store: one SQLite file in WAL mode with `synchronous = FULL`, holding accepted
//! readings, quarantined readings with their reasons, rejected messages (malformed, oversized)
//! and each sensor's status. [`Store::append`] writes one batch in one transaction: when it
//! returns `Ok`, the batch is on disk (a kill of the process loses none of it); when it fails
//! nothing of the batch is written. Values go in as bound parameters, never as SQL text, so no
//! input can change the store's structure.

use crate::qc::{Decision, SensorReport, Verdict};
use crate::reading::Rejected;
use rusqlite::{Connection, params};
use std::path::Path;

/// A store error (the file and what failed).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {msg}")]
pub struct StoreError {
    /// The store's file.
    pub path: String,
    /// What failed.
    pub msg: String,
}

/// The store.
pub struct Store {
    conn: Connection,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    time TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    warning TEXT,
    source TEXT NOT NULL,
    UNIQUE (sensor, time_ms)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    time TEXT NOT NULL,
    value REAL,
    unit TEXT,
    raw_value REAL,
    raw_unit TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS held (
    sensor TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    time TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sensor_status (
    sensor TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    last_time_ms INTEGER,
    last_value REAL,
    counts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model_time_s REAL NOT NULL,
    data BLOB NOT NULL
);
";

/// An accepted reading as read back: sensor, time (ms since the epoch), value (the sensor's
/// unit).
pub type StoredReading = (String, i64, f64);

/// A held reading as stored: sensor, time (ms), time as sent, value and unit (the sensor's).
pub type HeldRow = (String, i64, String, f64, String);

/// What a batch holds.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// QC decisions (accepted and quarantined readings).
    pub decisions: Vec<(&'a Decision, &'a str)>,
    /// Messages rejected before they were readings, with their source.
    pub rejected: Vec<(&'a Rejected, &'a str)>,
    /// The readings QC holds undecided after this batch (jumps waiting for the next
    /// reading): they replace those stored before, so an acknowledged reading QC has not yet
    /// decided on survives a kill too (see [`Store::held`]).
    pub held: Option<Vec<&'a Decision>>,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let p = path.display().to_string();
        let err = |e: rusqlite::Error| StoreError {
            path: p.clone(),
            msg: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store { conn, path: p })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            msg: e.to_string(),
        }
    }

    /// Writes a batch in one transaction; durable when it returns `Ok`. A reading already
    /// stored (same sensor and time) is not stored twice: the second goes to the quarantine
    /// as `duplicate`. Returns the number of accepted readings written.
    pub fn append(&mut self, batch: &Batch) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| StoreError {
            path: path.clone(),
            msg: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(err.clone())?;
        let mut written = 0;
        {
            let mut ins = tx
                .prepare_cached("INSERT OR IGNORE INTO readings (sensor, time_ms, time, value, unit, warning, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(&err)?;
            let mut q = tx
                .prepare_cached("INSERT INTO quarantine (sensor, time_ms, time, value, unit, raw_value, raw_unit, reason, detail, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
                .map_err(&err)?;
            for (d, source) in &batch.decisions {
                let (reason, detail) = match d.verdict {
                    Verdict::Accepted(w) => {
                        let n = ins
                            .execute(params![
                                d.sensor_id,
                                d.time_ms,
                                d.time,
                                d.value,
                                d.unit,
                                w.map(|w| w.code()),
                                source
                            ])
                            .map_err(&err)?;
                        if n == 1 {
                            written += 1;
                            continue;
                        }
                        ("duplicate", "already in the store")
                    }
                    Verdict::Quarantined(r) => (r.code(), d.detail.as_str()),
                };
                q.execute(params![
                    d.sensor_id,
                    d.time_ms,
                    d.time,
                    d.value,
                    d.unit,
                    d.raw_value,
                    d.raw_unit,
                    reason,
                    detail,
                    source
                ])
                .map_err(&err)?;
            }
            let mut rj = tx
                .prepare_cached("INSERT INTO rejected (reason, detail, excerpt, source) VALUES (?1, ?2, ?3, ?4)")
                .map_err(&err)?;
            for (r, source) in &batch.rejected {
                rj.execute(params![r.reason.code(), r.detail, r.excerpt, source])
                    .map_err(&err)?;
            }
        }
        if let Some(held) = &batch.held {
            tx.execute("DELETE FROM held", []).map_err(&err)?;
            let mut h = tx
                .prepare_cached("INSERT INTO held (sensor, time_ms, time, value, unit) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(&err)?;
            for d in held {
                h.execute(params![d.sensor_id, d.time_ms, d.time, d.value, d.unit])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(written)
    }

    /// Replaces the sensor status table with `reports`.
    pub fn set_status(&mut self, reports: &[SensorReport]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| StoreError {
            path: path.clone(),
            msg: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(err.clone())?;
        {
            let mut st = tx
                .prepare_cached("INSERT OR REPLACE INTO sensor_status (sensor, status, last_time_ms, last_value, counts) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(&err)?;
            for r in reports {
                let counts = serde_json::to_string(&r.counts).unwrap_or_default();
                st.execute(params![
                    r.id,
                    r.status.code(),
                    r.last_time_ms,
                    r.last_value,
                    counts
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// The readings QC held undecided at the last append, as `(sensor, time_ms, time, value,
    /// unit)`: a restarted ingest checks them again first.
    pub fn held(&self) -> Result<Vec<HeldRow>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT sensor, time_ms, time, value, unit FROM held ORDER BY sensor, time_ms")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Number of accepted readings stored.
    pub fn reading_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM readings")
    }

    /// Number of quarantined readings stored.
    pub fn quarantine_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM quarantine")
    }

    /// Number of rejected messages stored.
    pub fn rejected_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM rejected")
    }

    fn count(&self, sql: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Quarantined readings per reason code, in code order.
    pub fn quarantine_by_reason(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The accepted readings of one sensor, `(time_ms, value)` in time order.
    pub fn series(&self, sensor: &str) -> Result<Vec<(i64, f64)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT time_ms, value FROM readings WHERE sensor = ?1 ORDER BY time_ms")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([sensor], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The accepted readings with `after_ms < time_ms <= until_ms`, in (time, sensor) order.
    pub fn readings_between(
        &self,
        after_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<StoredReading>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT sensor, time_ms, value FROM readings WHERE time_ms > ?1 AND time_ms <= ?2 ORDER BY time_ms, sensor",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![after_ms, until_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The earliest accepted reading's time, ms (`None`: no reading yet).
    pub fn first_reading_ms(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT MIN(time_ms) FROM readings", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Commits what a period of the live loop made in one transaction: its events (`kind`,
    /// time in ms, JSON) appended and the checkpoint of the state after it replacing the one
    /// before. Either both are on disk when this returns `Ok`, or neither is.
    pub fn commit_period(
        &mut self,
        events: &[(String, i64, String)],
        model_time_s: f64,
        checkpoint: &[u8],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| StoreError {
            path: path.clone(),
            msg: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(err.clone())?;
        {
            let mut ev = tx
                .prepare_cached("INSERT INTO live_events (kind, time_ms, data) VALUES (?1, ?2, ?3)")
                .map_err(&err)?;
            for (kind, t, data) in events {
                ev.execute(params![kind, t, data]).map_err(&err)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO live_checkpoint (id, model_time_s, data) VALUES (1, ?1, ?2)",
                params![model_time_s, checkpoint],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    /// The live loop's last checkpoint: its model time (s) and bytes.
    pub fn checkpoint(&self) -> Result<Option<(f64, Vec<u8>)>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT model_time_s, data FROM live_checkpoint WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The live loop's events of one kind (`forecast`, `alert`, `period`), `(time_ms, JSON)`
    /// in the order they were made.
    pub fn events(&self, kind: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT time_ms, data FROM live_events WHERE kind = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// SQLite's own integrity check: `ok` for a sound file.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}
