//! Sections a run does not simulate: refused with an error naming them where
//! they would change the water, a warning naming them and their count where
//! the flows are the same without them, silent where they only shape SWMM's
//! display.

use twin_hydro::engine::{Ignored, Warning};
use twin_hydro::{Engine, EngineError, parse, results};

const SIMPLE: &str = include_str!("data/simple_dw.inp");

/// The model with `extra` sections appended.
fn with(extra: &str) -> String {
    format!("{SIMPLE}\n{extra}\n")
}

fn build(text: &str) -> Result<Engine, EngineError> {
    Engine::new(&parse(text).expect("parses"))
}

/// 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .expect("line")
        + 1
}

const WATER_QUALITY: &str = "[POLLUTANTS]
TSS  MG/L  0  0  0  0  0  NO  *  0  0
Lead UG/L  0  0  0  0  0  NO  TSS  0.2  0

[BUILDUP]
Residential TSS  SAT  50  0  2  AREA
Residential Lead NONE 0   0  0  AREA
Commercial  TSS  SAT  50  0  2  AREA
Commercial  Lead NONE 0   0  0  AREA
Park        TSS  SAT  20  0  2  AREA
Park        Lead NONE 0   0  0  AREA

[DWF]
J2  TSS  10

[LOADINGS]
";

#[test]
fn water_quality_is_a_warning_naming_sections_and_counts() {
    let text = with(WATER_QUALITY).replace(
        "J3  FLOW  HYD2 FLOW  1.0  1.0  0",
        "J3  FLOW  HYD2 FLOW  1.0  1.0  0\nJ1  TSS   HYD  CONCEN 1.0  1.0  0",
    );
    let e = build(&text).expect("water quality does not stop a run");
    let ignored = |section: &str, count, what| Ignored {
        section: section.into(),
        count,
        what,
    };
    assert_eq!(
        e.warnings(),
        [Warning::WaterQuality(vec![
            ignored("POLLUTANTS", 2, "pollutants"),
            ignored("BUILDUP", 6, "rows"),
            ignored("INFLOWS", 1, "pollutant inflows"),
            ignored("DWF", 1, "pollutant inflows"),
        ])]
    );
    assert_eq!(
        e.warnings()[0].to_string(),
        "water quality is not modelled: [POLLUTANTS] 2 pollutants, [BUILDUP] 6 rows, \
         [INFLOWS] 1 pollutant inflow, [DWF] 1 pollutant inflow ignored; flows are unaffected"
    );
    // The flows are those of the model without the water quality.
    let (rep, sum) = twin_hydro::run_inp(&text, &mut || 0.0).unwrap();
    let (rep0, sum0) = twin_hydro::run_inp(SIMPLE, &mut || 0.0).unwrap();
    assert_eq!(rep.node_depth, rep0.node_depth);
    assert_eq!(rep.link_flow, rep0.link_flow);
    assert_eq!(
        sum.routing_continuity_error_pct,
        sum0.routing_continuity_error_pct
    );
    // summary.json carries them; a model without warnings has no such key.
    let json = |s: &results::Summary, names: &[String]| {
        let mut buf = Vec::new();
        results::write_summary_json(s, names, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    };
    let j = json(&sum, &rep.node_names);
    assert!(
        j.contains("\"warnings\": [\"water quality is not modelled: [POLLUTANTS] 2 pollutants"),
        "{j}"
    );
    assert!(!json(&sum0, &rep0.node_names).contains("warnings"));
}

#[test]
fn unused_definitions_are_a_warning_and_display_sections_are_silent() {
    let text = with(
        "[AQUIFERS]\nA1 0.5 0.15 0.30 0.1 12 15 0.35 14 0.002 0 0 0\n\n\
         [TAGS]\nNode J1 Manhole\n\n[MAP]\nDIMENSIONS 0 0 100 100\n\n[REPORT]\nNODES ALL\n",
    );
    let e = build(&text).unwrap();
    assert_eq!(
        e.warnings(),
        [Warning::UnusedDefinitions(vec![Ignored {
            section: "AQUIFERS".into(),
            count: 1,
            what: "rows",
        }])]
    );
    assert!(
        e.warnings()[0]
            .to_string()
            .contains("[AQUIFERS] 1 row ignored")
    );
    let e = build(&with(
        "[TAGS]\nNode J1 Manhole\n\n[SYMBOLS]\n[LABELS]\n[BACKDROP]\n",
    ))
    .unwrap();
    assert!(e.warnings().is_empty());
}

#[test]
fn interface_files_read_are_refused_naming_section_and_line() {
    let text = with("[FILES]\nSAVE RUNOFF  runoff.int\nUSE HOTSTART  start.hsf\n");
    let err = build(&text).unwrap_err();
    let msg = err.to_string();
    let line = line_of(&text, "USE HOTSTART");
    assert!(
        matches!(&err, EngineError::Refused { section, line: l, .. } if section == "FILES" && *l == line),
        "{msg}"
    );
    assert!(
        msg.starts_with(&format!("[FILES] line {line}: unsupported:")) && msg.contains("hotstart"),
        "{msg}"
    );
    assert!(msg.contains("USE HOTSTART start.hsf"), "{msg}");
}

#[test]
fn interface_files_saved_are_a_warning() {
    let e = build(&with("[FILES]\nSAVE RUNOFF  runoff.int\n")).unwrap();
    assert_eq!(
        e.warnings(),
        [Warning::FilesNotSaved(Ignored {
            section: "FILES".into(),
            count: 1,
            what: "SAVE rows",
        })]
    );
    assert_eq!(
        e.warnings()[0].to_string(),
        "interface files are not written: [FILES] 1 SAVE row ignored; flows are unaffected"
    );
}

#[test]
fn event_periods_are_refused_naming_section_and_line() {
    let text = with("[EVENTS]\n01/01/2020 01:00  01/01/2020 03:00\n");
    let msg = build(&text).unwrap_err().to_string();
    let line = line_of(&text, "01/01/2020 01:00");
    assert!(
        msg.starts_with(&format!("[EVENTS] line {line}: unsupported: event periods")),
        "{msg}"
    );
}

#[test]
fn misspelt_section_is_refused_with_the_nearest_known_one() {
    let text = SIMPLE.replace("[INFLOWS]", "[INFLOW]");
    // The reader keeps it verbatim, for round trips ...
    let p = parse(&text).unwrap();
    assert_eq!(p.unknown_sections(), ["INFLOW"]);
    // ... but a run refuses it, as SWMM does.
    let err = Engine::new(&p).unwrap_err();
    let line = line_of(&text, "[INFLOW]");
    assert_eq!(
        err,
        EngineError::UnknownSection {
            name: "INFLOW".into(),
            line,
            nearest: "INFLOWS".into(),
        }
    );
    assert!(
        err.to_string().contains(&format!(
            "line {line}: unknown section [INFLOW] (did you mean [INFLOWS]?)"
        )),
        "{err}"
    );
    let err = build(&with("[XSECTION]\n")).unwrap_err();
    assert!(
        err.to_string().contains("did you mean [XSECTIONS]?"),
        "{err}"
    );
}

#[test]
fn sections_that_change_the_water_stay_refused() {
    let err = build(&with("[RDII]\nJ1 UH1 1000\n")).unwrap_err();
    assert_eq!(err, EngineError::Unsupported("[RDII]".into()));
}
