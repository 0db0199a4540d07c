//! Building an engine from a parsed project: options, tables and patterns,
//! nodes, links of every kind, their validation, inflows and runoff, each
//! kind of object by its own function, in the order SWMM reads them.

use std::collections::HashMap;

use super::*;

/// Objects' indices by upper-case name.
type NameIndex = HashMap<String, usize>;

impl Engine {
    /// Builds an engine from a parsed project, validating references and
    /// values. A model that names external files needs [`Engine::with_files`].
    pub fn new(p: &Project) -> Result<Self, EngineError> {
        Self::with_files(p, &ExternalFiles::new())
    }

    /// Builds an engine from a parsed project and the text of the rain, time
    /// series and climate files it names ([`crate::referenced_files`]).
    pub fn with_files(p: &Project, files: &ExternalFiles) -> Result<Self, EngineError> {
        let mut opt = Options::from_project(p)?;
        let warnings = crate::scope::check(p)?;
        let (tables, table_index) = build_tables(p, &opt, files)?;
        let (patterns, pattern_index) = build_patterns(p)?;
        let (mut nodes, node_index, loss_nodes) = build_nodes(p, &opt, &table_index)?;
        let (curves, curve_index) = build_curves(p);
        let ix = Index::new(p, &opt, &node_index, &curve_index);
        let mut links = Links::default();
        add_conduits(&ix, &nodes, &mut links)?;
        let n_conduits = links.name.len();
        add_pumps(&ix, &curves, &mut links)?;
        add_orifices(&ix, &nodes, &mut links)?;
        add_weirs(&ix, &nodes, &mut links)?;
        add_outlets(&ix, &nodes, &mut links)?;
        attach_dividers(&ix, &mut nodes, &links)?;
        check_xsection_links(p, &links)?;
        raise_regulator_offsets(&nodes, &mut links, n_conduits);
        validate_conduits(&opt, &nodes, &mut links, n_conduits)?;
        raise_full_depths(&mut nodes, &links)?;
        nodes.degree = node_degrees(&opt, &nodes, &links)?;
        let ext_inflows = build_inflows(p, &opt, &node_index, &table_index, &pattern_index)?;
        let dwf_inflows = build_dwf(p, &opt, &node_index, &pattern_index, &patterns)?;
        let mut runoff = if p.subcatchments.is_empty() || opt.ignore_rainfall {
            None
        } else {
            Some(Runoff::new(
                p,
                &opt,
                &tables,
                &table_index,
                &node_index,
                files,
            )?)
        };
        // A rain gauge recording more often than the wet-weather step
        // shortens it, and routing never steps beyond it (SWMM project_validate).
        let wet_step = runoff.as_ref().map_or(opt.wet_step, Runoff::wet_step);
        if opt.route_step > wet_step {
            opt.route_step = wet_step;
            opt.min_route_step = opt.min_route_step.min(wet_step);
        }
        let climate = Climate::new(p, &opt, &tables, &table_index, files)?;
        let outfall_routes = outfall_routes(p, &mut runoff, &node_index)?;
        let mut e = Engine {
            opt,
            warnings,
            nodes,
            links,
            runoff,
            climate,
            loss_nodes,
            outfall_routes,
            tables,
            table_values: Vec::new(),
            curves,
            series_names: p.timeseries.iter().map(|t| t.name.clone()).collect(),
            curve_names: p.curves.iter().map(|c| c.name.clone()).collect(),
            scratch: Vec::new(),
            sorted_links: Vec::new(),
            kw_updated: Vec::new(),
            conduit_adj: ConduitAdjacency::default(),
            rules: Rules::default(),
            rule_step: 0.0,
            next_rule_time: 0.0,
            patterns,
            ext_inflows,
            dwf_inflows,
            old_time: 0.0,
            time: 0.0,
            variable_step: 0.0,
            totals: RoutingTotals::default(),
            step_rates: RoutingTotals::default(),
            step_count: 0,
            nonconverged: 0,
            steps_this: 0,
        };
        e.init_state();
        e.rules = Rules::parse(&p.controls, &e)?;
        e.rule_step = match p.option("RULE_STEP").or(p.option("CONTROL_RULE_STEP")) {
            Some(v) => inp::parse_hours(v).map(|h| h * 3600.0).unwrap_or(0.0),
            None => 0.0,
        };
        if e.opt.route_model != RouteModel::DynWave {
            e.sorted_links = e.topo_sort()?;
        }
        Ok(e)
    }
}

/// Time series as tables, with their index by upper-case name.
fn build_tables(
    p: &Project,
    opt: &Options,
    files: &ExternalFiles,
) -> Result<(Vec<Table>, NameIndex), EngineError> {
    let mut tables = Vec::new();
    let mut table_index = HashMap::new();
    for ts in &p.timeseries {
        table_index.insert(ts.name.to_ascii_uppercase(), tables.len());
        tables.push(build_table(ts, opt.start_epoch, files)?);
    }
    Ok((tables, table_index))
}

/// Time patterns, with their index by upper-case name.
fn build_patterns(p: &Project) -> Result<(Vec<Pattern>, NameIndex), EngineError> {
    let mut patterns = Vec::new();
    let mut pattern_index = HashMap::new();
    for pt in &p.patterns {
        let kind = match pt.kind.as_str() {
            "MONTHLY" => 0,
            "DAILY" => 1,
            "HOURLY" => 2,
            "WEEKEND" => 3,
            o => return Err(invalid("PATTERNS", &pt.name, format!("unknown type '{o}'"))),
        };
        pattern_index.insert(pt.name.to_ascii_uppercase(), patterns.len());
        patterns.push(Pattern {
            kind,
            factors: pt.factors.clone(),
        });
    }
    Ok((patterns, pattern_index))
}

