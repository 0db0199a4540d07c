//! Scenario jobs: a planner posts a scenario file; the server runs it as a child process
//! (`twin scenario run FILE --out DIR --progress-file P`, the same command a planner runs by
//! hand), one or a few at a time, and serves its progress, its files and its report.
//!
//! A posted file runs on the served city: its `city` key is replaced by the city the server
//! read (written afresh into the job's folder when feature edits have changed it), and a
//! request names no path on the server, so rain comes from `[rain] design` (a rain CSV or
//! gauge records named in the file are refused). Jobs are rows of SQLite (`scenario_jobs`, in
//! the audit store's file), written before the answer; each has its folder `JOBS/ID/`
//! (`submitted.toml`, `scenario.toml`, `log.txt`, `progress.json`, `out/`). After a restart a
//! job that was running is `interrupted` (its child is killed with the server: on Linux the
//! child asks for SIGKILL when its parent dies) and queued jobs run.

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scenario_jobs (
    id INTEGER PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    department TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    message TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '[]'
);
";

/// Jobs waiting at most; more are refused with 503.
pub const MAX_QUEUED: usize = 16;

/// How jobs run.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// The `twin` executable.
    pub twin: PathBuf,
    /// The folder of job folders.
    pub dir: PathBuf,
    /// Jobs running at once.
    pub max_running: usize,
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a slot.
    Queued,
    /// Its child is running.
    Running,
    /// Finished; its files are there.
    Done,
    /// The run failed (the message says why).
    Failed,
    /// Cancelled by its planner or an admin.
    Cancelled,
    /// The server stopped while it ran.
    Interrupted,
}

impl Status {
    /// Its name in the store and the API.
    pub fn name(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "done" => Status::Done,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            _ => Status::Interrupted,
        }
    }
}

/// The job store and the runner.
pub struct Jobs {
    cfg: JobsConfig,
    conn: Mutex<Connection>,
    slots: Arc<Semaphore>,
    cancels: Mutex<HashMap<i64, Arc<Notify>>>,
}

type StoreResult<T> = rusqlite::Result<T>;

