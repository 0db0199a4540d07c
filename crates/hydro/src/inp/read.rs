//! The `.inp` reader: tokens, rows, and each section's rows into the
//! typed [`Project`] or kept verbatim.

use super::*;

/// Splits a line into tokens: whitespace-separated, `"..."` grouping, `;` comment.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut had_quote = false;
    for c in line.chars() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                had_quote = true;
            }
            ';' => break,
            c if c.is_whitespace() => {
                if !cur.is_empty() || had_quote {
                    out.push(std::mem::take(&mut cur));
                    had_quote = false;
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || had_quote {
        out.push(cur);
    }
    out
}

struct Row<'a> {
    section: &'a str,
    line: usize,
    tok: Vec<String>,
}

impl Row<'_> {
    fn err(&self, message: String) -> InpError {
        InpError {
            section: self.section.to_string(),
            line: self.line,
            message,
        }
    }
    fn need(&self, n: usize, fields: &str) -> Result<(), InpError> {
        if self.tok.len() < n {
            Err(self.err(format!(
                "expected at least {n} fields ({fields}), found {}",
                self.tok.len()
            )))
        } else {
            Ok(())
        }
    }
    fn s(&self, i: usize) -> String {
        self.tok.get(i).cloned().unwrap_or_default()
    }
    fn f(&self, i: usize, field: &str) -> Result<f64, InpError> {
        let t = self.tok.get(i).ok_or_else(|| {
            self.err(format!(
                "missing field {} ({field}), expected a number",
                i + 1
            ))
        })?;
        parse_num(t).ok_or_else(|| {
            self.err(format!(
                "field {} ({field}) expected a number, found '{t}'",
                i + 1
            ))
        })
    }
    fn f_or(&self, i: usize, field: &str, default: f64) -> Result<f64, InpError> {
        if i < self.tok.len() {
            self.f(i, field)
        } else {
            Ok(default)
        }
    }
    fn yes_no(&self, i: usize, field: &str, default: bool) -> Result<bool, InpError> {
        match self.tok.get(i) {
            None => Ok(default),
            Some(t) => match t.to_ascii_uppercase().as_str() {
                "YES" | "ON" | "TRUE" => Ok(true),
                "NO" | "OFF" | "FALSE" => Ok(false),
                _ => Err(self.err(format!(
                    "field {} ({field}) expected YES or NO, found '{t}'",
                    i + 1
                ))),
            },
        }
    }
}

impl Row<'_> {
    /// An optional date field where `*` (or no field) means none.
    fn date_or_star(&self, i: usize, field: &str) -> Result<Option<(i32, u32, u32)>, InpError> {
        match self.tok.get(i).map(String::as_str) {
            None | Some("*") => Ok(None),
            Some(t) => parse_date(t).map(Some).ok_or_else(|| {
                self.err(format!(
                    "field {} ({field}) expected a date mm/dd/yyyy or *, found '{t}'",
                    i + 1
                ))
            }),
        }
    }
    /// Fields `from..from+n` as numbers, the `n` values SWMM expects.
    fn numbers(&self, from: usize, n: usize, field: &str) -> Result<Vec<f64>, InpError> {
        if self.tok.len() < from + n {
            return Err(self.err(format!(
                "expected {n} values ({field}) after field {from}, found {}",
                self.tok.len().saturating_sub(from)
            )));
        }
        (from..from + n).map(|i| self.f(i, field)).collect()
    }
}

/// Parses the text of a SWMM `.inp` file.
///
/// A UTF-8 byte-order mark (SWMM's Windows editor writes one) and CRLF line ends are
/// accepted. A name defined twice among the nodes, the links, the subcatchments or the
/// rain gauges is refused (SWMM: "duplicate ID name"), names compared without case as
/// SWMM compares them.
pub fn parse(text: &str) -> Result<Project, InpError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Project::default();
    let mut section = String::new();
    let mut state = ParseState::default();
    let mut names: std::collections::HashMap<(&'static str, String), (String, usize)> =
        std::collections::HashMap::new();
    for (idx, raw_line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed = raw_line.trim();
        if trimmed.starts_with('[') {
            let end = trimmed.find(']').ok_or_else(|| InpError {
                section: section.clone(),
                line: line_no,
                message: format!("section header '{trimmed}' has no closing ']'"),
            })?;
            section = trimmed[1..end].trim().to_ascii_uppercase();
            if section.is_empty() {
                return Err(InpError {
                    section,
                    line: line_no,
                    message: "empty section name '[]'".into(),
                });
            }
            if !is_typed(&section) && !p.raw_sections.iter().any(|s| s.name == section) {
                p.raw_sections.push(RawSection {
                    name: section.clone(),
                    known: KNOWN_RAW.contains(&section.as_str()),
                    line: line_no,
                    ..Default::default()
                });
            }
            continue;
        }
        if section == "TITLE" {
            if !trimmed.is_empty() && !trimmed.starts_with(";;") {
                p.title.push(trimmed.to_string());
            }
            continue;
        }
        let tok = tokenize(raw_line);
        if tok.is_empty() {
            continue;
        }
        let row = Row {
            section: &section,
            line: line_no,
            tok,
        };
        if section.is_empty() {
            return Err(row.err("data before the first [SECTION] header".into()));
        }
        if let Some(kind) = namespace(&section)
            && let Some(name) = row.tok.first()
        {
            let key = (kind, name.to_ascii_uppercase());
            if let Some((s0, l0)) = names.get(&key) {
                return Err(row.err(format!(
                    "{kind} '{name}' is already defined in [{s0}] at line {l0}"
                )));
            }
            names.insert(key, (section.clone(), line_no));
        }
        parse_row(&mut p, &row, &mut state)?;
    }
    Ok(p)
}