/// Junctions, dividers (as junctions until their links exist), outfalls and
/// storage units, with their index by upper-case name and the storage units
/// that lose water.
fn build_nodes(
    p: &Project,
    opt: &Options,
    table_index: &NameIndex,
) -> Result<(Nodes, NameIndex, Vec<usize>), EngineError> {
    let ucf = opt.ucf_length();
    let mut nodes = Nodes::default();
    let mut node_index = HashMap::new();
    let mut add_node = |nodes: &mut Nodes,
                        name: &str,
                        kind: NodeKind,
                        invert: f64,
                        full: f64,
                        init: f64,
                        sur: f64,
                        pond: f64| {
        node_index.insert(name.to_ascii_uppercase(), nodes.name.len());
        nodes.name.push(name.to_string());
        nodes.kind.push(kind);
        nodes.invert.push(invert / ucf);
        nodes.full_depth.push(full / ucf);
        nodes.init_depth.push(init / ucf);
        nodes.sur_depth.push(sur / ucf);
        nodes.ponded_area.push(pond / (ucf * ucf));
    };
    for j in &p.junctions {
        if j.max_depth < 0.0 || j.init_depth < 0.0 || j.sur_depth < 0.0 || j.ponded_area < 0.0 {
            return Err(invalid(
                "JUNCTIONS",
                &j.name,
                "depths and ponded area must not be negative",
            ));
        }
        add_node(
            &mut nodes,
            &j.name,
            NodeKind::Junction,
            j.invert,
            j.max_depth,
            j.init_depth,
            j.sur_depth,
            j.ponded_area,
        );
    }
    // Dividers start as junctions; their rule is attached once links exist.
    // Under dynamic wave a divider stays a plain junction (SWMM 5 Vol. II §2.4).
    for d in &p.dividers {
        let g = |k: usize| d.node_params.get(k).copied().unwrap_or(0.0);
        if (0..4).any(|k| g(k) < 0.0) {
            return Err(invalid(
                "DIVIDERS",
                &d.name,
                "depths and ponded area must not be negative",
            ));
        }
        add_node(
            &mut nodes,
            &d.name,
            NodeKind::Junction,
            d.invert,
            g(0),
            g(1),
            g(2),
            g(3),
        );
    }
    for o in &p.outfalls {
        let bc = outfall_bc(p, o, ucf, table_index)?;
        add_node(
            &mut nodes,
            &o.name,
            NodeKind::Outfall { bc, gated: o.gated },
            o.invert,
            0.0,
            0.0,
            0.0,
            0.0,
        );
    }
    let mut exfils = Vec::new();
    for st in &p.storage {
        let shape = storage_shape(p, st)?;
        exfils.push((
            storage_exfil(p, st, &shape, opt)?,
            st.extra.get(1).copied().unwrap_or(0.0),
        ));
        let sur = st.extra.first().copied().unwrap_or(0.0);
        add_node(
            &mut nodes,
            &st.name,
            NodeKind::Storage(shape),
            st.invert,
            st.max_depth,
            st.init_depth,
            sur,
            0.0,
        );
    }
    let nn = nodes.name.len();
    nodes.exfil = vec![None; nn];
    nodes.f_evap = vec![0.0; nn];
    let mut loss_nodes = Vec::new();
    for (st, (e, f_evap)) in p.storage.iter().zip(exfils) {
        if let Some(&i) = node_index.get(&st.name.to_ascii_uppercase()) {
            if e.is_some() || f_evap != 0.0 {
                loss_nodes.push(i);
            }
            nodes.exfil[i] = e;
            nodes.f_evap[i] = f_evap;
        }
    }
    Ok((nodes, node_index, loss_nodes))
}

/// An outfall's boundary condition in internal units.
fn outfall_bc(
    p: &Project,
    o: &inp::Outfall,
    ucf: f64,
    table_index: &NameIndex,
) -> Result<OutfallBc, EngineError> {
    Ok(match &o.kind {
        OutfallKind::Free => OutfallBc::Free,
        OutfallKind::Normal => OutfallBc::Normal,
        OutfallKind::Fixed(s) => OutfallBc::Fixed(s / ucf),
        OutfallKind::Timeseries(n) => {
            OutfallBc::Series(lookup(table_index, "OUTFALLS", &o.name, "time series", n)?)
        }
        OutfallKind::Tidal(c) => OutfallBc::Tidal(
            p.curves
                .iter()
                .rposition(|k| k.name.eq_ignore_ascii_case(c))
                .ok_or_else(|| EngineError::UnknownRef {
                    section: "OUTFALLS",
                    object: o.name.clone(),
                    kind: "curve",
                    name: c.clone(),
                })?,
        ),
    })
}

/// A storage unit's surface-area relation: functional, tabular, or the
/// quadratic of a cylinder, cone, paraboloid or pyramid.
fn storage_shape(p: &Project, st: &inp::Storage) -> Result<StorageShape, EngineError> {
    Ok(match &st.shape {
        inp::StorageShape::Functional { a, b, c } => {
            if *c < 0.0 {
                return Err(invalid(
                    "STORAGE",
                    &st.name,
                    "constant area must not be negative",
                ));
            }
            StorageShape::Functional {
                a1: *a,
                a2: *b,
                a0: *c,
            }
        }
        inp::StorageShape::Tabular(name) => {
            let k = p
                .curves
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| EngineError::UnknownRef {
                    section: "STORAGE",
                    object: st.name.clone(),
                    kind: "curve",
                    name: name.clone(),
                })?;
            StorageShape::Tabular(k)
        }
        inp::StorageShape::Other { shape, params } => {
            let (l, w, z) = (params[0], params[1], params[2]);
            if l <= 0.0 || w <= 0.0 || z < 0.0 {
                return Err(invalid(
                    "STORAGE",
                    &st.name,
                    "shape dimensions must be positive",
                ));
            }
            let pi = std::f64::consts::PI;
            let (a, b) = (l / 2.0, w / 2.0);
            match shape.as_str() {
                "CYLINDRICAL" => StorageShape::Quadratic {
                    a1: 0.0,
                    a2: 0.0,
                    a0: pi * a * b,
                },
                "CONICAL" => StorageShape::Quadratic {
                    a1: 2.0 * pi * b * z,
                    a2: pi * b / a * z * z,
                    a0: pi * a * b,
                },
                "PARABOLIC" => {
                    if z == 0.0 {
                        return Err(invalid(
                            "STORAGE",
                            &st.name,
                            "paraboloid height must be positive",
                        ));
                    }
                    StorageShape::Quadratic {
                        a1: pi * a * b / z,
                        a2: 0.0,
                        a0: 0.0,
                    }
                }
                _ => StorageShape::Quadratic {
                    a1: 2.0 * (l + w) * z,
                    a2: 4.0 * z * z,
                    a0: l * w,
                },
            }
        }
    })
}

