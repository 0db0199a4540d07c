//! `twin info`: a city's layers, counts, extents, CRS, owners and derived networks, as text
//! or JSON.

use twin_citygen::fill::is_designed;
use twin_model::{City, Crs, DrainageNetwork, Layer, RoadGraph};

fn fmt_bbox(b: Option<[[f64; 2]; 2]>) -> String {
    match b {
        Some([a, z]) => format!("{:.0},{:.0} – {:.0},{:.0}", a[0], a[1], z[0], z[1]),
        None => "–".into(),
    }
}

/// Human-readable summary (Vietnamese and English).
pub fn info_text(c: &City) -> String {
    let mut s = String::new();
    if c.is_synthetic() {
        s += "*** DỮ LIỆU TỔNG HỢP — SYNTHETIC DATA (not survey data) ***\n";
    }
    s += &format!("Thành phố / City: {}\n", c.name);
    s += &format!(
        "Hệ tọa độ / CRS: {}{}\n",
        c.crs.code(),
        if c.crs == Crs::VN2000_UTM48N {
            " (VN-2000 / UTM zone 48N)"
        } else {
            ""
        }
    );
    s += &format!("Phạm vi / Extent: {}\n", fmt_bbox(c.bbox()));
    s += &format!(
        "{:<24} {:<38} {:>8} {:>8}  {:<7} {}\n",
        "layer / lớp", "name (vi)", "features", "designed", "owner", "extent"
    );
    for l in c.layers() {
        let layer = l.layer();
        s += &format!(
            "{:<24} {:<38} {:>8} {:>8}  {:<7} {}\n",
            format!("{} ({})", layer.table_name(), layer.name_en())
                .chars()
                .take(24)
                .collect::<String>(),
            layer.name_vi(),
            l.len(),
            l.features().iter().filter(|f| is_designed(f)).count(),
            layer.default_owner().code(),
            fmt_bbox(l.bbox())
        );
    }
    if let Some(d) = &c.dem {
        let st = d.stats();
        s += &format!(
            "DEM: {} × {} cells of {} m, elevation {} m\n",
            d.nx,
            d.ny,
            d.cell,
            st.map(|x| format!("{:.2} – {:.2}", x.min, x.max))
                .unwrap_or_else(|| "(no data)".into())
        );
    }
    let g = RoadGraph::from_layer(c.layer(Layer::TrafficRoad));
    if !g.links.is_empty() {
        let (frac, _) = g.largest_scc();
        let km: f64 = g.links.iter().map(|l| l.length_m).sum::<f64>() / 1000.0;
        s += &format!(
            "Road graph / Mạng đường: {} nodes, {} directed links ({km:.1} km), {} signalised junctions, largest strongly connected component {:.1} % of links\n",
            g.nodes.len(),
            g.links.len(),
            g.signal_count(),
            frac * 100.0
        );
    }
    match DrainageNetwork::from_layer(c.layer(Layer::Utility)) {
        Ok(n) if !n.nodes.is_empty() => {
            s += &format!(
                "Drainage / Thoát nước: {} nodes, {} conduits, {} pumps ({:.1} m³/s), {} gates/weirs, {} outfalls, {} subcatchments ({:.2} km²)\n",
                n.nodes.len(),
                n.conduits.len(),
                n.pumps.len(),
                n.pump_capacity_m3s(),
                n.regulators.len(),
                n.outfall_count(),
                n.subcatchments.len(),
                n.subcatchments.iter().map(|s| s.area_m2).sum::<f64>() / 1e6
            );
        }
        Ok(_) => {}
        Err(e) => s += &format!("Drainage / Thoát nước: invalid network: {e}\n"),
    }
    let residents: f64 = c
        .layer(Layer::Building)
        .features()
        .iter()
        .filter_map(|f| f.num("residents"))
        .sum();
    let on_blocks: f64 = c
        .layer(Layer::Population)
        .features()
        .iter()
        .filter_map(|f| f.num("unplaced_residents"))
        .sum();
    if residents + on_blocks > 0.0 {
        s += &format!("Residents / Dân số: {:.0}", residents + on_blocks);
        if on_blocks > 0.0 {
            s += &format!(
                " ({residents:.0} in mapped buildings, {on_blocks:.0} on population blocks without mapped buildings)"
            );
        }
        s += "\n";
    }
    let rules = c.designed_rules();
    if !rules.is_empty() {
        s += "Thiết kế, không phải khảo sát / Designed, not surveyed (source = designed):\n";
        for (layer, kind, rule) in rules {
            s += &format!("  {layer} {kind}: {rule}\n");
        }
    }
    s
}

/// Machine-readable summary.
pub fn info_json(c: &City) -> serde_json::Value {
    let layers: Vec<serde_json::Value> = c
        .layers()
        .map(|l| {
            serde_json::json!({
                "table": l.layer().table_name(),
                "name_en": l.layer().name_en(),
                "name_vi": l.layer().name_vi(),
                "owner": l.layer().default_owner().code(),
                "owner_en": l.layer().default_owner().name_en(),
                "features": l.len(),
                "designed": l.features().iter().filter(|f| is_designed(f)).count(),
                "bbox": l.bbox(),
            })
        })
        .collect();
    serde_json::json!({
        "name": c.name,
        "crs": c.crs.code(),
        "synthetic": c.is_synthetic(),
        "bbox": c.bbox(),
        "layers": layers,
        "dem": c.dem.as_ref().map(|d| serde_json::json!({"nx": d.nx, "ny": d.ny, "cell_m": d.cell})),
        "designed_rules": c.designed_rules()
            .into_iter()
            .map(|(layer, kind, rule)| serde_json::json!({"layer": layer, "kind": kind, "rule": rule}))
            .collect::<Vec<_>>(),
        "metadata": c.metadata,
    })
}
