//! What a run does with the SWMM sections the engine does not simulate, by
//! one rule: refused with an error naming the section and line where it
//! would change the water, a [`Warning`] naming the section and count where
//! the flows are the same without it, silent where it only shapes SWMM's
//! display or report ([REPORT], [TAGS], [MAP], [COORDINATES], [VERTICES],
//! [POLYGONS], [SYMBOLS], [LABELS], [BACKDROP], [PROFILES]). A leaf module:
//! it imports nothing of the engine.

use std::fmt;

use crate::error::EngineError;
use crate::inp::{Project, RawSection, nearest_section};

/// Sections whose objects would change the flows, refused when they have rows.
const REFUSED: &[&str] = &[
    "LID_USAGE",
    "GROUNDWATER",
    "RDII",
    "SNOWPACKS",
    "STREETS",
    "INLET_USAGE",
];

/// Water-quality sections, with what their rows count.
const WATER_QUALITY: &[(&str, &str)] = &[
    ("POLLUTANTS", "pollutants"),
    ("LANDUSES", "land uses"),
    ("COVERAGES", "rows"),
    ("LOADINGS", "rows"),
    ("BUILDUP", "rows"),
    ("WASHOFF", "rows"),
    ("TREATMENT", "rows"),
];

/// Definitions only a refused section would put to use, with that section:
/// with it empty they change nothing.
const DEFINITIONS: &[(&str, &str)] = &[
    ("AQUIFERS", "GROUNDWATER"),
    ("GWF", "GROUNDWATER"),
    ("HYDROGRAPHS", "RDII"),
    ("LID_CONTROLS", "LID_USAGE"),
    ("INLETS", "INLET_USAGE"),
];

/// Rows of one section that a run reads and ignores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// Section name, upper-case, without brackets.
    pub section: String,
    /// How many rows (or, for pollutants and land uses, objects).
    pub count: usize,
    /// What is counted: "rows", "pollutants", "land uses", "pollutant
    /// inflows", "SAVE rows".
    pub what: &'static str,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.count == 1 {
            self.what.trim_end_matches('s')
        } else {
            self.what
        };
        write!(f, "[{}] {} {what}", self.section, self.count)
    }
}

/// Something a model holds that a run ignores though the flows are the same
/// without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Water quality (pollutants, land uses, buildup, washoff, treatment,
    /// pollutant inflows) is not modelled.
    WaterQuality(Vec<Ignored>),
    /// Definitions that no section of the model puts to use (aquifers
    /// without groundwater, unit hydrographs without RDII, LID controls
    /// without LID usage, inlets without inlet usage).
    UnusedDefinitions(Vec<Ignored>),
    /// Interface files the model asks SWMM to save (`[FILES]` SAVE rows)
    /// are not written.
    FilesNotSaved(Ignored),
}

fn list(items: &[Ignored]) -> String {
    items
        .iter()
        .map(Ignored::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::WaterQuality(items) => write!(
                f,
                "water quality is not modelled: {} ignored; flows are unaffected",
                list(items)
            ),
            Warning::UnusedDefinitions(items) => write!(
                f,
                "definitions nothing in the model uses: {} ignored; flows are unaffected",
                list(items)
            ),
            Warning::FilesNotSaved(item) => write!(
                f,
                "interface files are not written: {item} ignored; flows are unaffected"
            ),
        }
    }
}

/// Checks the sections a run does not simulate: an error for the first one
/// that would change the water or that SWMM does not know, else the
/// warnings for those it ignores.
pub(crate) fn check(p: &Project) -> Result<Vec<Warning>, EngineError> {
    for s in &p.raw_sections {
        if !s.known {
            // SWMM 5.2 stops reading at a header it does not know (input.c
            // input_readData: findmatch fails, ERR_KEYWORD, "invalid
            // keyword"), so such a model does not run there either.
            return Err(EngineError::UnknownSection {
                name: s.name.clone(),
                line: s.line,
                nearest: nearest_section(&s.name).to_string(),
            });
        }
    }
    for s in REFUSED {
        if rows(p, s).is_some() {
            return Err(EngineError::Unsupported(format!("[{s}]")));
        }
    }
    // SWMM's interface files (iface.c): USE HOTSTART sets the initial state
    // and USE RAINFALL, RUNOFF, RDII or INFLOWS replaces what would be
    // computed, so those are refused; SAVE only writes a file, a warning.
    let mut saved = 0;
    if let Some(s) = rows(p, "FILES") {
        for (k, row) in s.rows.iter().enumerate() {
            if row[0].eq_ignore_ascii_case("SAVE") {
                saved += 1;
            } else {
                return Err(refused(
                    s,
                    k,
                    "interface files (a hotstart file's initial state; rainfall, runoff, \
                     RDII or routing files in place of computed flows) are not read",
                ));
            }
        }
    }
    if let Some(s) = rows(p, "EVENTS") {
        // SWMM 5.1.011+ routes flow only inside the event periods listed.
        return Err(refused(
            s,
            0,
            "event periods (SWMM routes flow only inside them) are not modelled; \
             remove the section to route the whole run",
        ));
    }
    let mut warnings = Vec::new();
    let mut wq: Vec<Ignored> = WATER_QUALITY
        .iter()
        .filter_map(|&(name, what)| {
            let s = rows(p, name)?;
            let count = if what == "rows" {
                s.rows.len()
            } else {
                let mut names: Vec<String> =
                    s.rows.iter().map(|r| r[0].to_ascii_uppercase()).collect();
                names.sort();
                names.dedup();
                names.len()
            };
            Some(Ignored {
                section: name.into(),
                count,
                what,
            })
        })
        .collect();
    let pollutant_inflows = |section: &str, n: usize| {
        (n > 0).then(|| Ignored {
            section: section.into(),
            count: n,
            what: "pollutant inflows",
        })
    };
    let n = p.inflows.iter().filter(|f| f.constituent != "FLOW").count();
    wq.extend(pollutant_inflows("INFLOWS", n));
    let n = p.dwf.iter().filter(|d| d.constituent != "FLOW").count();
    wq.extend(pollutant_inflows("DWF", n));
    if !wq.is_empty() {
        warnings.push(Warning::WaterQuality(wq));
    }
    let unused: Vec<Ignored> = DEFINITIONS
        .iter()
        .filter(|(_, user)| rows(p, user).is_none())
        .filter_map(|&(name, _)| {
            rows(p, name).map(|s| Ignored {
                section: name.into(),
                count: s.rows.len(),
                what: "rows",
            })
        })
        .collect();
    if !unused.is_empty() {
        warnings.push(Warning::UnusedDefinitions(unused));
    }
    if saved > 0 {
        warnings.push(Warning::FilesNotSaved(Ignored {
            section: "FILES".into(),
            count: saved,
            what: "SAVE rows",
        }));
    }
    Ok(warnings)
}

/// The raw section of that name, if it has rows.
fn rows<'a>(p: &'a Project, name: &str) -> Option<&'a RawSection> {
    p.raw_section(name).filter(|s| !s.rows.is_empty())
}

/// A refusal naming the section, the line of its row `k` and that row.
fn refused(s: &RawSection, k: usize, what: &str) -> EngineError {
    EngineError::Refused {
        section: s.name.clone(),
        line: s.row_lines.get(k).copied().unwrap_or(s.line),
        row: s.rows[k].join(" "),
        message: what.into(),
    }
}