/// Curves, with their index by upper-case name.
fn build_curves(p: &Project) -> (Vec<Curve>, NameIndex) {
    let mut curves = Vec::new();
    let mut curve_index = HashMap::new();
    for c in &p.curves {
        curve_index.insert(c.name.to_ascii_uppercase(), curves.len());
        curves.push(Curve {
            kind: c.kind.clone(),
            x: c.points.iter().map(|p| p.0).collect(),
            y: c.points.iter().map(|p| p.1).collect(),
        });
    }
    (curves, curve_index)
}

/// An object's index by upper-case name, or an error naming the reference.
fn lookup(
    index: &NameIndex,
    section: &'static str,
    object: &str,
    kind: &'static str,
    name: &str,
) -> Result<usize, EngineError> {
    index
        .get(&name.to_ascii_uppercase())
        .copied()
        .ok_or_else(|| EngineError::UnknownRef {
            section,
            object: object.to_string(),
            kind,
            name: name.to_string(),
        })
}

/// What the link builders look up: nodes, curves, cross sections and losses
/// by name, and the options.
struct Index<'a> {
    p: &'a Project,
    opt: &'a Options,
    nodes: &'a NameIndex,
    curves: &'a NameIndex,
    xs: HashMap<String, &'a inp::XSection>,
    losses: HashMap<String, &'a inp::Loss>,
}

impl<'a> Index<'a> {
    fn new(p: &'a Project, opt: &'a Options, nodes: &'a NameIndex, curves: &'a NameIndex) -> Self {
        Index {
            p,
            opt,
            nodes,
            curves,
            xs: p
                .xsections
                .iter()
                .map(|x| (x.link.to_ascii_uppercase(), x))
                .collect(),
            losses: p
                .losses
                .iter()
                .map(|l| (l.link.to_ascii_uppercase(), l))
                .collect(),
        }
    }

    fn node(&self, section: &'static str, object: &str, name: &str) -> Result<usize, EngineError> {
        lookup(self.nodes, section, object, "node", name)
    }

    fn curve(&self, section: &'static str, object: &str, name: &str) -> Result<usize, EngineError> {
        lookup(self.curves, section, object, "curve", name)
    }

    /// A link end's offset above the node's invert (ft), from an offset
    /// given as a depth or, with LINK_OFFSETS ELEVATION, an elevation.
    fn elev_offset(&self, o: f64, n: usize, nodes: &Nodes) -> f64 {
        let o = o / self.opt.ucf_length();
        if self.opt.offsets_are_elevations {
            o - nodes.invert[n]
        } else {
            o
        }
    }
}

/// Conduits (DUMMY ones included), before validation.
fn add_conduits(ix: &Index, nodes: &Nodes, links: &mut Links) -> Result<(), EngineError> {
    let (p, opt) = (ix.p, ix.opt);
    let (ucf, qcf) = (opt.ucf_length(), opt.ucf_flow());
    for c in &p.conduits {
        let n1 = ix.node("CONDUITS", &c.name, &c.from)?;
        let n2 = ix.node("CONDUITS", &c.name, &c.to)?;
        let x = ix
            .xs
            .get(&c.name.to_ascii_uppercase())
            .ok_or_else(|| invalid("CONDUITS", &c.name, "has no [XSECTIONS] entry"))?;
        let dummy = x.shape == "DUMMY";
        let (mut xsect, n_override) = if dummy {
            (XSect::dummy(), None)
        } else {
            conduit_xsect(p, x, ucf)?
        };
        xsect.slot = opt.surcharge_slot && !dummy && !xsect.is_open();
        if xsect.force_main > 0.0
            && opt.force_main_eqn == crate::forcemain::ForceMainEqn::DarcyWeisbach
        {
            // Roughness height in inches or millimetres, as rainfall depths.
            xsect.force_main /= opt.ucf_rain_depth();
        }
        if c.length <= 0.0 {
            return Err(invalid("CONDUITS", &c.name, "length must be positive"));
        }
        if c.roughness <= 0.0 {
            return Err(invalid("CONDUITS", &c.name, "roughness must be positive"));
        }
        if x.barrels < 1.0 {
            return Err(invalid("XSECTIONS", &c.name, "barrels must be at least 1"));
        }
        let o1 = ix.elev_offset(c.in_offset, n1, nodes);
        let o2 = ix.elev_offset(c.out_offset, n2, nodes);
        let l = ix.losses.get(&c.name.to_ascii_uppercase());
        let j = links.push(
            &c.name,
            n1,
            n2,
            o1.max(0.0),
            o2.max(0.0),
            xsect,
            if dummy {
                LinkKind::Dummy
            } else {
                LinkKind::Conduit
            },
            1.0,
        );
        // A natural channel's length is its main channel's; the flood
        // plain that sets its slope, volume and travel time is shorter by
        // the transect's length factor, while momentum keeps the given
        // length (SWMM link.c conduit_getLength, modLength).
        links.length[j] = c.length / ucf / n_override.map_or(1.0, |o| o.1);
        links.mod_length[j] = c.length / ucf;
        // SWMM reads no barrel count for natural channels.
        links.barrels[j] = if n_override.is_some() {
            1.0
        } else {
            x.barrels.floor()
        };
        links.q_limit[j] = c.max_flow / qcf;
        links.loss[j] = l.map(|l| [l.entry, l.exit, l.avg]).unwrap_or([0.0; 3]);
        // Seepage in in/h or mm/h (SWMM's rainfall units) to ft/s.
        links.seep_rate[j] = l.map_or(0.0, |l| l.seepage) / opt.ucf_rain_rate();
        links.flap_gate[j] = l.is_some_and(|l| l.flap_gate);
        links.culvert[j] = x.culvert.clamp(0.0, 255.0) as u8;
        // Steady flow starts every link empty (SWMM flowrout.c initLinks).
        if opt.route_model != RouteModel::Steady {
            links.new_flow[j] = c.init_flow / qcf;
        }
        // Roughness kept in rough_factor until validation below; a
        // natural channel takes its transect's main-channel n.
        links.rough_factor[j] = n_override.map_or(c.roughness, |o| o.0);
    }
    Ok(())
}