/// The kind of object a section's rows define, for sections whose first field names one.
fn namespace(section: &str) -> Option<&'static str> {
    Some(match section {
        "JUNCTIONS" | "OUTFALLS" | "STORAGE" | "DIVIDERS" => "node",
        "CONDUITS" | "PUMPS" | "ORIFICES" | "WEIRS" | "OUTLETS" => "link",
        "SUBCATCHMENTS" => "subcatchment",
        "RAINGAGES" => "rain gauge",
        _ => return None,
    })
}

/// Sections read into typed fields of [`Project`].
pub(super) const TYPED: &[&str] = &[
    "TITLE",
    "OPTIONS",
    "RAINGAGES",
    "SUBCATCHMENTS",
    "SUBAREAS",
    "INFILTRATION",
    "JUNCTIONS",
    "OUTFALLS",
    "STORAGE",
    "DIVIDERS",
    "CONDUITS",
    "PUMPS",
    "ORIFICES",
    "WEIRS",
    "OUTLETS",
    "XSECTIONS",
    "LOSSES",
    "CURVES",
    "TRANSECTS",
    "TIMESERIES",
    "PATTERNS",
    "DWF",
    "INFLOWS",
    "EVAPORATION",
    "TEMPERATURE",
    "ADJUSTMENTS",
    "CONTROLS",
    "COORDINATES",
    "VERTICES",
    "POLYGONS",
];

fn is_typed(s: &str) -> bool {
    TYPED.contains(&s)
}

const INFIL_METHODS: &[&str] = &[
    "HORTON",
    "MODIFIED_HORTON",
    "GREEN_AMPT",
    "MODIFIED_GREEN_AMPT",
    "CURVE_NUMBER",
];

/// What a row's meaning depends on from earlier rows.
#[derive(Default)]
struct ParseState {
    /// Curve whose first row named its type: (curve, type).
    pending_curve: Option<(String, String)>,
    /// Manning's n of [TRANSECTS] in effect (left, right, channel).
    nc: [f64; 3],
    /// An NC line came after the last X1 line.
    nc_ready: bool,
}

