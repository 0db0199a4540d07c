//! The planner's what-if: a design storm or a historical day at the city's rain gauges and
//! its start, roads closed and pumps taken out
//! (picked on the map), written as a scenario file (the format `twin scenario run` takes,
//! scenarios/scenario.schema.json) and run by `twin scenario run` in the background while the
//! view stays live; its progress is read from the run's `--progress-file`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A road closed for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct Closure {
    /// The road as the scenario file names it: `id:N` (one segment).
    pub road: String,
    /// Its name, shown in the list.
    pub label: String,
    /// From `HH:MM`.
    pub from: String,
    /// To `HH:MM`.
    pub to: String,
}

/// What the planner has set.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Design storm: total depth, mm.
    pub depth_mm: f64,
    /// Its duration, minutes.
    pub duration_min: f64,
    /// Its return period, years (the IDF curve's shape).
    pub return_period_years: f64,
    /// Clock time the rain starts, `HH:MM`.
    pub rain_start: String,
    /// Person trips of the morning peak.
    pub trips: u32,
    /// Roads closed.
    pub closures: Vec<Closure>,
    /// Pumps out of service, by name.
    pub pumps_out: Vec<String>,
    /// A historical day at the rain gauges instead of the design storm.
    pub historical: Option<HistoricalDay>,
}

/// A historical day: its gauges' daily totals spread over the city (inverse distance) and laid
/// over six hours in the design storm's Chicago shape, peak at 40 % (as
/// scenarios/pilot-hanoi-2025-09-30.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The gauge list.
    pub gauges: PathBuf,
    /// The daily totals.
    pub daily: PathBuf,
}

/// Minutes a historical day's rain is laid over.
pub const HISTORICAL_MIN: f64 = 360.0;

/// The historical days the panel offers: the gauge records and their wettest days.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The gauge list.
    pub gauges: PathBuf,
    /// The daily totals.
    pub daily: PathBuf,
    /// The wettest days, wettest first.
    pub days: Vec<twin_io::gauge_rain::WetDay>,
}

impl History {
    /// Reads the records and ranks their `n` wettest days.
    pub fn read(gauges: &Path, daily: &Path, n: usize) -> Result<History> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))
        };
        let list = twin_io::gauge_rain::parse_gauges(&read(gauges)?, gauges)?;
        let days = twin_io::gauge_rain::wettest_days(&read(daily)?, daily, &list, n)?;
        Ok(History {
            gauges: gauges.to_path_buf(),
            daily: daily.to_path_buf(),
            days,
        })
    }

    /// A plan's historical day on `date`.
    pub fn day(&self, date: &str) -> HistoricalDay {
        HistoricalDay {
            date: date.to_string(),
            gauges: self.gauges.clone(),
            daily: self.daily.clone(),
        }
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            depth_mm: 100.0,
            duration_min: 120.0,
            return_period_years: 10.0,
            rain_start: "06:30".into(),
            trips: 30_000,
            closures: Vec::new(),
            pumps_out: Vec::new(),
            historical: None,
        }
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o += "\\\"",
            '\\' => o += "\\\\",
            '\n' => o += "\\n",
            c if c.is_control() => o += &format!("\\u{:04X}", c as u32),
            c => o.push(c),
        }
    }
    o + "\""
}

impl Plan {
    /// The storm's duration, in whole 10-minute blocks (the design storm's).
    pub fn duration(&self) -> f64 {
        ((self.duration_min / 10.0).round() * 10.0).max(10.0)
    }

    /// Flood minutes: the storm and an hour after it for the water to drain.
    pub fn minutes(&self) -> f64 {
        match self.historical {
            Some(_) => HISTORICAL_MIN + 60.0,
            None => self.duration() + 60.0,
        }
    }

    /// The scenario file of the plan on `city`, coupled to the city's drainage network.
    pub fn to_toml(&self, city: &Path) -> String {
        let rain = match &self.historical {
            Some(h) => format!(
                "historical = {{ date = {}, gauges = {}, daily = {}, spread = \"idw\", power = 2, \
                 duration_min = {HISTORICAL_MIN}, block_min = 10, shape = \"chicago\", peak_at = 0.4 }}",
                quoted(&h.date),
                quoted(&h.gauges.display().to_string()),
                quoted(&h.daily.display().to_string()),
            ),
            None => format!(
                "design = {{ return_period_years = {}, duration_min = {}, depth_mm = {} }}",
                self.return_period_years,
                self.duration(),
                self.depth_mm,
            ),
        };
        let mut t = format!(
            "# Kịch bản của người lập kế hoạch / a planner's scenario (twin app)\n\
             city = {}\nminutes = {}\nrain_start = {}\ncouple = true\n\n[rain]\n\
             {rain}\n\n[traffic]\ntrips = {}\n",
            quoted(&city.display().to_string()),
            self.minutes(),
            quoted(&self.rain_start),
            self.trips,
        );
        for c in &self.closures {
            t += &format!(
                "\n# {}\n[[close_road]]\nroad = {}\nfrom = {}\nto = {}\n",
                c.label.replace('\n', " "),
                quoted(&c.road),
                quoted(&c.from),
                quoted(&c.to)
            );
        }
        if !self.pumps_out.is_empty() {
            let names: Vec<String> = self.pumps_out.iter().map(|n| quoted(n)).collect();
            t += &format!(
                "\n[[pumps]]\nnames = [{}]\ncapacity = 0.0\n",
                names.join(", ")
            );
        }
        t
    }