/// Pumps, ideal or by their curve's type.
fn add_pumps(ix: &Index, curves: &[Curve], links: &mut Links) -> Result<(), EngineError> {
    let ucf = ix.opt.ucf_length();
    for pu in &ix.p.pumps {
        let n1 = ix.node("PUMPS", &pu.name, &pu.from)?;
        let n2 = ix.node("PUMPS", &pu.name, &pu.to)?;
        let (ptype, curve, x_min, x_max) = if pu.curve == "*" {
            (PumpType::Ideal, None, 0.0, 0.0)
        } else {
            let k = ix.curve("PUMPS", &pu.name, &pu.curve)?;
            let c = &curves[k];
            let t = match c.kind.as_str() {
                "PUMP1" => PumpType::Type1,
                "PUMP2" => PumpType::Type2,
                "PUMP3" => PumpType::Type3,
                "PUMP4" => PumpType::Type4,
                "PUMP5" => PumpType::Type5,
                o => {
                    return Err(invalid(
                        "PUMPS",
                        &pu.name,
                        format!("curve '{}' has type '{o}', not PUMP1..PUMP5", pu.curve),
                    ));
                }
            };
            if c.x.is_empty() {
                return Err(invalid("CURVES", &pu.curve, "pump curve has no points"));
            }
            (t, Some(k), c.x[0], *c.x.last().unwrap_or(&0.0))
        };
        let (y_on, y_off) = (pu.startup / ucf, pu.shutoff / ucf);
        if y_on > 0.0 && y_on <= y_off {
            return Err(invalid(
                "PUMPS",
                &pu.name,
                "startup depth must exceed shutoff depth",
            ));
        }
        let kind = LinkKind::Pump {
            ptype,
            curve,
            x_min,
            x_max,
            y_on,
            y_off,
        };
        links.push(
            &pu.name,
            n1,
            n2,
            0.0,
            0.0,
            XSect::dummy(),
            kind,
            if pu.on { 1.0 } else { 0.0 },
        );
    }
    Ok(())
}

/// Orifices, side or bottom, circular or rectangular.
fn add_orifices(ix: &Index, nodes: &Nodes, links: &mut Links) -> Result<(), EngineError> {
    let (opt, ucf) = (ix.opt, ix.opt.ucf_length());
    for o in &ix.p.orifices {
        let n1 = ix.node("ORIFICES", &o.name, &o.from)?;
        let n2 = ix.node("ORIFICES", &o.name, &o.to)?;
        let x = ix
            .xs
            .get(&o.name.to_ascii_uppercase())
            .ok_or_else(|| invalid("ORIFICES", &o.name, "has no [XSECTIONS] entry"))?;
        if x.shape != "CIRCULAR" && x.shape != "RECT_CLOSED" {
            return Err(invalid(
                "XSECTIONS",
                &o.name,
                "an orifice must be CIRCULAR or RECT_CLOSED",
            ));
        }
        let xsect = XSect::new(&x.shape, x.geom, ucf)
            .map_err(|e| invalid("XSECTIONS", &o.name, e.to_string()))?;
        let bottom = match o.kind.as_str() {
            "SIDE" => false,
            "BOTTOM" => true,
            k => {
                return Err(invalid(
                    "ORIFICES",
                    &o.name,
                    format!("type must be SIDE or BOTTOM, found '{k}'"),
                ));
            }
        };
        let length = (2.0 * opt.route_step * (GRAVITY * xsect.y_full).sqrt()).max(200.0);
        let kind = LinkKind::Orifice {
            bottom,
            cd: o.cd,
            c_orif: 0.0,
            c_weir: 0.0,
            h_crit: 0.0,
            orate: o.close_time * 3600.0,
            length,
            surf_area: 0.0,
        };
        let o1 = ix.elev_offset(o.offset, n1, nodes).max(0.0);
        let j = links.push(&o.name, n1, n2, o1, o1, xsect, kind, 1.0);
        links.flap_gate[j] = o.gated;
    }
    Ok(())
}