fn parse_row(p: &mut Project, r: &Row, st: &mut ParseState) -> Result<(), InpError> {
    let pending_curve = &mut st.pending_curve;
    let t = &r.tok;
    match r.section {
        "OPTIONS" => {
            r.need(2, "Option Value")?;
            let key = t[0].to_ascii_uppercase();
            let value = t[1..].iter().map(|s| q(s)).collect::<Vec<_>>().join(" ");
            if key == "FLOW_UNITS" && FlowUnits::from_keyword(&value).is_none() {
                return Err(r.err(format!(
                    "FLOW_UNITS expected CFS, GPM, MGD, CMS, LPS or MLD, found '{value}'"
                )));
            }
            if matches!(
                key.as_str(),
                "START_DATE" | "END_DATE" | "REPORT_START_DATE"
            ) && parse_date(&value).is_none()
            {
                return Err(r.err(format!("{key} expected a date mm/dd/yyyy, found '{value}'")));
            }
            if matches!(
                key.as_str(),
                "START_TIME"
                    | "END_TIME"
                    | "REPORT_START_TIME"
                    | "REPORT_STEP"
                    | "WET_STEP"
                    | "DRY_STEP"
            ) && parse_hours(&value).is_none()
            {
                return Err(r.err(format!("{key} expected a time hh:mm:ss, found '{value}'")));
            }
            let choices: &[&str] = match key.as_str() {
                "SURCHARGE_METHOD" => &["EXTRAN", "SLOT"],
                "FORCE_MAIN_EQUATION" => &["H-W", "D-W"],
                _ => &[],
            };
            if !choices.is_empty() && !choices.iter().any(|c| value.eq_ignore_ascii_case(c)) {
                return Err(r.err(format!(
                    "field 2 ({key}) expected {}, found '{value}'",
                    choices.join(", ")
                )));
            }
            p.options.push(OptionEntry { key, value });
        }
        "RAINGAGES" => {
            r.need(6, "Name Format Interval SCF Source SourceName")?;
            let interval = parse_hours(&t[2]).ok_or_else(|| {
                r.err(format!(
                    "field 3 (Interval) expected hh:mm or hours, found '{}'",
                    t[2]
                ))
            })?;
            let source = match t[4].to_ascii_uppercase().as_str() {
                "TIMESERIES" => GageSource::Timeseries(t[5].clone()),
                "FILE" => {
                    r.need(
                        8,
                        "Name Format Interval SCF FILE Path Station Units [Start]",
                    )?;
                    let units = t[7].to_ascii_uppercase();
                    if units != "IN" && units != "MM" {
                        return Err(r.err(format!(
                            "field 8 (Units) expected IN or MM, found '{}'",
                            t[7]
                        )));
                    }
                    GageSource::File {
                        path: t[5].clone(),
                        station: t[6].clone(),
                        units,
                        start: r.date_or_star(8, "Start")?,
                    }
                }
                other => {
                    return Err(r.err(format!(
                        "field 5 (Source) expected TIMESERIES or FILE, found '{other}'"
                    )));
                }
            };
            p.raingages.push(RainGage {
                name: t[0].clone(),
                format: t[1].to_ascii_uppercase(),
                // SWMM keeps the recording interval in whole seconds.
                interval_s: (interval * 3600.0 + 0.5).floor(),
                snow_catch: r.f(3, "SCF")?,
                source,
            });
        }
        "SUBCATCHMENTS" => {
            r.need(8, "Name Gage Outlet Area %Imperv Width Slope CurbLen")?;
            p.subcatchments.push(Subcatchment {
                name: t[0].clone(),
                gage: t[1].clone(),
                outlet: t[2].clone(),
                area: r.f(3, "Area")?,
                imperv_pct: r.f(4, "%Imperv")?,
                width: r.f(5, "Width")?,
                slope_pct: r.f(6, "Slope")?,
                curb_len: r.f(7, "CurbLen")?,
                snowpack: t.get(8).cloned(),
            });
        }
        "SUBAREAS" => {
            r.need(
                7,
                "Subcatch N-Imperv N-Perv S-Imperv S-Perv PctZero RouteTo",
            )?;
            let route_to = t[6].to_ascii_uppercase();
            if !matches!(route_to.as_str(), "OUTLET" | "IMPERVIOUS" | "PERVIOUS") {
                return Err(r.err(format!(
                    "field 7 (RouteTo) expected OUTLET, IMPERVIOUS or PERVIOUS, found '{}'",
                    t[6]
                )));
            }
            let pct_routed = if t.len() > 7 {
                let x = r.f(7, "PctRouted")?;
                if !(0.0..=100.0).contains(&x) {
                    return Err(r.err(format!(
                        "field 8 (PctRouted) expected a percent from 0 to 100, found '{}'",
                        t[7]
                    )));
                }
                Some(x)
            } else {
                None
            };
            p.subareas.push(Subarea {
                subcatch: t[0].clone(),
                n_imperv: r.f(1, "N-Imperv")?,
                n_perv: r.f(2, "N-Perv")?,
                s_imperv: r.f(3, "S-Imperv")?,
                s_perv: r.f(4, "S-Perv")?,
                pct_zero: r.f(5, "PctZero")?,
                route_to,
                pct_routed,
            });
        }
        "INFILTRATION" => {
            r.need(3, "Subcatch P1 P2 ...")?;
            let mut params = Vec::new();
            let mut method = None;
            for (i, tk) in t.iter().enumerate().skip(1) {
                if i == t.len() - 1 && INFIL_METHODS.contains(&tk.to_ascii_uppercase().as_str()) {
                    method = Some(tk.to_ascii_uppercase());
                } else {
                    params.push(r.f(i, "infiltration parameter")?);
                }
            }
            p.infiltration.push(Infiltration {
                subcatch: t[0].clone(),
                params,
                method,
            });
        }
        "JUNCTIONS" => {
            r.need(2, "Name Elev [MaxDepth InitDepth SurDepth PondedArea]")?;
            p.junctions.push(Junction {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                max_depth: r.f_or(2, "MaxDepth", 0.0)?,
                init_depth: r.f_or(3, "InitDepth", 0.0)?,
                sur_depth: r.f_or(4, "SurDepth", 0.0)?,
                ponded_area: r.f_or(5, "PondedArea", 0.0)?,
            });
        }
        "OUTFALLS" => {
            r.need(3, "Name Elev Type [Stage] [Gated] [RouteTo]")?;
            let (kind, next) = match t[2].to_ascii_uppercase().as_str() {
                "FREE" => (OutfallKind::Free, 3),
                "NORMAL" => (OutfallKind::Normal, 3),
                "FIXED" => (OutfallKind::Fixed(r.f(3, "Stage")?), 4),
                "TIDAL" => {
                    r.need(4, "Name Elev TIDAL Curve")?;
                    (OutfallKind::Tidal(t[3].clone()), 4)
                }
                "TIMESERIES" => {
                    r.need(4, "Name Elev TIMESERIES Series")?;
                    (OutfallKind::Timeseries(t[3].clone()), 4)
                }
                other => {
                    return Err(r.err(format!(
                        "field 3 (Type) expected FREE, NORMAL, FIXED, TIDAL or TIMESERIES, found '{other}'"
                    )));
                }
            };
            p.outfalls.push(Outfall {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                kind,
                gated: r.yes_no(next, "Gated", false)?,
                route_to: t.get(next + 1).cloned(),
            });
        }
        "STORAGE" => {
            r.need(6, "Name Elev MaxDepth InitDepth Shape Params")?;
            let kw = t[4].to_ascii_uppercase();
            let (shape, next) = match kw.as_str() {
                "FUNCTIONAL" => (
                    StorageShape::Functional {
                        a: r.f(5, "A")?,
                        b: r.f(6, "B")?,
                        c: r.f(7, "C")?,
                    },
                    8,
                ),
                "TABULAR" => (StorageShape::Tabular(t[5].clone()), 6),
                "CYLINDRICAL" | "CONICAL" | "PARABOLIC" | "PYRAMIDAL" => (
                    StorageShape::Other {
                        shape: kw.clone(),
                        params: [r.f(5, "L")?, r.f(6, "W")?, r.f(7, "Z")?],
                    },
                    8,
                ),
                other => {
                    return Err(r.err(format!(
                        "field 5 (Shape) expected FUNCTIONAL, TABULAR, CYLINDRICAL, CONICAL, PARABOLIC or PYRAMIDAL, found '{other}'"
                    )));
                }
            };
            let mut extra = Vec::new();
            const EXTRA: [&str; 5] = ["SurDepth", "Fevap", "Psi", "Ksat", "IMD"];
            for i in next..t.len() {
                extra.push(r.f(i, EXTRA.get(i - next).copied().unwrap_or("extra value"))?);
            }
            check_seepage(r, next, &extra)?;
            p.storage.push(Storage {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                max_depth: r.f(2, "MaxDepth")?,
                init_depth: r.f(3, "InitDepth")?,
                shape,
                extra,
            });
        }
        "DIVIDERS" => {
            r.need(4, "Name Elev DivLink Type ...")?;
            let kind = t[3].to_ascii_uppercase();
            let nk = match kind.as_str() {
                "OVERFLOW" => 0,
                "CUTOFF" | "TABULAR" => 1,
                "WEIR" => 3,
                other => {
                    return Err(r.err(format!(
                        "field 4 (Type) expected CUTOFF, OVERFLOW, TABULAR or WEIR, found '{other}'"
                    )));
                }
            };
            r.need(4 + nk, "divider type parameters")?;
            let mut node_params = Vec::new();
            for i in 4 + nk..t.len() {
                node_params.push(r.f(i, "MaxDepth/InitDepth/SurDepth/PondedArea")?);
            }
            p.dividers.push(Divider {
                name: t[0].clone(),
                invert: r.f(1, "Elev")?,
                diverted_link: t[2].clone(),
                kind,
                kind_params: t[4..4 + nk].to_vec(),
                node_params,
            });
        }
        "CONDUITS" => {
            r.need(
                7,
                "Name From To Length N InOffset OutOffset [InitFlow MaxFlow]",
            )?;
            p.conduits.push(Conduit {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                length: r.f(3, "Length")?,
                roughness: r.f(4, "N")?,
                in_offset: offset_or_star(r, 5, "InOffset")?,
                out_offset: offset_or_star(r, 6, "OutOffset")?,
                init_flow: r.f_or(7, "InitFlow", 0.0)?,
                max_flow: r.f_or(8, "MaxFlow", 0.0)?,
            });
        }
        "PUMPS" => {
            r.need(4, "Name From To Curve [Status Startup Shutoff]")?;
            p.pumps.push(Pump {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                curve: t[3].clone(),
                on: r.yes_no(4, "Status", true)?,
                startup: r.f_or(5, "Startup", 0.0)?,
                shutoff: r.f_or(6, "Shutoff", 0.0)?,
            });
        }
        "ORIFICES" => {
            r.need(6, "Name From To Type Offset Cd [Gated CloseTime]")?;
            p.orifices.push(Orifice {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                kind: t[3].to_ascii_uppercase(),
                offset: offset_or_star(r, 4, "Offset")?,
                cd: r.f(5, "Cd")?,
                gated: r.yes_no(6, "Gated", false)?,
                close_time: r.f_or(7, "CloseTime", 0.0)?,
            });
        }
        "WEIRS" => {
            r.need(6, "Name From To Type CrestHt Cd [Gated EC Cd2 Sur ...]")?;
            p.weirs.push(Weir {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                kind: t[3].to_ascii_uppercase(),
                crest: offset_or_star(r, 4, "CrestHt")?,
                cd: r.f(5, "Cd")?,
                gated: r.yes_no(6, "Gated", false)?,
                end_contractions: r.f_or(7, "EC", 0.0)?,
                cd2: r.f_or(8, "Cd2", 0.0)?,
                can_surcharge: r.yes_no(9, "Sur", true)?,
                extra: t.get(10..).map(|s| s.to_vec()).unwrap_or_default(),
            });
            if t[3].eq_ignore_ascii_case("ROADWAY") && t.len() > 10 {
                let w = r.f(10, "RoadWidth")?;
                if w < 0.0 {
                    return Err(r.err(format!(
                        "field 11 (RoadWidth) must not be negative, found {w}"
                    )));
                }
            }
        }
        "OUTLETS" => {
            r.need(6, "Name From To Offset Type Params")?;
            let kind = t[4].to_ascii_uppercase();
            let np = if kind.starts_with("FUNCTIONAL") { 2 } else { 1 };
            r.need(5 + np, "outlet parameters")?;
            if np == 2 {
                r.f(5, "Qcoeff")?;
                r.f(6, "Qexpon")?;
            }
            p.outlets.push(Outlet {
                name: t[0].clone(),
                from: t[1].clone(),
                to: t[2].clone(),
                offset: offset_or_star(r, 3, "Offset")?,
                kind,
                params: t[5..5 + np].to_vec(),
                gated: r.yes_no(5 + np, "Gated", false)?,
            });
        }
        "XSECTIONS" => {
            r.need(3, "Link Shape Geom1 ...")?;
            let shape = t[1].to_ascii_uppercase();
            if matches!(shape.as_str(), "IRREGULAR" | "STREET") {
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [0.0; 4],
                    barrels: r.f_or(3, "Barrels", 1.0)?,
                    culvert: 0.0,
                    curve: Some(t[2].clone()),
                });
            } else if shape == "CUSTOM" {
                // SWMM reads Geom3 and Geom4 positions (ignored) before the barrels.
                r.need(4, "Link CUSTOM Geom1 Curve [Geom3 Geom4 Barrels Culvert]")?;
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [r.f(2, "Geom1")?, 0.0, 0.0, 0.0],
                    barrels: r.f_or(6, "Barrels", 1.0)?,
                    culvert: r.f_or(7, "Culvert", 0.0)?,
                    curve: Some(t[3].clone()),
                });
            } else {
                if shape == "FORCE_MAIN" && r.f_or(3, "Geom2", 0.0)? <= 0.0 {
                    return Err(r.err(format!(
                        "field 4 (Geom2) expected a force main's positive C-factor or roughness height, found {}",
                        t.get(3).map_or("nothing", |s| s.as_str())
                    )));
                }
                p.xsections.push(XSection {
                    link: t[0].clone(),
                    shape,
                    geom: [
                        r.f(2, "Geom1")?,
                        r.f_or(3, "Geom2", 0.0)?,
                        r.f_or(4, "Geom3", 0.0)?,
                        r.f_or(5, "Geom4", 0.0)?,
                    ],
                    barrels: r.f_or(6, "Barrels", 1.0)?,
                    culvert: {
                        let c = r.f_or(7, "Culvert", 0.0)?;
                        if c < 0.0 {
                            return Err(r.err(format!(
                                "field 8 (Culvert) expected a culvert code >= 0, found {c}"
                            )));
                        }
                        c
                    },
                    curve: None,
                });
            }
        }
        "LOSSES" => {
            r.need(4, "Link Kentry Kexit Kavg [Flap Seepage]")?;
            p.losses.push(Loss {
                link: t[0].clone(),
                entry: r.f(1, "Kentry")?,
                exit: r.f(2, "Kexit")?,
                avg: r.f(3, "Kavg")?,
                flap_gate: r.yes_no(4, "Flap", false)?,
                seepage: r.f_or(5, "Seepage", 0.0)?,
            });
        }
        "CURVES" => {
            r.need(2, "Name [Type] X Y ...")?;
            let name = &t[0];
            let starts_new = p.curves.last().is_none_or(|c| &c.name != name);
            let mut i = 1;
            let kind = if parse_num(&t[1]).is_none() {
                i = 2;
                t[1].to_ascii_uppercase()
            } else if let Some((n, k)) = pending_curve.as_ref().filter(|(n, _)| n == name) {
                let _ = n;
                k.clone()
            } else {
                String::new()
            };
            if !(t.len() - i).is_multiple_of(2) {
                return Err(r.err(format!(
                    "curve '{name}' expected pairs of X Y values, found {} values",
                    t.len() - i
                )));
            }
            let mut pts = Vec::new();
            while i + 1 < t.len() {
                pts.push((r.f(i, "X")?, r.f(i + 1, "Y")?));
                i += 2;
            }
            if starts_new {
                *pending_curve = Some((name.clone(), kind.clone()));
                p.curves.push(Curve {
                    name: name.clone(),
                    kind,
                    points: pts,
                });
            } else if let Some(c) = p.curves.last_mut() {
                c.points.extend(pts);
            }
        }
        "TRANSECTS" => parse_transect_row(p, r, &mut st.nc, &mut st.nc_ready)?,
        "TIMESERIES" => {
            r.need(2, "Name [Date] Time Value ... | Name FILE Path")?;
            let name = &t[0];
            if t[1].eq_ignore_ascii_case("FILE") {
                r.need(3, "Name FILE Path")?;
                p.timeseries.push(Timeseries {
                    name: name.clone(),
                    data: TsData::File(t[2].clone()),
                });
                return Ok(());
            }
            let mut pts = Vec::new();
            let mut i = 1;
            while i < t.len() {
                // A token that reads as a date is one (SWMM table.c); one with
                // a slash that does not is a malformed date, not a time.
                let date = if let Some(d) = parse_date(&t[i]) {
                    i += 1;
                    Some(d)
                } else if t[i].contains('/') {
                    return Err(r.err(format!(
                        "field {} expected a date mm/dd/yyyy, found '{}'",
                        i + 1,
                        t[i]
                    )));
                } else {
                    None
                };
                let tt = t
                    .get(i)
                    .ok_or_else(|| r.err("expected a time after the date".into()))?;
                let hours = parse_hours(tt).ok_or_else(|| {
                    r.err(format!(
                        "field {} expected a time (hh:mm or hours), found '{tt}'",
                        i + 1
                    ))
                })?;
                let value = r.f(i + 1, "Value")?;
                pts.push(TsPoint { date, hours, value });
                i += 2;
            }
            match p.timeseries.last_mut() {
                Some(ts) if &ts.name == name => match &mut ts.data {
                    TsData::Points(v) => v.extend(pts),
                    TsData::File(_) => {
                        return Err(
                            r.err(format!("time series '{name}' mixes FILE and inline data"))
                        );
                    }
                },
                _ => p.timeseries.push(Timeseries {
                    name: name.clone(),
                    data: TsData::Points(pts),
                }),
            }
        }
        "PATTERNS" => {
            r.need(2, "Name [Type] Factors...")?;
            let name = &t[0];
            let (kind, start) = if parse_num(&t[1]).is_none() {
                (Some(t[1].to_ascii_uppercase()), 2)
            } else {
                (None, 1)
            };
            let mut f = Vec::new();
            for i in start..t.len() {
                f.push(r.f(i, "Factor")?);
            }
            match p.patterns.last_mut() {
                Some(pt) if &pt.name == name && kind.is_none() => pt.factors.extend(f),
                _ => p.patterns.push(Pattern {
                    name: name.clone(),
                    kind: kind.ok_or_else(|| {
                        r.err(format!(
                            "pattern '{name}' expected a type (MONTHLY, DAILY, HOURLY, WEEKEND)"
                        ))
                    })?,
                    factors: f,
                }),
            }
        }
        "DWF" => {
            r.need(3, "Node Constituent Baseline [Patterns]")?;
            p.dwf.push(Dwf {
                node: t[0].clone(),
                constituent: t[1].to_ascii_uppercase(),
                base: r.f(2, "Baseline")?,
                patterns: t[3..].to_vec(),
            });
        }
        "INFLOWS" => {
            r.need(
                3,
                "Node Constituent TimeSeries [Type Mfactor Sfactor Baseline Pattern]",
            )?;
            p.inflows.push(Inflow {
                node: t[0].clone(),
                constituent: t[1].to_ascii_uppercase(),
                timeseries: t[2].clone(),
                kind: t
                    .get(3)
                    .map(|s| s.to_ascii_uppercase())
                    .unwrap_or_else(|| "FLOW".into()),
                mfactor: r.f_or(4, "Mfactor", 1.0)?,
                sfactor: r.f_or(5, "Sfactor", 1.0)?,
                baseline: r.f_or(6, "Baseline", 0.0)?,
                pattern: r.s(7),
            });
        }
        "EVAPORATION" => parse_evaporation(&mut p.evaporation, r)?,
        "TEMPERATURE" => parse_temperature(&mut p.temperature, r)?,
        "ADJUSTMENTS" => parse_adjustment(&mut p.adjustments, &p.subcatchments, r)?,
        "CONTROLS" => p
            .controls
            .push(t.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")),
        "COORDINATES" | "VERTICES" | "POLYGONS" => {
            r.need(3, "Name X Y")?;
            let v = (t[0].clone(), r.f(1, "X")?, r.f(2, "Y")?);
            match r.section {
                "COORDINATES" => p.coordinates.push(v),
                "VERTICES" => p.vertices.push(v),
                _ => p.polygons.push(v),
            }
        }
        other => {
            if let Some(s) = p.raw_sections.iter_mut().rev().find(|s| s.name == other) {
                s.rows.push(t.clone());
                s.row_lines.push(r.line);
            }
        }
    }
    Ok(())
}