    /// The plan's file checked by the engine's parser (the error names line and key).
    pub fn check(&self, city: &Path) -> Result<()> {
        twin_engine::scenario_file::ScenarioFile::parse(&self.to_toml(city))
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// `twin` beside this program, else on PATH.
pub fn find_twin() -> Option<PathBuf> {
    let name = format!("twin{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().ok();
    let beside = exe.as_deref().and_then(Path::parent).map(|d| d.join(&name));
    beside
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join(&name)),
        )
        .find(|p| p.is_file())
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Running: the stage and its fraction done.
    Running(String, f64),
    /// Done: the run's folder.
    Done(PathBuf),
    /// Failed: the end of its log.
    Failed(String),
}

/// A plan running in the background: `twin scenario run FILE --out DIR/out --progress-file
/// DIR/progress.json`, its output in `DIR/log.txt`.
pub struct Job {
    child: Child,
    dir: PathBuf,
}

impl Job {
    /// Writes the plan into `dir` and starts `twin` on it.
    pub fn start(twin: &Path, plan: &Plan, city: &Path, dir: &Path) -> Result<Job> {
        plan.check(city)?;
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        let file = dir.join("scenario.toml");
        std::fs::write(&file, plan.to_toml(city)).with_context(|| format!("{}", file.display()))?;
        let log = std::fs::File::create(dir.join("log.txt"))?;
        let child = Command::new(twin)
            .args(["scenario", "run"])
            .arg(&file)
            .arg("--out")
            .arg(dir.join("out"))
            .arg("--progress-file")
            .arg(dir.join("progress.json"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("{}", twin.display()))?;
        Ok(Job {
            child,
            dir: dir.to_path_buf(),
        })
    }

    /// Where the job stands now (never blocks).
    pub fn poll(&mut self) -> JobState {
        match self.child.try_wait() {
            Ok(Some(st)) if st.success() => JobState::Done(self.dir.join("out")),
            Ok(Some(st)) => JobState::Failed(format!(
                "{st}: {}",
                tail(
                    &std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default(),
                    4
                )
            )),
            Err(e) => JobState::Failed(e.to_string()),
            Ok(None) => {
                let p: serde_json::Value = std::fs::read(self.dir.join("progress.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default();
                JobState::Running(
                    p["stage"].as_str().unwrap_or("start").to_string(),
                    p["fraction"].as_f64().unwrap_or(0.0),
                )
            }
        }
    }

    /// Stops the job.
    pub fn cancel(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.cancel();
        }
    }
}

/// The last `n` non-empty lines of a log.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .flat_map(|l| l.rsplit('\r').next())
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Copies a run's report to `to` (a folder: `report.html` in it).
pub fn export_report(run: &Path, to: &Path) -> Result<PathBuf> {
    let from = run.join("report.html");
    if !from.is_file() {
        bail!("{} has no report.html", run.display());
    }
    let dest = if to.is_dir() {
        to.join("report.html")
    } else {
        to.to_path_buf()
    };
    std::fs::copy(&from, &dest).with_context(|| format!("{}", dest.display()))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_engine::scenario_file::{RainSource, ScenarioFile};

    #[test]
    fn a_plan_is_a_scenario_file_the_engine_reads() {
        let mut p = Plan {
            duration_min: 93.0,
            ..Plan::default()
        };
        p.closures.push(Closure {
            road: "id:12".into(),
            label: "Phố \"Huế\"\nmới".into(),
            from: "07:00".into(),
            to: "08:30".into(),
        });
        p.pumps_out = vec!["P1".into(), "Trạm \"Yên Sở\"".into()];
        let city = Path::new("/data/thành phố.gpkg");
        let f = ScenarioFile::parse(&p.to_toml(city)).unwrap();
        assert_eq!(f.city, "/data/thành phố.gpkg");
        // 93 minutes round to 90, a whole number of blocks; an hour more to drain.
        assert_eq!(f.minutes, 150.0);
        assert_eq!(f.rain_start_min, 390.0);
        assert!(f.couple);
        match &f.rain {
            RainSource::Design(d) => {
                assert_eq!((d.duration_min, d.depth_mm), (90.0, Some(100.0)));
                assert_eq!(d.return_period_years, 10.0);
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(f.trips, 30_000);
        assert_eq!(f.close_road.len(), 1);
        assert_eq!(f.close_road[0].road, "id:12");
        assert_eq!(
            (f.close_road[0].from_min, f.close_road[0].to_min),
            (420.0, 510.0)
        );
        assert_eq!(f.pumps.len(), 1);
        assert_eq!(f.pumps[0].capacity, 0.0);
        assert_eq!(
            f.pumps[0].names.as_deref(),
            Some(&["P1".to_string(), "Trạm \"Yên Sở\"".to_string()][..])
        );
        // A historical day at the gauges instead.
        p.historical = Some(HistoricalDay {
            date: "2025-09-30".into(),
            gauges: "/data/gauges.csv".into(),
            daily: "/data/mưa ngày.csv".into(),
        });
        let f = ScenarioFile::parse(&p.to_toml(city)).unwrap();
        assert_eq!(f.minutes, 420.0);
        match &f.rain {
            RainSource::Historical(h) => {
                assert_eq!(h.date, "2025-09-30");
                assert_eq!(h.gauges, "/data/gauges.csv");
                assert_eq!(h.daily, "/data/mưa ngày.csv");
            }
            r => panic!("{r:?}"),
        }
        p.historical.as_mut().unwrap().date = "2025-02-30".into();
        let e = p.check(city).unwrap_err().to_string();
        assert!(e.contains("date"), "{e}");
        p.historical = None;
        // What the engine refuses is refused before anything runs, naming the key.
        p.rain_start = "25:99".into();
        let e = p.check(city).unwrap_err().to_string();
        assert!(e.contains("rain_start"), "{e}");
    }

    #[test]
    fn the_records_offer_their_wettest_days_and_bad_ones_are_refused_by_line() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("g.csv");
        let daily = d.path().join("d.csv");
        std::fs::write(&g, "gauge_id,lon,lat\nc1,105.85,21.03\nc2,105.86,21.02\n").unwrap();
        std::fs::write(
            &daily,
            "date,gauge_id,rain_mm,qc\n2024-07-23,c1,180,ok\n2024-07-23,c2,220,ok\n2025-09-30,c1,260,ok\n2025-09-30,c2,9000,suspect\n2025-01-02,c1,1,ok\n",
        )
        .unwrap();
        let h = History::read(&g, &daily, 2).unwrap();
        let days: Vec<(&str, f64)> = h
            .days
            .iter()
            .map(|w| (w.date.as_str(), w.mean_mm))
            .collect();
        assert_eq!(days, vec![("2025-09-30", 260.0), ("2024-07-23", 200.0)]);
        let day = h.day("2024-07-23");
        assert_eq!((day.gauges, day.daily), (g.clone(), daily.clone()));
        std::fs::write(&daily, "date,gauge_id,rain_mm\n2024-07-23,c9,1\n").unwrap();
        let e = format!("{:#}", History::read(&g, &daily, 2).unwrap_err());
        assert!(
            e.contains("d.csv") && e.contains("line 2") && e.contains("c9"),
            "{e}"
        );
    }

    /// A stand-in for `twin` that writes the progress file and the run folder as
    /// `twin scenario run` does, or fails with a message.
    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("twin");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn wait(j: &mut Job) -> JobState {
        let t0 = std::time::Instant::now();
        loop {
            let s = j.poll();
            if !matches!(s, JobState::Running(..)) || t0.elapsed().as_secs() > 20 {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn a_job_reports_its_progress_its_folder_or_its_error() {
        let d = tempfile::tempdir().unwrap();
        let city = d.path().join("c.gpkg");
        // Arguments: scenario run FILE --out DIR --progress-file P.
        let ok = script(
            d.path(),
            r#"test "$1 $2" = "scenario run" || exit 9
grep -q 'depth_mm = 100' "$3" || exit 8
printf '{"stage": "flood", "fraction": 0.5}' > "$7"
sleep 0.5
mkdir -p "$5" && echo '<html>' > "$5/report.html""#,
        );
        let mut j = Job::start(&ok, &Plan::default(), &city, &d.path().join("p1")).unwrap();
        let mut seen = None;
        let t0 = std::time::Instant::now();
        while seen.is_none() && t0.elapsed().as_secs() < 20 {
            if let JobState::Running(stage, f) = j.poll()
                && stage == "flood"
            {
                seen = Some(f);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(seen, Some(0.5));
        let out = d.path().join("p1").join("out");
        assert_eq!(wait(&mut j), JobState::Done(out.clone()));
        assert!(
            std::fs::read_to_string(d.path().join("p1/scenario.toml"))
                .unwrap()
                .contains("[rain]")
        );
        let to = d.path().join("exported.html");
        assert_eq!(export_report(&out, &to).unwrap(), to);
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "<html>\n");
        assert!(export_report(d.path(), &to).is_err());

        let bad = script(d.path(), "echo 'the city has no DEM' >&2; exit 1");
        let mut j = Job::start(&bad, &Plan::default(), &city, &d.path().join("p2")).unwrap();
        match wait(&mut j) {
            JobState::Failed(e) => assert!(e.contains("the city has no DEM"), "{e}"),
            s => panic!("{s:?}"),
        }
    }
}