impl Jobs {
    /// Opens the job store (in the SQLite file at `path`) and marks jobs that were running
    /// when the server stopped as interrupted.
    pub fn open(path: &Path, cfg: JobsConfig) -> anyhow::Result<Jobs> {
        use anyhow::Context;
        std::fs::create_dir_all(&cfg.dir)
            .with_context(|| format!("{}: cannot create the jobs folder", cfg.dir.display()))?;
        let conn = crate::audit::open_durable(path, SCHEMA)
            .with_context(|| format!("{}: cannot open the job store", path.display()))?;
        let n = conn.execute(
            "UPDATE scenario_jobs SET status = 'interrupted', finished_ms = ?1,
             message = 'the server stopped while it ran / máy chủ dừng khi đang chạy'
             WHERE status = 'running'",
            [crate::now_ms()],
        )?;
        if n > 0 {
            tracing::warn!(
                jobs = n,
                "scenario jobs interrupted by the last stop / kịch bản bị gián đoạn"
            );
        }
        let slots = Arc::new(Semaphore::new(cfg.max_running.max(1)));
        Ok(Jobs {
            cfg,
            conn: Mutex::new(conn),
            slots,
            cancels: Mutex::new(HashMap::new()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A job's folder.
    pub fn folder(&self, id: i64) -> PathBuf {
        self.cfg.dir.join(id.to_string())
    }

    /// Moves a job from one of `from` to `to` (one statement, so a cancel and a start or an
    /// end cannot both win); false when the job was not in any of `from`.
    fn transition(&self, id: i64, from: &[Status], to: Status, message: &str) -> StoreResult<bool> {
        // The states are the module's own names, never a request's text.
        let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.name())).collect();
        let time = if to == Status::Running {
            "started_ms"
        } else {
            "finished_ms"
        };
        let n = self.conn().execute(
            &format!(
                "UPDATE scenario_jobs SET status = ?2, {time} = ?3, message = ?4
                 WHERE id = ?1 AND status IN ({})",
                from.join(", ")
            ),
            params![id, to.name(), crate::now_ms(), message],
        )?;
        Ok(n == 1)
    }

    fn status_of(&self, id: i64) -> StoreResult<Option<Status>> {
        self.conn()
            .query_row(
                "SELECT status FROM scenario_jobs WHERE id = ?1",
                [id],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|o| o.map(|s| Status::parse(&s)))
    }

    fn queued(&self) -> StoreResult<Vec<i64>> {
        let c = self.conn();
        let mut st =
            c.prepare("SELECT id FROM scenario_jobs WHERE status = 'queued' ORDER BY id")?;
        st.query_map([], |r| r.get(0))?.collect()
    }

    fn row_json(&self, r: &rusqlite::Row) -> StoreResult<Value> {
        let id: i64 = r.get(0)?;
        let summary: String = r.get(8)?;
        Ok(json!({
            "id": id,
            "created_ms": r.get::<_, i64>(1)?,
            "who": r.get::<_, String>(2)?,
            "department": r.get::<_, String>(3)?,
            "status": r.get::<_, String>(4)?,
            "started_ms": r.get::<_, Option<i64>>(5)?,
            "finished_ms": r.get::<_, Option<i64>>(6)?,
            "message": r.get::<_, String>(7)?,
            "scenario": serde_json::from_str::<Value>(&summary).unwrap_or(Value::Null),
        }))
    }

    /// One job as JSON, with its progress and files.
    pub fn describe(&self, id: i64) -> StoreResult<Option<Value>> {
        let row = {
            let c = self.conn();
            c.query_row(
                "SELECT id, created_ms, who, department, status, started_ms, finished_ms, message, summary
                 FROM scenario_jobs WHERE id = ?1",
                [id],
                |r| self.row_json(r),
            )
            .optional()?
        };
        let Some(mut v) = row else { return Ok(None) };
        let dir = self.folder(id);
        v["progress"] = std::fs::read(dir.join("progress.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        v["files"] = json!(output_files(&dir.join("out")));
        Ok(Some(v))
    }

    /// The latest jobs, newest first.
    pub fn list(&self, limit: usize) -> StoreResult<Vec<Value>> {
        let c = self.conn();
        let mut st = c.prepare(
            "SELECT id, created_ms, who, department, status, started_ms, finished_ms, message, summary
             FROM scenario_jobs ORDER BY id DESC LIMIT ?1",
        )?;
        st.query_map([limit as i64], |r| self.row_json(r))?
            .collect()
    }

    /// Runs the queued jobs (at start).
    pub(crate) fn resume(state: &AppState) {
        let Some(jobs) = &state.jobs else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        match jobs.queued() {
            Ok(ids) => {
                for id in ids {
                    rt.spawn(run(state.clone(), id));
                }
            }
            Err(e) => tracing::error!(error = %e, "queued jobs could not be read"),
        }
    }
}

/// The files a finished job wrote (top level of its `out/`), sorted.
fn output_files(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| safe_name(n))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A file name a request may name: letters, digits, `.`, `_`, `-`, not starting with `.`.
pub fn safe_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && !n.starts_with('.')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What a posted scenario file becomes: the text to run (its `city` replaced) and its
/// one-line descriptions; `Err` names the line and key, or why it cannot run here.
pub fn prepare(text: &str, city: &str) -> Result<(String, Vec<String>), ApiError> {
    use twin_engine::scenario_file::{RainSource, ScenarioFile};
    let sf = ScenarioFile::parse(text)
        .map_err(|e| ApiError::bad(format!("scenario file: {e}"), format!("tệp kịch bản: {e}")))?;
    if !matches!(sf.rain, RainSource::Design(_)) {
        return Err(ApiError::bad(
            "scenario file, key 'rain': a posted scenario names no file on the server; use [rain] design = {…} (a rain CSV or gauge records run with `twin scenario run` where the files are)",
            "tệp kịch bản, khóa 'rain': kịch bản gửi lên không được trỏ tới tệp trên máy chủ; dùng [rain] design = {…}",
        ));
    }
    // The city's value is replaced where it stands, so the rest of the file (its lines, which
    // errors name) stays as posted.
    #[derive(serde::Deserialize)]
    struct CityKey {
        city: toml::Spanned<String>,
    }
    let k: CityKey = toml::from_str(text)
        .map_err(|e| ApiError::bad(format!("scenario file: {e}"), format!("tệp kịch bản: {e}")))?;
    let span = k.city.span();
    let quoted = toml::Value::String(city.to_string()).to_string();
    let out = format!("{}{quoted}{}", &text[..span.start], &text[span.end..]);
    Ok((out, sf.describe()))
}

/// `POST /scenarios`: the job is stored and queued; 202 with its id.
pub(crate) fn submit(s: &AppState, caller: &Caller, text: &str) -> Result<Value, ApiError> {
    let jobs = crate::handlers::jobs_of(s)?;
    let waiting = jobs.queued().map_err(ApiError::internal)?.len();
    if waiting >= MAX_QUEUED {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("{waiting} scenario jobs are waiting; try again when one has run"),
            format!("{waiting} kịch bản đang chờ; thử lại sau"),
        ));
    }
    // Checked before anything is stored; the id comes next (the folder is named by it), and
    // the row is queued only once the files are written.
    prepare(text, "city.gpkg")?;
    let created = crate::now_ms();
    let id = {
        let c = jobs.conn();
        c.execute(
            "INSERT INTO scenario_jobs (created_ms, who, department, status, message)
             VALUES (?1, ?2, ?3, 'failed', 'not written')",
            params![created, caller.name, caller.department],
        )
        .map_err(ApiError::internal)?;
        c.last_insert_rowid()
    };
    let dir = jobs.folder(id);
    let written = (|| {
        std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
        let city = city_for_job(s, &dir)?;
        let (run_text, summary) = prepare(text, &city)?;
        std::fs::write(dir.join("submitted.toml"), text).map_err(ApiError::internal)?;
        std::fs::write(dir.join("scenario.toml"), run_text).map_err(ApiError::internal)?;
        Ok::<_, ApiError>(summary)
    })();
    let summary = match written {
        Ok(x) => x,
        Err(e) => {
            let _ = jobs.transition(id, &[Status::Failed], Status::Failed, &e.en);
            return Err(e);
        }
    };
    jobs.conn()
        .execute(
            "UPDATE scenario_jobs SET status = 'queued', message = '', summary = ?2 WHERE id = ?1",
            params![id, json!(summary).to_string()],
        )
        .map_err(ApiError::internal)?;
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(run(s.clone(), id));
    }
    Ok(json!({"id": id, "status": "queued", "scenario": summary}))
}

/// The city a job runs on: the served GeoPackage, or, when edits have changed the city or it
/// came from PostGIS, the city as served now, written into the job's folder.
fn city_for_job(s: &AppState, dir: &Path) -> Result<String, ApiError> {
    let edited = s.edits.count().map_err(ApiError::internal)?;
    // A city read from a database (`PG:…`) is written out too: `twin scenario run` reads a
    // GeoPackage.
    let from_db = s.city_source.to_string_lossy().starts_with("PG:");
    if edited == 0 && !from_db {
        let p = &s.city_source;
        return Ok(std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string());
    }
    let p = dir.join("city.gpkg");
    let city = s.city();
    twin_io::gpkg::write_city(&city, &p).map_err(ApiError::internal)?;
    Ok(p.display().to_string())
}

/// Cancels a queued or running job (its submitter or an admin).
pub(crate) fn cancel(s: &AppState, caller: &Caller, id: i64) -> Result<Value, ApiError> {
    let jobs = crate::handlers::jobs_of(s)?;
    let v = jobs
        .describe(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_job(id))?;
    if caller.role != Role::Admin && v["who"] != caller.name.as_str() {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            format!(
                "job {id} is {}'s; only they or an admin may cancel it",
                v["who"]
            ),
            format!(
                "kịch bản {id} là của {}; chỉ người gửi hoặc quản trị được huỷ",
                v["who"]
            ),
        ));
    }
    let by = format!("cancelled by {} / đã huỷ", caller.name);
    if !jobs
        .transition(
            id,
            &[Status::Queued, Status::Running],
            Status::Cancelled,
            &by,
        )
        .map_err(ApiError::internal)?
    {
        let st = jobs.status_of(id).map_err(ApiError::internal)?;
        let st = st.map_or("gone", Status::name);
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            format!("job {id} is {st} already"),
            format!("kịch bản {id} đã ở trạng thái {st}"),
        ));
    }
    // A running job's child is stopped by its runner.
    if let Some(n) = jobs
        .cancels
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
    {
        n.notify_one();
    }
    Ok(json!({"id": id, "status": "cancelled"}))
}