/// `[EVAPORATION]` rows (SWMM 5.2 User's Manual, Appendix D).
fn parse_evaporation(e: &mut Evaporation, r: &Row) -> Result<(), InpError> {
    let t = &r.tok;
    let kw = t[0].to_ascii_uppercase();
    let need_arg = |what: &str| r.need(2, &format!("{kw} {what}"));
    match kw.as_str() {
        "CONSTANT" => {
            need_arg("Rate")?;
            e.source = Some(EvapSource::Constant(r.f(1, "Rate")?));
        }
        "MONTHLY" => e.source = Some(EvapSource::Monthly(r.numbers(1, 12, "monthly rates")?)),
        "TIMESERIES" => {
            need_arg("Series")?;
            e.source = Some(EvapSource::Timeseries(t[1].clone()));
        }
        "TEMPERATURE" => e.source = Some(EvapSource::Temperature),
        "FILE" => {
            let pan = if t.len() > 1 {
                r.numbers(1, 12, "monthly pan coefficients")?
            } else {
                Vec::new()
            };
            e.source = Some(EvapSource::File(pan));
        }
        "RECOVERY" => {
            need_arg("Pattern")?;
            e.recovery = Some(t[1].clone());
        }
        "DRY_ONLY" => {
            need_arg("YES/NO")?;
            e.dry_only = Some(r.yes_no(1, "DRY_ONLY", false)?);
        }
        other => {
            return Err(r.err(format!(
                "field 1 expected CONSTANT, MONTHLY, TIMESERIES, TEMPERATURE, FILE, RECOVERY or DRY_ONLY, found '{other}'"
            )));
        }
    }
    Ok(())
}