/// Weirs of every type SWMM has.
fn add_weirs(ix: &Index, nodes: &Nodes, links: &mut Links) -> Result<(), EngineError> {
    let ucf = ix.opt.ucf_length();
    for w in &ix.p.weirs {
        let n1 = ix.node("WEIRS", &w.name, &w.from)?;
        let n2 = ix.node("WEIRS", &w.name, &w.to)?;
        let x = ix
            .xs
            .get(&w.name.to_ascii_uppercase())
            .ok_or_else(|| invalid("WEIRS", &w.name, "has no [XSECTIONS] entry"))?;
        let (wtype, shape) = match w.kind.as_str() {
            "TRANSVERSE" => (0u8, "RECT_OPEN"),
            "SIDEFLOW" => (1, "RECT_OPEN"),
            "V-NOTCH" => (2, "TRIANGULAR"),
            "TRAPEZOIDAL" => (3, "TRAPEZOIDAL"),
            "ROADWAY" => (4, "RECT_OPEN"),
            k => {
                return Err(invalid(
                    "WEIRS",
                    &w.name,
                    format!("unknown weir type '{k}'"),
                ));
            }
        };
        if x.shape != shape {
            return Err(invalid(
                "XSECTIONS",
                &w.name,
                format!("a {} weir needs a {shape} cross section", w.kind),
            ));
        }
        let cd_curve = match w.extra.get(2).map(|s| s.as_str()) {
            None | Some("" | "*") => None,
            Some(c) => Some(ix.curve("WEIRS", &w.name, c)?),
        };
        if wtype == 4 {
            // With a road width and surface SWMM reads the coefficient off
            // the FHWA roadway-overtopping curves (HDS-5 Figure III-11);
            // without them it uses the weir's own coefficient.
            let width = w
                .extra
                .first()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
            let surface = w.extra.get(1).map(|s| s.to_ascii_uppercase());
            if width > 0.0 && matches!(surface.as_deref(), Some("PAVED" | "GRAVEL")) {
                return Err(EngineError::Unsupported(
                    "roadway weir coefficients from road width and surface (HDS-5 Figure III-11)"
                        .into(),
                ));
            }
        }
        let xsect = XSect::new(&x.shape, x.geom, ucf)
            .map_err(|e| invalid("XSECTIONS", &w.name, e.to_string()))?;
        let slope = if wtype >= 2 { xsect.s_bot } else { 0.0 };
        let kind = LinkKind::Weir {
            wtype,
            cd1: w.cd,
            cd2: w.cd2,
            end_con: w.end_contractions,
            can_surcharge: w.can_surcharge,
            c_surcharge: 0.0,
            slope,
            cd_curve,
        };
        let o1 = ix.elev_offset(w.crest, n1, nodes).max(0.0);
        let j = links.push(&w.name, n1, n2, o1, o1, xsect, kind, 1.0);
        links.flap_gate[j] = w.gated;
    }
    Ok(())
}

