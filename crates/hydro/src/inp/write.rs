//! The `.inp` writer: a [`Project`] back to text that the reader (and
//! SWMM) reads to an equal value.

use std::fmt::Write as _;

use super::*;

fn yn(b: bool) -> &'static str {
    if b { "YES" } else { "NO" }
}

/// Writes a [`Project`] as `.inp` text that [`parse`] reads back to an equal value.
pub fn write(p: &Project) -> String {
    let mut o = String::new();
    let sec = |o: &mut String, name: &str, rows: Vec<String>| {
        let _ = writeln!(o, "[{name}]");
        for r in rows {
            let _ = writeln!(o, "{r}");
        }
        o.push('\n');
    };
    let join = |v: Vec<String>| v.join(" ");
    sec(&mut o, "TITLE", p.title.clone());
    sec(
        &mut o,
        "OPTIONS",
        p.options
            .iter()
            .map(|e| format!("{:<20} {}", q(&e.key), e.value))
            .collect(),
    );
    sec(
        &mut o,
        "RAINGAGES",
        p.raingages
            .iter()
            .map(|g| {
                let src = match &g.source {
                    GageSource::Timeseries(n) => format!("TIMESERIES {}", q(n)),
                    GageSource::File {
                        path,
                        station,
                        units,
                        start,
                    } => {
                        let mut v = format!("FILE {} {} {}", q(path), q(station), q(units));
                        if let Some(d) = start {
                            v.push(' ');
                            v.push_str(&fmt_date(*d));
                        }
                        v
                    }
                };
                format!(
                    "{} {} {} {} {src}",
                    q(&g.name),
                    q(&g.format),
                    fmt_hours(g.interval_s / 3600.0),
                    g.snow_catch
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "SUBCATCHMENTS",
        p.subcatchments
            .iter()
            .map(|s| {
                let mut v = format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&s.name),
                    q(&s.gage),
                    q(&s.outlet),
                    s.area,
                    s.imperv_pct,
                    s.width,
                    s.slope_pct,
                    s.curb_len
                );
                if let Some(sp) = &s.snowpack {
                    v.push(' ');
                    v.push_str(&q(sp));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "SUBAREAS",
        p.subareas
            .iter()
            .map(|s| {
                let mut v = format!(
                    "{} {} {} {} {} {} {}",
                    q(&s.subcatch),
                    s.n_imperv,
                    s.n_perv,
                    s.s_imperv,
                    s.s_perv,
                    s.pct_zero,
                    q(&s.route_to)
                );
                if let Some(x) = s.pct_routed {
                    let _ = write!(v, " {x}");
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "INFILTRATION",
        p.infiltration
            .iter()
            .map(|s| {
                let mut v = vec![q(&s.subcatch)];
                v.extend(s.params.iter().map(|x| x.to_string()));
                if let Some(m) = &s.method {
                    v.push(m.clone());
                }
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "JUNCTIONS",
        p.junctions
            .iter()
            .map(|j| {
                format!(
                    "{} {} {} {} {} {}",
                    q(&j.name),
                    j.invert,
                    j.max_depth,
                    j.init_depth,
                    j.sur_depth,
                    j.ponded_area
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "OUTFALLS",
        p.outfalls
            .iter()
            .map(|f| {
                let k = match &f.kind {
                    OutfallKind::Free => "FREE".to_string(),
                    OutfallKind::Normal => "NORMAL".to_string(),
                    OutfallKind::Fixed(s) => format!("FIXED {s}"),
                    OutfallKind::Tidal(c) => format!("TIDAL {}", q(c)),
                    OutfallKind::Timeseries(c) => format!("TIMESERIES {}", q(c)),
                };
                let mut v = format!("{} {} {k} {}", q(&f.name), f.invert, yn(f.gated));
                if let Some(rt) = &f.route_to {
                    v.push(' ');
                    v.push_str(&q(rt));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "STORAGE",
        p.storage
            .iter()
            .map(|s| {
                let shape = match &s.shape {
                    StorageShape::Functional { a, b, c } => format!("FUNCTIONAL {a} {b} {c}"),
                    StorageShape::Tabular(c) => format!("TABULAR {}", q(c)),
                    StorageShape::Other { shape, params } => {
                        format!("{shape} {} {} {}", params[0], params[1], params[2])
                    }
                };
                let mut v = format!(
                    "{} {} {} {} {shape}",
                    q(&s.name),
                    s.invert,
                    s.max_depth,
                    s.init_depth
                );
                for x in &s.extra {
                    let _ = write!(v, " {x}");
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "DIVIDERS",
        p.dividers
            .iter()
            .map(|d| {
                let mut v = vec![
                    q(&d.name),
                    d.invert.to_string(),
                    q(&d.diverted_link),
                    q(&d.kind),
                ];
                v.extend(d.kind_params.iter().map(|s| q(s)));
                v.extend(d.node_params.iter().map(|x| x.to_string()));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "CONDUITS",
        p.conduits
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {} {} {} {} {}",
                    q(&c.name),
                    q(&c.from),
                    q(&c.to),
                    c.length,
                    c.roughness,
                    c.in_offset,
                    c.out_offset,
                    c.init_flow,
                    c.max_flow
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "PUMPS",
        p.pumps
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.curve),
                    if x.on { "ON" } else { "OFF" },
                    x.startup,
                    x.shutoff
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "ORIFICES",
        p.orifices
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.kind),
                    x.offset,
                    x.cd,
                    yn(x.gated),
                    x.close_time
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "WEIRS",
        p.weirs
            .iter()
            .map(|x| {
                let mut v = format!(
                    "{} {} {} {} {} {} {} {} {} {}",
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    q(&x.kind),
                    x.crest,
                    x.cd,
                    yn(x.gated),
                    x.end_contractions,
                    x.cd2,
                    yn(x.can_surcharge)
                );
                for e in &x.extra {
                    v.push(' ');
                    v.push_str(&q(e));
                }
                v
            })
            .collect(),
    );
    sec(
        &mut o,
        "OUTLETS",
        p.outlets
            .iter()
            .map(|x| {
                let mut v = vec![
                    q(&x.name),
                    q(&x.from),
                    q(&x.to),
                    x.offset.to_string(),
                    q(&x.kind),
                ];
                v.extend(x.params.iter().map(|s| q(s)));
                v.push(yn(x.gated).into());
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "XSECTIONS",
        p.xsections
            .iter()
            .map(|x| match (x.shape.as_str(), &x.curve) {
                ("IRREGULAR" | "STREET", Some(c)) => {
                    format!("{} {} {} {}", q(&x.link), q(&x.shape), q(c), x.barrels)
                }
                ("CUSTOM", Some(c)) => {
                    format!(
                        "{} CUSTOM {} {} 0 0 {} {}",
                        q(&x.link),
                        x.geom[0],
                        q(c),
                        x.barrels,
                        x.culvert
                    )
                }
                _ => format!(
                    "{} {} {} {} {} {} {} {}",
                    q(&x.link),
                    q(&x.shape),
                    x.geom[0],
                    x.geom[1],
                    x.geom[2],
                    x.geom[3],
                    x.barrels,
                    x.culvert
                ),
            })
            .collect(),
    );
    sec(
        &mut o,
        "LOSSES",
        p.losses
            .iter()
            .map(|l| {
                format!(
                    "{} {} {} {} {} {}",
                    q(&l.link),
                    l.entry,
                    l.exit,
                    l.avg,
                    yn(l.flap_gate),
                    l.seepage
                )
            })
            .collect(),
    );
    sec(
        &mut o,
        "CURVES",
        p.curves
            .iter()
            .flat_map(|c| {
                let mut rows = Vec::new();
                if c.points.is_empty() {
                    rows.push(format!("{} {}", q(&c.name), q(&c.kind)));
                }
                for (i, (x, y)) in c.points.iter().enumerate() {
                    if i == 0 && !c.kind.is_empty() {
                        rows.push(format!("{} {} {x} {y}", q(&c.name), q(&c.kind)));
                    } else {
                        rows.push(format!("{} {x} {y}", q(&c.name)));
                    }
                }
                rows
            })
            .collect(),
    );
    sec(
        &mut o,
        "TRANSECTS",
        p.transects
            .iter()
            .flat_map(|tr| {
                let mut rows = vec![
                    format!("NC {} {} {}", tr.n[0], tr.n[1], tr.n[2]),
                    format!(
                        "X1 {} {}",
                        q(&tr.name),
                        tr.x1
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ];
                for chunk in tr.points.chunks(5) {
                    let pts: Vec<String> = chunk.iter().map(|(e, x)| format!("{e} {x}")).collect();
                    rows.push(format!("GR {}", pts.join(" ")));
                }
                rows
            })
            .collect(),
    );
    sec(
        &mut o,
        "TIMESERIES",
        p.timeseries
            .iter()
            .flat_map(|ts| match &ts.data {
                TsData::File(f) => vec![format!("{} FILE {}", q(&ts.name), q(f))],
                TsData::Points(v) => v
                    .iter()
                    .map(|pt| {
                        let d = pt.date.map(|d| fmt_date(d) + " ").unwrap_or_default();
                        format!("{} {d}{} {}", q(&ts.name), fmt_hours(pt.hours), pt.value)
                    })
                    .collect(),
            })
            .collect(),
    );
    sec(
        &mut o,
        "PATTERNS",
        p.patterns
            .iter()
            .map(|pt| {
                let mut v = vec![q(&pt.name), q(&pt.kind)];
                v.extend(pt.factors.iter().map(|x| x.to_string()));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "DWF",
        p.dwf
            .iter()
            .map(|d| {
                let mut v = vec![q(&d.node), q(&d.constituent), d.base.to_string()];
                v.extend(d.patterns.iter().map(|s| q(s)));
                join(v)
            })
            .collect(),
    );
    sec(
        &mut o,
        "INFLOWS",
        p.inflows
            .iter()
            .map(|i| {
                // SWMM rejects an empty pattern name, so it is written only when set.
                let mut v = format!(
                    "{} {} {} {} {} {} {}",
                    q(&i.node),
                    q(&i.constituent),
                    q(&i.timeseries),
                    q(&i.kind),
                    i.mfactor,
                    i.sfactor,
                    i.baseline
                );
                if !i.pattern.is_empty() {
                    v.push(' ');
                    v.push_str(&q(&i.pattern));
                }
                v
            })
            .collect(),
    );
    let nums = |v: &[f64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ev = &p.evaporation;
    let mut rows = Vec::new();
    match &ev.source {
        None => {}
        Some(EvapSource::Constant(x)) => rows.push(format!("CONSTANT {x}")),
        Some(EvapSource::Monthly(v)) => rows.push(format!("MONTHLY {}", nums(v))),
        Some(EvapSource::Timeseries(n)) => rows.push(format!("TIMESERIES {}", q(n))),
        Some(EvapSource::Temperature) => rows.push("TEMPERATURE".into()),
        Some(EvapSource::File(v)) => rows.push(format!("FILE {}", nums(v)).trim_end().into()),
    }
    if let Some(n) = &ev.recovery {
        rows.push(format!("RECOVERY {}", q(n)));
    }
    if let Some(b) = ev.dry_only {
        rows.push(format!("DRY_ONLY {}", yn(b)));
    }
    sec(&mut o, "EVAPORATION", rows);
    let mut rows = Vec::new();
    match &p.temperature.source {
        None => {}
        Some(TempSource::Timeseries(n)) => rows.push(format!("TIMESERIES {}", q(n))),
        Some(TempSource::File { path, start, units }) => {
            let mut v = format!("FILE {}", q(path));
            if start.is_some() || units.is_some() {
                v.push(' ');
                v.push_str(&start.map(fmt_date).unwrap_or_else(|| "*".into()));
            }
            if let Some(u) = units {
                v.push(' ');
                v.push_str(u);
            }
            rows.push(v);
        }
    }
    rows.extend(
        p.temperature
            .rows
            .iter()
            .map(|r| join(r.iter().map(|t| q(t)).collect())),
    );
    sec(&mut o, "TEMPERATURE", rows);
    let mut rows: Vec<String> = p
        .adjustments
        .monthly
        .iter()
        .map(|a| format!("{} {}", a.kind, nums(&a.values)))
        .collect();
    rows.extend(
        p.adjustments
            .subcatch
            .iter()
            .map(|a| format!("{} {} {}", a.kind, q(&a.subcatch), q(&a.pattern))),
    );
    sec(&mut o, "ADJUSTMENTS", rows);
    sec(&mut o, "CONTROLS", p.controls.clone());
    for (name, v) in [
        ("COORDINATES", &p.coordinates),
        ("VERTICES", &p.vertices),
        ("POLYGONS", &p.polygons),
    ] {
        sec(
            &mut o,
            name,
            v.iter()
                .map(|(n, x, y)| format!("{} {x} {y}", q(n)))
                .collect(),
        );
    }
    for s in &p.raw_sections {
        sec(
            &mut o,
            &s.name,
            s.rows
                .iter()
                .map(|r| join(r.iter().map(|t| q(t)).collect()))
                .collect(),
        );
    }
    o
}