/// `[TEMPERATURE]` rows: the source is typed, the snowmelt rows are checked
/// and kept as tokens.
fn parse_temperature(tp: &mut Temperature, r: &Row) -> Result<(), InpError> {
    let t = &r.tok;
    let kw = t[0].to_ascii_uppercase();
    match kw.as_str() {
        "TIMESERIES" => {
            r.need(2, "TIMESERIES Series")?;
            tp.source = Some(TempSource::Timeseries(t[1].clone()));
        }
        "FILE" => {
            r.need(2, "FILE Path [Start Units]")?;
            let units = match t.get(3) {
                None => None,
                Some(u) => {
                    let u = u.to_ascii_uppercase();
                    if !matches!(u.as_str(), "C10" | "C" | "F") {
                        return Err(r.err(format!(
                            "field 4 (Units) expected C10, C or F, found '{}'",
                            t[3]
                        )));
                    }
                    Some(u)
                }
            };
            tp.source = Some(TempSource::File {
                path: t[1].clone(),
                start: r.date_or_star(2, "Start")?,
                units,
            });
        }
        "WINDSPEED" => {
            r.need(2, "WINDSPEED MONTHLY v1..v12 | WINDSPEED FILE")?;
            if !t[1].eq_ignore_ascii_case("FILE") {
                r.numbers(2, 12, "monthly wind speeds")?;
            }
            tp.rows.push(t.clone());
        }
        "SNOWMELT" => {
            r.numbers(1, 6, "Stemp ATIwt RNM Elev Lat DTLong")?;
            tp.rows.push(t.clone());
        }
        "ADC" => {
            r.need(12, "ADC IMPERVIOUS|PERVIOUS f1..f10")?;
            r.numbers(2, 10, "areal depletion fractions")?;
            tp.rows.push(t.clone());
        }
        other => {
            return Err(r.err(format!(
                "field 1 expected TIMESERIES, FILE, WINDSPEED, SNOWMELT or ADC, found '{other}'"
            )));
        }
    }
    Ok(())
}