pub(crate) fn no_job(id: i64) -> ApiError {
    ApiError::not_found(
        format!("no scenario job {id}"),
        format!("không có kịch bản {id}"),
    )
}

/// Runs one job when a slot frees, unless it was cancelled meanwhile.
async fn run(s: AppState, id: i64) {
    let Some(jobs) = &s.jobs else { return };
    let Ok(_permit) = jobs.slots.clone().acquire_owned().await else {
        return;
    };
    if s.hub.shutting_down() {
        return;
    }
    let cancel = Arc::new(Notify::new());
    jobs.cancels
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, cancel.clone());
    let outcome = run_child(&s, jobs, id, &cancel).await;
    jobs.cancels
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    let (st, msg) = match outcome {
        Ok(()) => (Status::Done, String::new()),
        Err(Ended::Cancelled) => return,
        Err(Ended::Shutdown) => (
            Status::Interrupted,
            "the server stopped while it ran / máy chủ dừng khi đang chạy".to_string(),
        ),
        Err(Ended::Failed(m)) => (Status::Failed, m),
    };
    if let Err(e) = jobs.transition(id, &[Status::Queued, Status::Running], st, &msg) {
        tracing::error!(job = id, error = %e, "the job's end could not be stored");
    }
    tracing::info!(
        job = id,
        status = st.name(),
        "scenario job ended / kịch bản kết thúc"
    );
}

