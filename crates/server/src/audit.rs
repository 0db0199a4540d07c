//! The audit log: one SQLite table, appended to for every write and every refused request,
//! values bound as parameters (no SQL text is ever built from a request).

use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    department TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    peer TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
";

/// One audit record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    /// When, ms since the epoch.
    pub time_ms: i64,
    /// The token's name (`-` when no valid token was presented).
    pub who: String,
    /// The token's department.
    pub department: String,
    /// HTTP method.
    pub method: String,
    /// Path and query as requested.
    pub path: String,
    /// The peer's address.
    pub peer: String,
    /// The HTTP status answered.
    pub status: u16,
    /// What happened (the error message, or what a write did).
    pub outcome: String,
}

/// Opens an SQLite file for durable appends (WAL, full sync: a row is on disk when its
/// statement returns) and makes sure `schema` exists.
pub(crate) fn open_durable(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(schema)?;
    Ok(conn)
}

/// The audit store.
pub struct Audit {
    conn: Mutex<Connection>,
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Audit {
    /// Opens (creating if needed) the audit store at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Audit> {
        Ok(Audit {
            conn: Mutex::new(open_durable(path, SCHEMA)?),
        })
    }

    /// Appends one record (durable when it returns).
    pub fn append(&self, r: &Record) -> rusqlite::Result<()> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        c.execute(
            "INSERT INTO audit (time_ms, who, department, method, path, peer, status, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                r.time_ms,
                clip(&r.who, 200),
                clip(&r.department, 200),
                clip(&r.method, 20),
                clip(&r.path, 2000),
                clip(&r.peer, 100),
                r.status,
                clip(&r.outcome, 2000)
            ],
        )?;
        Ok(())
    }

    /// The latest `limit` records, newest first.
    pub fn latest(&self, limit: usize) -> rusqlite::Result<Vec<Record>> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = c.prepare(
            "SELECT time_ms, who, department, method, path, peer, status, outcome
             FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(Record {
                time_ms: r.get(0)?,
                who: r.get(1)?,
                department: r.get(2)?,
                method: r.get(3)?,
                path: r.get(4)?,
                peer: r.get(5)?,
                status: r.get(6)?,
                outcome: r.get(7)?,
            })
        })?;
        rows.collect()
    }
}