/// `[ADJUSTMENTS]` rows: twelve monthly values, or a subcatchment and a pattern.
fn parse_adjustment(
    a: &mut Adjustments,
    defined_subcatch: &[Subcatchment],
    r: &Row,
) -> Result<(), InpError> {
    let t = &r.tok;
    if t.len() == 1 {
        return Ok(());
    }
    let kw = t[0].to_ascii_uppercase();
    // SWMM matches these keywords by their leading letters.
    let monthly = ["TEMP", "EVAP", "RAIN", "CONDUCT"]
        .iter()
        .zip(["TEMPERATURE", "EVAPORATION", "RAINFALL", "CONDUCTIVITY"])
        .find(|(k, _)| kw.starts_with(*k));
    if let Some((_, name)) = monthly {
        a.monthly.push(MonthlyAdjustment {
            kind: name.to_string(),
            values: r.numbers(1, 12, "monthly adjustments")?,
        });
        return Ok(());
    }
    let kind = ["N-PERV", "DSTORE", "INFIL"]
        .into_iter()
        .find(|k| kw.starts_with(k))
        .ok_or_else(|| {
            r.err(format!(
                "field 1 expected TEMPERATURE, EVAPORATION, RAINFALL, CONDUCTIVITY, N-PERV, DSTORE or INFIL, found '{}'",
                t[0]
            ))
        })?;
    r.need(3, &format!("{kind} Subcatch Pattern"))?;
    if !defined_subcatch
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(&t[1]))
    {
        // SWMM reads sections in file order and resets these patterns when it
        // reads the subcatchment, so such a row would silently do nothing.
        return Err(r.err(format!(
            "field 2 (Subcatch) '{}' is not in an earlier [SUBCATCHMENTS] section; put [ADJUSTMENTS] after it",
            t[1]
        )));
    }
    a.subcatch.push(SubcatchAdjustment {
        kind: kind.to_string(),
        subcatch: t[1].clone(),
        pattern: t[2].clone(),
    });
    Ok(())
}