enum Ended {
    Cancelled,
    Shutdown,
    Failed(String),
}

async fn run_child(s: &AppState, jobs: &Jobs, id: i64, cancel: &Notify) -> Result<(), Ended> {
    let dir = jobs.folder(id);
    let log = std::fs::File::create(dir.join("log.txt"))
        .map_err(|e| Ended::Failed(format!("log.txt: {e}")))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Ended::Failed(format!("log.txt: {e}")))?;
    let mut cmd = tokio::process::Command::new(&jobs.cfg.twin);
    cmd.arg("scenario")
        .arg("run")
        .arg(dir.join("scenario.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--progress-file")
        .arg(dir.join("progress.json"))
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; it only sets the signal this child gets when the
    // server dies, so a `kill -9` of the server takes its jobs with it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Only a job still queued starts: one cancelled while it waited stays cancelled.
    if !jobs
        .transition(id, &[Status::Queued], Status::Running, "")
        .map_err(|e| Ended::Failed(e.to_string()))?
    {
        return Err(Ended::Cancelled);
    }
    tracing::info!(job = id, "scenario job started / bắt đầu chạy kịch bản");
    let mut child = cmd.spawn().map_err(|e| {
        Ended::Failed(format!(
            "{} could not be started: {e}",
            jobs.cfg.twin.display()
        ))
    })?;
    let mut stop = s.hub.shutdown_signal();
    tokio::select! {
        r = child.wait() => match r {
            Ok(st) if st.success() => Ok(()),
            Ok(st) => Err(Ended::Failed(format!(
                "twin scenario run ended with {st}: {}",
                last_lines(&dir.join("log.txt"), 3)
            ))),
            Err(e) => Err(Ended::Failed(e.to_string())),
        },
        _ = cancel.notified() => {
            let _ = child.kill().await;
            Err(Ended::Cancelled)
        }
        _ = until_true(&mut stop) => {
            let _ = child.kill().await;
            Err(Ended::Shutdown)
        }
    }
}

