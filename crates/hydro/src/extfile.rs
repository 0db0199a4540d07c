//! External data files a model names: rain gauge files, time series kept in
//! files (`[TIMESERIES] name FILE path`) and the climate file
//! (`[TEMPERATURE] FILE path`).
//!
//! The engine reads no files. [`referenced_files`] lists the paths a project
//! names, exactly as written; whoever runs the model (`twin hydro run`, the
//! `twin` command's other runs) reads them, relative paths against the `.inp` file's
//! folder as SWMM resolves them, and hands their text over in an
//! [`ExternalFiles`] map keyed by the path as written. Their contents are
//! parsed when the engine is built; errors name the file and line.

use std::collections::BTreeMap;

use crate::error::EngineError;
use crate::inp::{GageSource, Project, TempSource, TsData, TsPoint, parse_date, parse_hours};

/// What a file named by a model feeds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileUse {
    /// A rain gauge's rainfall record.
    RainGage(String),
    /// A time series' points.
    Timeseries(String),
    /// Daily temperatures, evaporation and wind.
    Climate,
}

impl std::fmt::Display for FileUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileUse::RainGage(g) => write!(f, "[RAINGAGES] {g}"),
            FileUse::Timeseries(t) => write!(f, "[TIMESERIES] {t}"),
            FileUse::Climate => write!(f, "[TEMPERATURE] FILE"),
        }
    }
}

/// A file a model names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileRef {
    /// Path as written in the `.inp`.
    pub path: String,
    /// What it feeds.
    pub used_by: FileUse,
}

/// Every external file the project names, in section order (a path named
/// twice is listed twice).
pub fn referenced_files(p: &Project) -> Vec<FileRef> {
    let mut v = Vec::new();
    for g in &p.raingages {
        if let GageSource::File { path, .. } = &g.source {
            v.push(FileRef {
                path: path.clone(),
                used_by: FileUse::RainGage(g.name.clone()),
            });
        }
    }
    for ts in &p.timeseries {
        if let TsData::File(path) = &ts.data {
            v.push(FileRef {
                path: path.clone(),
                used_by: FileUse::Timeseries(ts.name.clone()),
            });
        }
    }
    if let Some(TempSource::File { path, .. }) = &p.temperature.source {
        v.push(FileRef {
            path: path.clone(),
            used_by: FileUse::Climate,
        });
    }
    v
}

/// Text of the external files of a model, keyed by the path as written.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExternalFiles {
    texts: BTreeMap<String, String>,
}

impl ExternalFiles {
    /// No files.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) the text of the file named `path` in the model.
    pub fn insert(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.texts.insert(path.into(), text.into());
    }
    /// Text of the file named `path`, if it was provided.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.texts.get(path).map(String::as_str)
    }
}

/// A file the model names that could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{used_by} names file '{path}', which cannot be read: {reason}")]
pub struct FileError {
    /// Path as written in the model.
    pub path: String,
    /// What reads it.
    pub used_by: FileUse,
    /// Why it could not be read.
    pub reason: String,
}

/// Collects the text of every file the project names through `read`, which
/// the caller supplies (it does the reading, e.g. relative to the `.inp`
/// file's folder); each path is read once.
pub fn load_files(
    p: &Project,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<ExternalFiles, FileError> {
    let mut files = ExternalFiles::new();
    for r in referenced_files(p) {
        if files.get(&r.path).is_some() {
            continue;
        }
        let text = read(&r.path).map_err(|reason| FileError {
            path: r.path.clone(),
            used_by: r.used_by.clone(),
            reason,
        })?;
        files.insert(r.path, text);
    }
    Ok(files)
}

/// Parses a time series file: one `[date] time value` entry per line (date
/// `mm/dd/yyyy`, time `hh:mm[:ss]` or decimal hours); blank lines and lines
/// starting with `;` are skipped. A line with only a time takes the date of
/// the line before it, or none (hours from the simulation start) at first,
/// as SWMM's table.c reads such files.
pub fn parse_timeseries_file(
    name: &str,
    path: &str,
    text: &str,
) -> Result<Vec<TsPoint>, EngineError> {
    let mut pts = Vec::new();
    let mut date = None;
    for (k, line) in text.lines().enumerate() {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.is_empty() || tok[0].starts_with(';') {
            continue;
        }
        let err = |message: String| EngineError::FileData {
            path: path.to_string(),
            line: k + 1,
            message: format!("time series '{name}': {message}"),
        };
        let (t, v) = match tok.len() {
            1 => return Err(err("expected [date] time value".into())),
            2 => (tok[0], tok[1]),
            _ => {
                let d = parse_date(tok[0]).ok_or_else(|| {
                    err(format!("expected a date mm/dd/yyyy, found '{}'", tok[0]))
                })?;
                date = Some(d);
                (tok[1], tok[2])
            }
        };
        let hours = parse_hours(t)
            .ok_or_else(|| err(format!("expected a time hh:mm or hours, found '{t}'")))?;
        let value = crate::inp::parse_num(v)
            .ok_or_else(|| err(format!("expected a number, found '{v}'")))?;
        pts.push(TsPoint { date, hours, value });
    }
    if pts.is_empty() {
        return Err(EngineError::FileData {
            path: path.to_string(),
            line: 0,
            message: format!("time series '{name}': the file holds no data"),
        });
    }
    Ok(pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeseries_file_dates_carry_over_and_errors_name_the_line() {
        let text = "; rain\n01/02/2024 00:00 1.5\n0:30 2\n\n01/02/2024 1.0 0\n";
        let v = parse_timeseries_file("T", "t.dat", text).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].date, Some((2024, 1, 2)));
        assert_eq!(v[1].hours, 0.5);
        let v = parse_timeseries_file("T", "t.dat", "0 1\n1.5 2\n").unwrap();
        assert_eq!(v[1].date, None);
        let e = parse_timeseries_file("T", "t.dat", "0 1\n1:00 x\n").unwrap_err();
        assert!(matches!(&e, EngineError::FileData { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("t.dat"), "{e}");
        assert!(parse_timeseries_file("T", "t.dat", "; nothing\n").is_err());
    }

    #[test]
    fn references_list_every_file() {
        let p = crate::inp::parse(
            "[RAINGAGES]\nG1 VOLUME 0:15 1 FILE \"rain 1.dat\" STA IN\n[TIMESERIES]\nT1 FILE t1.dat\n[TEMPERATURE]\nFILE clim.dat\n",
        )
        .unwrap();
        let r = referenced_files(&p);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].path, "rain 1.dat");
        assert_eq!(r[1].used_by, FileUse::Timeseries("T1".into()));
        assert_eq!(r[2].used_by.to_string(), "[TEMPERATURE] FILE");
    }
}