/// Seepage values after a storage unit's SurDepth and Fevap: Ksat alone, or
/// Psi Ksat IMD with Psi >= 0, Ksat >= 0 and 0 <= IMD <= 1 (SWMM exfil.c).
fn check_seepage(r: &Row, first: usize, extra: &[f64]) -> Result<(), InpError> {
    let seep = extra.get(2..).unwrap_or(&[]);
    let field = |k: usize, name: &str, rule: &str| {
        r.err(format!(
            "field {} ({name}) {rule}, found {}",
            first + 3 + k,
            seep[k]
        ))
    };
    match seep.len() {
        0 => Ok(()),
        1 if seep[0] < 0.0 => Err(field(0, "Ksat", "must not be negative")),
        1 => Ok(()),
        2 => Err(r.err(format!(
            "field {} (IMD) missing: seepage takes Ksat alone or Psi Ksat IMD",
            first + 5
        ))),
        _ if seep[1] == 0.0 => Ok(()),
        _ if seep[0] < 0.0 => Err(field(0, "Psi", "must not be negative")),
        _ if seep[1] < 0.0 => Err(field(1, "Ksat", "must not be negative")),
        _ if !(0.0..=1.0).contains(&seep[2]) => Err(field(2, "IMD", "must be in [0, 1]")),
        _ => Ok(()),
    }
}