/// Outlets, rated by a power law or a curve.
fn add_outlets(ix: &Index, nodes: &Nodes, links: &mut Links) -> Result<(), EngineError> {
    for o in &ix.p.outlets {
        let n1 = ix.node("OUTLETS", &o.name, &o.from)?;
        let n2 = ix.node("OUTLETS", &o.name, &o.to)?;
        let by_head = o.kind.ends_with("/HEAD");
        let kind = if o.kind.starts_with("TABULAR") {
            let name = o.params.first().cloned().unwrap_or_default();
            LinkKind::Outlet {
                coeff: 0.0,
                expon: 0.0,
                curve: Some(ix.curve("OUTLETS", &o.name, &name)?),
                by_head,
            }
        } else {
            let num = |i: usize| {
                o.params
                    .get(i)
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            LinkKind::Outlet {
                coeff: num(0),
                expon: num(1),
                curve: None,
                by_head,
            }
        };
        let o1 = ix.elev_offset(o.offset, n1, nodes).max(0.0);
        let j = links.push(&o.name, n1, n2, o1, o1, XSect::dummy(), kind, 1.0);
        links.flap_gate[j] = o.gated;
    }
    Ok(())
}

/// Gives each divider its rule, now that its links exist.
fn attach_dividers(ix: &Index, nodes: &mut Nodes, links: &Links) -> Result<(), EngineError> {
    for d in &ix.p.dividers {
        let i = ix.node("DIVIDERS", &d.name, &d.name)?;
        let div = divider_rule(d, links, ix.curves, ix.opt)?;
        if links.node1[div.link] != i && links.node2[div.link] != i {
            return Err(invalid(
                "DIVIDERS",
                &d.name,
                format!(
                    "diverted link '{}' is not connected to the divider",
                    d.diverted_link
                ),
            ));
        }
        nodes.kind[i] = NodeKind::Divider(div);
    }
    Ok(())
}

/// Every cross section belongs to a link.
fn check_xsection_links(p: &Project, links: &Links) -> Result<(), EngineError> {
    let link_names: std::collections::HashSet<String> =
        links.name.iter().map(|n| n.to_ascii_uppercase()).collect();
    for x in &p.xsections {
        if !link_names.contains(&x.link.to_ascii_uppercase()) {
            return Err(EngineError::UnknownRef {
                section: "XSECTIONS",
                object: x.link.clone(),
                kind: "link",
                name: x.link.clone(),
            });
        }
    }
    Ok(())
}

/// A regulator's crest below the downstream invert is raised to it (SWMM link_validate).
fn raise_regulator_offsets(nodes: &Nodes, links: &mut Links, n_conduits: usize) {
    let nl = links.name.len();
    for j in n_conduits..nl {
        if matches!(
            links.kind[j],
            LinkKind::Orifice { .. } | LinkKind::Weir { .. } | LinkKind::Outlet { .. }
        ) {
            let (n1, n2) = (links.node1[j], links.node2[j]);
            if nodes.invert[n1] + links.offset1[j] < nodes.invert[n2] {
                links.offset1[j] = nodes.invert[n2] - nodes.invert[n1];
                links.offset2[j] = links.offset1[j];
            }
        }
    }
}

/// Conduit slopes, reversal of adverse conduits under dynamic wave,
/// lengthening and friction factors (SWMM link.c conduit_validate).
fn validate_conduits(
    opt: &Options,
    nodes: &Nodes,
    links: &mut Links,
    n_conduits: usize,
) -> Result<(), EngineError> {
    for j in 0..n_conduits {
        let n1 = links.node1[j];
        let n2 = links.node2[j];
        let len = links.length[j];
        let e1 = links.offset1[j] + nodes.invert[n1];
        let e2 = links.offset2[j] + nodes.invert[n2];
        let delta = (e1 - e2).abs().max(MIN_DELTA_Z);
        let mut slope = if delta >= len {
            delta / len
        } else {
            delta / (len * len - delta * delta).sqrt()
        };
        let raised = opt.min_slope > 0.0 && slope < opt.min_slope;
        if raised {
            slope = opt.min_slope;
        }
        let dummy = links.kind[j] == LinkKind::Dummy;
        if dummy && opt.route_model == RouteModel::DynWave && nodes.kind[n1].is_storage() {
            return Err(invalid(
                "CONDUITS",
                &links.name[j],
                "a DUMMY conduit cannot leave a storage unit under dynamic wave",
            ));
        }
        if e1 < e2 && !raised && !dummy && opt.route_model != RouteModel::DynWave {
            return Err(invalid(
                "CONDUITS",
                &links.name[j],
                "adverse slope, which only dynamic-wave routing can carry",
            ));
        }
        if e1 < e2 && !dummy && opt.route_model == RouteModel::DynWave {
            // Reverse the conduit so that it slopes downhill.
            let (a, b) = (links.node1[j], links.node2[j]);
            links.node1[j] = b;
            links.node2[j] = a;
            let (a, b) = (links.offset1[j], links.offset2[j]);
            links.offset1[j] = b;
            links.offset2[j] = a;
            let l = links.loss[j];
            links.loss[j] = [l[1], l[0], l[2]];
            links.direction[j] = -1.0;
            links.new_flow[j] = -links.new_flow[j];
        }
        // The conduit keeps its own slope; lengthening changes only the
        // slope of the friction term (SWMM link.c conduit_validate).
        links.slope[j] = slope;
        let mut roughness = links.rough_factor[j];
        let dw = opt.route_model == RouteModel::DynWave;
        let fm = links.xsect[j].force_main;
        if dw && fm > 0.0 {
            // Part full, a force main flows with the Manning's n that
            // gives its full flow (SWMM forcemain_getEquivN).
            let d = links.xsect[j].y_full;
            roughness = crate::forcemain::equivalent_n(opt.force_main_eqn, fm, d, slope);
        }
        let mut length_factor = 1.0;
        if opt.lengthening_step > 0.0 && !dummy {
            let x = &links.xsect[j];
            let y_full = if x.is_open() {
                x.a_full / x.w_of_y(x.y_full)
            } else {
                x.y_full
            };
            let v_full = PHI / roughness * x.s_full * slope.sqrt() / x.a_full;
            let t = opt.route_step.min(opt.lengthening_step);
            let ratio = ((GRAVITY * y_full).sqrt() + v_full) * t / len;
            if ratio > 1.0 {
                length_factor = ratio;
            }
        }
        if length_factor != 1.0 {
            links.mod_length[j] = length_factor * len;
            slope /= length_factor;
            roughness /= length_factor.sqrt();
        }
        if dw && fm > 0.0 {
            links.force_main[j] =
                crate::forcemain::rough_factor(opt.force_main_eqn, fm, length_factor);
        }
        links.rough_factor[j] = GRAVITY * (roughness / PHI).powi(2);
        links.beta[j] = if dummy {
            0.0
        } else {
            PHI * slope.abs().sqrt() / roughness
        };
        links.q_full[j] = links.xsect[j].s_full * links.beta[j];
        links.q_max[j] = links.xsect[j].s_max * links.beta[j];
    }
    Ok(())
}

/// Node full depths raised to the connecting crowns (SWMM link_validate);
/// outfalls have none, and no node starts above its full depth.
fn raise_full_depths(nodes: &mut Nodes, links: &Links) -> Result<(), EngineError> {
    let (nn, nl) = (nodes.name.len(), links.name.len());
    for j in 0..nl {
        let (n1, n2) = (links.node1[j], links.node2[j]);
        let yf = links.xsect[j].y_full;
        let skip = match &links.kind[j] {
            LinkKind::Pump { .. } => true,
            LinkKind::Orifice { bottom, .. } => *bottom,
            _ => false,
        };
        if skip {
            continue;
        }
        let raise1 = !matches!(nodes.kind[n1], NodeKind::Storage(_)) || nodes.sur_depth[n1] > 0.0;
        if raise1 {
            nodes.full_depth[n1] = nodes.full_depth[n1].max(links.offset1[j] + yf);
        }
        let raise2 = !matches!(nodes.kind[n2], NodeKind::Storage(_)) || nodes.sur_depth[n2] > 0.0;
        if raise2 && links.kind[j] == LinkKind::Conduit {
            nodes.full_depth[n2] = nodes.full_depth[n2].max(links.offset2[j] + yf);
        }
    }
    for i in 0..nn {
        if matches!(nodes.kind[i], NodeKind::Outfall { .. }) {
            nodes.full_depth[i] = 0.0;
        }
        if nodes.init_depth[i] > nodes.full_depth[i] + nodes.sur_depth[i] {
            return Err(invalid(
                "JUNCTIONS",
                &nodes.name[i],
                "initial depth exceeds maximum depth",
            ));
        }
    }
    Ok(())
}

/// Outflow links per node (for the tree order), negative for nodes with no
/// inflow link under dynamic wave; checks outfalls and the network's layout.
fn node_degrees(opt: &Options, nodes: &Nodes, links: &Links) -> Result<Vec<i32>, EngineError> {
    let (nn, nl) = (nodes.name.len(), links.name.len());
    let mut degree = vec![0i32; nn];
    let mut inflow_links = vec![0i32; nn];
    for j in 0..nl {
        let (n1, n2) = (links.node1[j], links.node2[j]);
        if matches!(nodes.kind[n1], NodeKind::Outfall { .. }) {
            degree[n2] += 1;
        } else {
            degree[n1] += 1;
        }
        let i = if matches!(nodes.kind[n1], NodeKind::Outfall { .. }) {
            n1
        } else {
            n2
        };
        inflow_links[i] += 1;
    }
    let mut outlets = 0;
    for i in 0..nn {
        if matches!(nodes.kind[i], NodeKind::Outfall { .. }) {
            if degree[i] + inflow_links[i] > 1 {
                return Err(invalid(
                    "OUTFALLS",
                    &nodes.name[i],
                    "an outfall must have exactly one connecting link",
                ));
            }
            outlets += 1;
        }
        if inflow_links[i] == 0 && opt.route_model == RouteModel::DynWave {
            degree[i] = -degree[i];
        }
    }
    if outlets == 0 && nl > 0 {
        return Err(invalid("OUTFALLS", "", "the network has no outfall"));
    }
    if opt.route_model == RouteModel::DynWave {
        validate_pass_through_links(nodes, links, &degree)?;
    }
    if opt.route_model != RouteModel::DynWave {
        validate_tree_layout(nodes, links)?;
    }
    Ok(degree)
}

/// External inflows of flow at nodes.
fn build_inflows(
    p: &Project,
    opt: &Options,
    node_index: &NameIndex,
    table_index: &NameIndex,
    pattern_index: &NameIndex,
) -> Result<Vec<ExtInflow>, EngineError> {
    let qcf = opt.ucf_flow();
    let mut ext_inflows = Vec::new();
    for f in &p.inflows {
        let node = lookup(node_index, "INFLOWS", &f.node, "node", &f.node)?;
        if f.constituent != "FLOW" {
            continue; // pollutant inflows: water quality, warned of in scope
        }
        let table = if f.timeseries.is_empty() {
            None
        } else {
            Some(lookup(
                table_index,
                "INFLOWS",
                &f.node,
                "time series",
                &f.timeseries,
            )?)
        };
        let pattern = if f.pattern.is_empty() {
            None
        } else {
            Some(lookup(
                pattern_index,
                "INFLOWS",
                &f.node,
                "pattern",
                &f.pattern,
            )?)
        };
        ext_inflows.push(ExtInflow {
            node,
            table,
            sfactor: f.sfactor,
            baseline: f.baseline,
            pattern,
            cf: 1.0 / qcf,
        });
    }
    Ok(ext_inflows)
}

/// Dry-weather inflows of flow at nodes.
fn build_dwf(
    p: &Project,
    opt: &Options,
    node_index: &NameIndex,
    pattern_index: &NameIndex,
    patterns: &[Pattern],
) -> Result<Vec<DwfInflow>, EngineError> {
    let qcf = opt.ucf_flow();
    let mut dwf_inflows = Vec::new();
    for d in &p.dwf {
        let node = lookup(node_index, "DWF", &d.node, "node", &d.node)?;
        if d.constituent != "FLOW" {
            continue;
        }
        let mut pats = [None; 4];
        for name in &d.patterns {
            if name.is_empty() || name == "\"\"" {
                continue;
            }
            let k = lookup(pattern_index, "DWF", &d.node, "pattern", name)?;
            pats[patterns[k].kind as usize] = Some(k);
        }
        dwf_inflows.push(DwfInflow {
            node,
            avg: d.base / qcf,
            patterns: pats,
        });
    }
    Ok(dwf_inflows)
}

/// Outfalls that discharge onto subcatchments: (node, slot in the runoff component).
fn outfall_routes(
    p: &Project,
    runoff: &mut Option<Runoff>,
    node_index: &NameIndex,
) -> Result<Vec<(usize, usize)>, EngineError> {
    let mut outfall_routes = Vec::new();
    for o in &p.outfalls {
        let Some(to) = o.route_to.as_deref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let slot = runoff
            .as_mut()
            .and_then(|r| r.route_outfall(to))
            .ok_or_else(|| EngineError::UnknownRef {
                section: "OUTFALLS",
                object: o.name.clone(),
                kind: "subcatchment",
                name: to.to_string(),
            })?;
        let node = node_index[&o.name.to_ascii_uppercase()];
        outfall_routes.push((node, slot));
    }
    Ok(outfall_routes)
}

/// The item of `items` called `name` (any case), else an error naming the
/// cross section that refers to it.
pub(super) fn find_named<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> &String,
    name: &str,
    x: &inp::XSection,
    kind: &'static str,
) -> Result<&'a T, EngineError> {
    items
        .iter()
        .find(|t| key(t).eq_ignore_ascii_case(name))
        .ok_or_else(|| EngineError::UnknownRef {
            section: "XSECTIONS",
            object: x.link.clone(),
            kind,
            name: name.to_string(),
        })
}