/// Resolves when the watched flag is (or turns) true.
async fn until_true(w: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = *w.borrow_and_update();
        if now {
            return;
        }
        if w.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The last `n` non-empty lines of a log, joined (progress-bar redraws dropped).
fn last_lines(p: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# a what-if\ncity = \"../out/demo.gpkg\"   # the city\nminutes = 60\n\n[rain]\ndesign = { return_period_years = 5, duration_min = 60, depth_mm = 80 }\n";

    #[test]
    fn a_posted_file_runs_on_the_served_city_and_names_no_server_file() {
        let (text, summary) = prepare(FILE, "/srv/ha noi \"C\".gpkg").unwrap();
        // Only the city's value changed: the lines stay where they were.
        let (a, b): (Vec<&str>, Vec<&str>) = (text.lines().collect(), FILE.lines().collect());
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x == y, i != 1, "line {}: {x} / {y}", i + 1);
        }
        assert!(a[1].ends_with("   # the city"), "{}", a[1]);
        let sf = twin_engine::scenario_file::ScenarioFile::parse(&text).unwrap();
        assert_eq!(sf.city, "/srv/ha noi \"C\".gpkg");
        assert_eq!(summary.len(), 1, "{summary:?}");
        assert!(summary[0].contains("80 mm"), "{summary:?}");
        let csv = FILE.replace(
            "design = { return_period_years = 5, duration_min = 60, depth_mm = 80 }",
            "csv = \"/etc/passwd\"",
        );
        let e = prepare(&csv, "c.gpkg").unwrap_err();
        assert!(e.en.contains("names no file on the server"), "{}", e.en);
        let e = prepare(&FILE.replace("minutes", "minuets"), "c.gpkg").unwrap_err();
        assert!(e.en.contains("line 3, key 'minuets'"), "{}", e.en);
    }

    fn open(d: &tempfile::TempDir) -> Jobs {
        let cfg = JobsConfig {
            twin: PathBuf::from("twin"),
            dir: d.path().join("jobs"),
            max_running: 1,
        };
        Jobs::open(&d.path().join("store.sqlite"), cfg).unwrap()
    }

    #[test]
    fn a_job_cancelled_while_queued_never_starts_and_an_ended_one_stays_ended() {
        let d = tempfile::tempdir().unwrap();
        let jobs = open(&d);
        let add = || {
            let c = jobs.conn();
            c.execute(
                "INSERT INTO scenario_jobs (created_ms, who, department, status) VALUES (0, 'qh', 'SQHKT', 'queued')",
                [],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        let (a, b) = (add(), add());
        let (q, r) = (Status::Queued, Status::Running);
        // Cancelled while waiting: its runner's start finds it cancelled.
        assert!(jobs.transition(a, &[q, r], Status::Cancelled, "x").unwrap());
        assert!(!jobs.transition(a, &[q], r, "").unwrap());
        assert_eq!(jobs.status_of(a).unwrap(), Some(Status::Cancelled));
        // Started, then done: a late cancel and a second end change nothing.
        assert!(jobs.transition(b, &[q], r, "").unwrap());
        assert!(jobs.transition(b, &[q, r], Status::Done, "").unwrap());
        assert!(!jobs.transition(b, &[q, r], Status::Cancelled, "x").unwrap());
        assert!(!jobs.transition(b, &[q, r], Status::Failed, "x").unwrap());
        assert_eq!(jobs.status_of(b).unwrap(), Some(Status::Done));
        // A restart marks a running job interrupted.
        let c = add();
        assert!(jobs.transition(c, &[q], r, "").unwrap());
        drop(jobs);
        let jobs = open(&d);
        assert_eq!(jobs.status_of(c).unwrap(), Some(Status::Interrupted));
        assert_eq!(jobs.status_of(b).unwrap(), Some(Status::Done));
    }

    #[test]
    fn file_names_from_a_request_stay_in_the_folder() {
        for ok in ["report.html", "max_depth.png", "roads-closed_1.csv"] {
            assert!(safe_name(ok), "{ok}");
        }
        for bad in ["", "..", ".env", "../x", "a/b", "a\\b", "x y", "ñ.csv"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