/// One NC, X1 or GR line of `[TRANSECTS]` (SWMM transect.c).
fn parse_transect_row(
    p: &mut Project,
    r: &Row,
    nc: &mut [f64; 3],
    nc_ready: &mut bool,
) -> Result<(), InpError> {
    let t = &r.tok;
    match t[0].to_ascii_uppercase().as_str() {
        "NC" => {
            r.need(4, "NC Nleft Nright Nchannel")?;
            let names = ["Nleft", "Nright", "Nchannel"];
            for (k, name) in names.iter().enumerate() {
                let v = r.f(k + 1, name)?;
                if v < 0.0 {
                    return Err(r.err(format!(
                        "field {} ({name}) must not be negative, found {v}",
                        k + 2
                    )));
                }
                if v > 0.0 {
                    nc[k] = v;
                }
            }
            for k in 0..2 {
                if nc[k] == 0.0 {
                    nc[k] = nc[2];
                }
            }
            *nc_ready = true;
        }
        "X1" => {
            r.need(10, "X1 Name Nsta Xleft Xright 0 0 Lfactor Wfactor Eoffset")?;
            if !*nc_ready {
                return Err(r.err(
                    "an NC line must precede each X1 line (it starts the transect's data)".into(),
                ));
            }
            let names = [
                "Nsta", "Xleft", "Xright", "unused", "unused", "Lfactor", "Wfactor", "Eoffset",
            ];
            let mut x1 = [0.0; 8];
            for (k, name) in names.iter().enumerate() {
                x1[k] = r.f(k + 2, name)?;
            }
            *nc_ready = false;
            p.transects.push(Transect {
                name: t[1].clone(),
                n: *nc,
                x1,
                points: Vec::new(),
            });
        }
        "GR" => {
            if !(t.len() - 1).is_multiple_of(2) {
                return Err(r.err(format!(
                    "GR expected pairs of Elevation Station values, found {} values",
                    t.len() - 1
                )));
            }
            let Some(tr) = p.transects.last_mut() else {
                return Err(r.err("GR line before any X1 line".into()));
            };
            let mut i = 1;
            while i + 1 < t.len() {
                let e = r.f(i, "Elevation")?;
                let x = r.f(i + 1, "Station")?;
                if tr.points.last().is_some_and(|&(_, last)| x < last) {
                    return Err(r.err(format!(
                        "field {} (Station) {x} is left of the previous station",
                        i + 2
                    )));
                }
                tr.points.push((e, x));
                i += 2;
            }
        }
        o => {
            return Err(r.err(format!("field 1 expected NC, X1 or GR, found '{o}'")));
        }
    }
    Ok(())
}

fn offset_or_star(r: &Row, i: usize, field: &str) -> Result<f64, InpError> {
    // SWMM accepts '*' for an offset meaning "same as the node invert" (elevation offsets).
    if r.tok.get(i).map(|s| s.as_str()) == Some("*") {
        Ok(0.0)
    } else {
        r.f(i, field)
    }
}