/// A conduit's section: a standard shape from its parameters, a natural
/// channel from its transect (with the transect's roughness), or a closed
/// shape from a SHAPE curve scaled to its full depth.
pub(super) fn conduit_xsect(
    p: &Project,
    x: &inp::XSection,
    ucf: f64,
) -> Result<(XSect, Option<(f64, f64)>), EngineError> {
    let name = x.curve.clone().unwrap_or_default();
    match x.shape.as_str() {
        "IRREGULAR" => {
            let tr = find_named(&p.transects, |t| &t.name, &name, x, "transect")?;
            let t =
                crate::shapes::transect(tr, ucf).map_err(|m| invalid("TRANSECTS", &tr.name, m))?;
            Ok((t.xsect, Some((t.roughness, t.length_factor))))
        }
        "CUSTOM" => {
            let c = find_named(&p.curves, |c| &c.name, &name, x, "curve")?;
            if c.kind != "SHAPE" {
                return Err(invalid(
                    "XSECTIONS",
                    &x.link,
                    format!("curve '{name}' is a {} curve, not a SHAPE curve", c.kind),
                ));
            }
            if x.geom[0] <= 0.0 {
                return Err(invalid(
                    "XSECTIONS",
                    &x.link,
                    "Geom1 (full depth) must be positive",
                ));
            }
            let shape =
                crate::shapes::shape_curve(&c.points).map_err(|m| invalid("CURVES", &c.name, m))?;
            Ok((shape.section(x.geom[0] / ucf), None))
        }
        s if crate::xsect::TABLE_ONLY_SHAPES.contains(&s) => {
            Err(EngineError::Unsupported(format!(
                "the {s} cross section of conduit '{}' ({})",
                x.link,
                crate::xsect::TABLE_ONLY_REASON
            )))
        }
        _ => Ok((
            XSect::new(&x.shape, x.geom, ucf)
                .map_err(|e| invalid("XSECTIONS", &x.link, e.to_string()))?,
            None,
        )),
    }
}

/// Under dynamic wave a DUMMY conduit or an ideal pump has no hydraulics of
/// its own, so it must be the only link leaving its node, and a node fed only
/// by such links cannot feed another (SWMM flowrout.c validateGeneralLayout,
/// toposort.c checkDummyLinks).
pub(super) fn validate_pass_through_links(
    nodes: &Nodes,
    links: &Links,
    degree: &[i32],
) -> Result<(), EngineError> {
    let pass_through = |j: usize| match links.kind[j] {
        LinkKind::Dummy => true,
        LinkKind::Pump { ptype, .. } => ptype == PumpType::Ideal,
        _ => false,
    };
    // 0 no inflow link yet, 1 only pass-through inflows, -1 some other inflow.
    let mut fed = vec![0i8; nodes.name.len()];
    for j in 0..links.name.len() {
        let (up, down) = if links.direction[j] < 0.0 {
            (links.node2[j], links.node1[j])
        } else {
            (links.node1[j], links.node2[j])
        };
        if pass_through(j) {
            if degree[up].abs() > 1 {
                return Err(invalid(
                    "CONDUITS",
                    &nodes.name[up],
                    format!(
                        "a DUMMY conduit or ideal pump ('{}') must be the only link leaving its node",
                        links.name[j]
                    ),
                ));
            }
            if fed[down] == 0 {
                fed[down] = 1;
            }
        } else {
            fed[down] = -1;
        }
    }
    for j in 0..links.name.len() {
        if pass_through(j) && fed[links.node1[j]] > 0 {
            return Err(invalid(
                "CONDUITS",
                &nodes.name[links.node1[j]],
                "a node fed only by DUMMY conduits or ideal pumps cannot feed another one",
            ));
        }
    }
    Ok(())
}

/// Layout rules of kinematic-wave routing (SWMM flowrout.c validateTreeLayout):
/// a node other than a storage unit or divider has at most one outflow link,
/// a divider two, an outfall none, and orifices, weirs and outlets leave
/// storage units.
pub(super) fn validate_tree_layout(nodes: &Nodes, links: &Links) -> Result<(), EngineError> {
    let mut out = vec![0usize; nodes.name.len()];
    for &n1 in &links.node1 {
        out[n1] += 1;
    }
    for (i, &k) in out.iter().enumerate() {
        let (section, max) = match nodes.kind[i] {
            NodeKind::Storage(_) => continue,
            NodeKind::Divider(_) => ("DIVIDERS", 2),
            NodeKind::Outfall { .. } => ("OUTFALLS", 0),
            NodeKind::Junction => ("JUNCTIONS", 1),
        };
        if k > max {
            return Err(invalid(
                section,
                &nodes.name[i],
                format!(
                    "{k} outflow links; kinematic-wave routing allows {max} here (dynamic wave allows more)"
                ),
            ));
        }
    }
    for j in 0..links.name.len() {
        let section = match links.kind[j] {
            LinkKind::Orifice { .. } => "ORIFICES",
            LinkKind::Weir { .. } => "WEIRS",
            LinkKind::Outlet { .. } => "OUTLETS",
            _ => continue,
        };
        if !matches!(nodes.kind[links.node1[j]], NodeKind::Storage(_)) {
            return Err(invalid(
                section,
                &links.name[j],
                "under kinematic-wave routing a regulator must leave a storage unit",
            ));
        }
    }
    Ok(())
}

/// A divider's diversion rule from its `[DIVIDERS]` row (SWMM node.c
/// divider_readParams / divider_validate).
pub(super) fn divider_rule(
    d: &inp::Divider,
    links: &Links,
    curve_index: &NameIndex,
    opt: &Options,
) -> Result<Divider, EngineError> {
    let link = links
        .name
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&d.diverted_link))
        .ok_or_else(|| EngineError::UnknownRef {
            section: "DIVIDERS",
            object: d.name.clone(),
            kind: "link",
            name: d.diverted_link.clone(),
        })?;
    let qcf = opt.ucf_flow();
    let num = |k: usize, what: &str| -> Result<f64, EngineError> {
        d.kind_params
            .get(k)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite())
            .ok_or_else(|| invalid("DIVIDERS", &d.name, format!("{what} must be a number")))
    };
    let rule = match d.kind.as_str() {
        "OVERFLOW" => DividerRule::Overflow,
        "CUTOFF" => DividerRule::Cutoff(num(0, "cutoff flow")? / qcf),
        "TABULAR" => {
            let c = d.kind_params.first().cloned().unwrap_or_default();
            DividerRule::Tabular(*curve_index.get(&c.to_ascii_uppercase()).ok_or_else(|| {
                EngineError::UnknownRef {
                    section: "DIVIDERS",
                    object: d.name.clone(),
                    kind: "curve",
                    name: c.clone(),
                }
            })?)
        }
        "WEIR" => {
            let (q_min, dh_max, c_weir) = (num(0, "Qmin")? / qcf, num(1, "Dmax")?, num(2, "Cw")?);
            if dh_max <= 0.0 || c_weir <= 0.0 {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    "a weir divider needs positive Dmax and Cw",
                ));
            }
            let q_max = c_weir * dh_max.powf(1.5) / qcf;
            if q_min > q_max {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    "a weir divider's Qmin exceeds its full-weir flow",
                ));
            }
            DividerRule::Weir {
                q_min,
                dh_max,
                c_weir,
                q_max,
            }
        }
        o => {
            return Err(invalid(
                "DIVIDERS",
                &d.name,
                format!("unknown divider type '{o}'"),
            ));
        }
    };
    Ok(Divider { link, rule })
}
