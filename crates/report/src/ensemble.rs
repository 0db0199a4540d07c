//! An ensemble of a scenario ([`twin_engine::ensemble`]) as a map of the probability of deep
//! water and a bilingual page: the members, each headline figure's median and 10–90 % range,
//! the roads most likely closed and the gauges most likely over the threshold.

use std::fmt::Write;

use crate::Rgb;
use crate::html::{clock, esc};
use twin_engine::ensemble::{DEPTH_M, GaugeProbability, KpiStats, Member, RoadProbability};
use twin_model::Raster;

/// Classes of probability (lower bound, exclusive for the first) and their colours, light
/// yellow to dark red; cells no member flooded show the hillshade.
pub const PROBABILITY_CLASSES: [(f64, [u8; 3], &str); 5] = [
    (0.0, [255, 237, 160], "> 0–20 %"),
    (0.2, [254, 178, 76], "20–40 %"),
    (0.4, [253, 141, 60], "40–60 %"),
    (0.6, [240, 59, 32], "60–80 %"),
    (0.8, [189, 0, 38], "80–100 %"),
];

/// Colour of a probability, or `None` for 0.
pub fn probability_colour(p: f64) -> Option<[u8; 3]> {
    if p <= 0.0 {
        return None;
    }
    PROBABILITY_CLASSES
        .iter()
        .rev()
        .find(|(lo, _, _)| p > *lo)
        .map(|(_, c, _)| *c)
}

/// The probability map: each cell's share of members with water of [`DEPTH_M`] or more, in
/// [`PROBABILITY_CLASSES`] over the grey hillshade, nodata white, the classes as a legend strip.
pub fn probability_map(dem: &Raster, p: &Raster) -> Rgb {
    let legend: Vec<[u8; 3]> = PROBABILITY_CLASSES.iter().map(|(_, c, _)| *c).collect();
    crate::cell_map(
        dem.nx,
        dem.ny,
        |c, r| {
            let z = dem.get(c, r);
            if dem.is_nodata(z) {
                return [255, 255, 255];
            }
            let v = if c < p.nx && r < p.ny {
                p.get(c, r)
            } else {
                0.0
            };
            let shade = 90.0 + 150.0 * crate::hillshade(dem, c, r);
            match (!p.is_nodata(v))
                .then(|| probability_colour(v as f64))
                .flatten()
            {
                Some(col) => col.map(|x| (x as f64 * (0.8 + 0.2 * shade / 240.0)).min(255.0) as u8),
                None => [shade as u8; 3],
            }
        },
        &legend,
    )
}

/// What the ensemble page shows, as plain data.
#[derive(Debug, Clone)]
pub struct EnsembleReport {
    /// City name.
    pub city: String,
    /// The scenario file's name.
    pub scenario: String,
    /// The scenario's rain and interventions, one line each.
    pub interventions: Vec<String>,
    /// Clock time of the scenario's rain start, minutes after midnight.
    pub rain_start_min: f64,
    /// Range of the rain factor.
    pub rain_scale: (f64, f64),
    /// Largest shift of the rain's start, min.
    pub shift_min: f64,
    /// The plan's seed.
    pub seed: u64,
    /// The members.
    pub members: Vec<Member>,
    /// Each headline figure over the members.
    pub kpis: Vec<KpiStats>,
    /// Roads wet in some member.
    pub roads: Vec<RoadProbability>,
    /// Gauges.
    pub gauges: Vec<GaugeProbability>,
    /// Area where at least half the members had [`DEPTH_M`] or more, m².
    pub area_half_m2: f64,
    /// Area where any member had it, m².
    pub area_any_m2: f64,
    /// The probability map beside the page.
    pub map: String,
}

/// Vietnamese and English label and unit of an ensemble figure (`summary.json` keys, and
/// `reach.KIND.beyond_during`).
pub fn kpi_label(key: &str) -> (String, String, &'static str) {
    if let Some(kind) = key
        .strip_prefix("reach.")
        .and_then(|k| k.strip_suffix(".beyond_during"))
        && let Some(st) = twin_engine::reach::STANDARDS
            .iter()
            .find(|s| s.kind == kind)
    {
        let limit = st.limit_s / 60.0;
        return (
            format!(
                "Dân cư ngoài chuẩn {limit:.0} phút: {} (khi ngập)",
                st.label.0
            ),
            format!(
                "Residents beyond the {limit:.0} min standard: {} (during the flood)",
                st.label.1
            ),
            "",
        );
    }
    crate::compare::kpi_label(key)
}

fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn pct(p: f64) -> String {
    format!("{:.0} %", 100.0 * p)
}

/// The ensemble page.
pub fn ensemble_html(r: &EnsembleReport) -> String {
    let n = r.members.len();
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>Tổ hợp kịch bản / Scenario ensemble — {scenario}</title>
<style>
body{{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}}
h1{{font-size:1.5em}} h2{{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}} .en{{color:#555}}
img{{max-width:100%;border:1px solid #ccc}} .sw{{display:inline-block;width:14px;height:14px;vertical-align:middle;margin:0 4px 0 10px;border:1px solid #999}}
</style></head><body>
<h1>Tổ hợp kịch bản <span class="en">/ Scenario ensemble</span>: {scenario}</h1>
<p>{city} — {n} thành viên: thành viên 0 là kịch bản gốc; các thành viên khác nhân cường độ mưa với hệ số trong {lo:.2}–{hi:.2}, dời giờ bắt đầu mưa ({start}) trong ± {shift:.0} phút và dùng hạt giống giao thông riêng (siêu khối Latin, hạt giống {seed}).
<span class="en">/ {n} members: member 0 is the scenario as written; the others scale the rain intensities by a factor in {lo:.2}–{hi:.2}, move the rain's start ({start}) within ± {shift:.0} min and draw their own traffic seed (a Latin hypercube, seed {seed}).</span></p>
"##,
        scenario = esc(&r.scenario),
        city = esc(&r.city),
        lo = r.rain_scale.0,
        hi = r.rain_scale.1,
        start = clock(r.rain_start_min),
        shift = r.shift_min,
        seed = r.seed,
    );
    if !r.interventions.is_empty() {
        h += "<ul>";
        for l in &r.interventions {
            let _ = write!(h, "<li>{}</li>", esc(l));
        }
        h += "</ul>\n";
    }
    // Figures.
    let _ = write!(
        h,
        r##"<h2>Chỉ số: trung vị và khoảng 10–90 % <span class="en">/ Key figures: median and 10–90 % range</span></h2>
<p>Phân vị theo nội suy tuyến tính giữa các thống kê thứ tự <span class="en">/ percentiles by linear interpolation between order statistics</span>.</p>
<table><tr><th>Chỉ số <span class="en">/ Figure</span></th><th>Đơn vị <span class="en">/ Unit</span></th><th>P10</th><th>Trung vị <span class="en">/ Median</span></th><th>P90</th><th>Nhỏ nhất – lớn nhất <span class="en">/ Min – max</span></th></tr>
"##
    );
    for k in &r.kpis {
        let (vi, en, unit) = kpi_label(&k.key);
        let _ = writeln!(
            h,
            r#"<tr><td>{} <span class="en">/ {}</span></td><td>{unit}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{} – {}</td></tr>"#,
            esc(&vi),
            esc(&en),
            num(k.p10),
            num(k.median),
            num(k.p90),
            num(k.min),
            num(k.max)
        );
    }
    h += "</table>\n";
    // Map.
    let _ = write!(
        h,
        r##"<h2>Xác suất ngập ≥ {cm:.0} cm <span class="en">/ Probability of water ≥ {cm:.0} cm</span></h2>
<p>Tỷ lệ thành viên có độ sâu lớn nhất ≥ {cm:.0} cm tại mỗi ô. Ít nhất một nửa số thành viên: {half:.3} km²; ít nhất một thành viên: {any:.3} km².
<span class="en">/ The share of members whose maximum depth reached {cm:.0} cm in each cell. In at least half the members: {half:.3} km²; in any member: {any:.3} km².</span></p>
<p><img src="{map}" alt="probability map"></p><p>"##,
        cm = DEPTH_M * 100.0,
        half = r.area_half_m2 / 1e6,
        any = r.area_any_m2 / 1e6,
        map = esc(&r.map),
    );
    for (_, col, label) in PROBABILITY_CLASSES {
        let _ = write!(
            h,
            r#"<span class="sw" style="background:rgb({},{},{})"></span>{label}"#,
            col[0], col[1], col[2]
        );
    }
    h += "</p>\n";
    // Roads.
    let mut roads: Vec<&RoadProbability> = r.roads.iter().filter(|x| x.p_closed > 0.0).collect();
    roads.sort_by(|a, b| {
        b.p_closed
            .total_cmp(&a.p_closed)
            .then(b.p_depth.total_cmp(&a.p_depth))
            .then(b.median_depth_m.total_cmp(&a.median_depth_m))
            .then(a.feature.cmp(&b.feature))
    });
    let _ = write!(
        h,
        r##"<h2>Đường có khả năng bị đóng <span class="en">/ Roads most likely closed</span></h2>
<p>{} đoạn đường bị đóng trong ít nhất một thành viên, {} trong ít nhất một nửa. <span class="en">/ {} road segments closed in at least one member, {} in at least half.</span></p>
"##,
        roads.len(),
        roads.iter().filter(|x| x.p_closed >= 0.5).count(),
        roads.len(),
        roads.iter().filter(|x| x.p_closed >= 0.5).count(),
    );
    if !roads.is_empty() {
        h += r#"<table><tr><th>Mã / Id</th><th>Tên / Name</th><th>P(đóng / closed)</th><th>P(≥ 30 cm)</th><th>Độ sâu trung vị / Median depth (m)</th></tr>"#;
        for x in roads.iter().take(30) {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{:.2}</td></tr>"#,
                x.feature.0,
                esc(x.name.as_deref().unwrap_or("")),
                pct(x.p_closed),
                pct(x.p_depth),
                x.median_depth_m
            );
        }
        h += "</table>\n";
        if roads.len() > 30 {
            let _ = writeln!(
                h,
                "<p>… và {} đoạn khác trong roads_probability.csv <span class=\"en\">/ and {} more in roads_probability.csv</span></p>",
                roads.len() - 30,
                roads.len() - 30
            );
        }
    }
    // Gauges.
    if !r.gauges.is_empty() {
        let mut g: Vec<&GaugeProbability> = r.gauges.iter().collect();
        g.sort_by(|a, b| {
            b.p_rise
                .total_cmp(&a.p_rise)
                .then(b.rise_m[0].total_cmp(&a.rise_m[0]))
        });
        let _ = write!(
            h,
            r##"<h2>Điểm đo <span class="en">/ Gauges</span></h2>
<p>Xác suất nước dâng ≥ {cm:.0} cm so với lúc bắt đầu <span class="en">/ probability of the water rising {cm:.0} cm or more over its level at the start</span>.</p>
<table><tr><th>Điểm đo / Gauge</th><th>P(≥ {cm:.0} cm)</th><th>P10 (m)</th><th>Trung vị / Median (m)</th><th>P90 (m)</th></tr>"##,
            cm = DEPTH_M * 100.0
        );
        for x in g.iter().take(30) {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{:.2}</td><td class="n">{:.2}</td><td class="n">{:.2}</td></tr>"#,
                esc(&x.gauge),
                pct(x.p_rise),
                x.rise_m[1],
                x.rise_m[0],
                x.rise_m[2]
            );
        }
        h += "</table>\n";
    }
    // Members.
    h += r##"<h2>Các thành viên <span class="en">/ Members</span></h2>
<table><tr><th>#</th><th>Hệ số mưa / Rain factor</th><th>Dời / Shift (min)</th><th>Mưa bắt đầu / Rain starts</th><th>Hạt giống giao thông / Traffic seed</th></tr>"##;
    for m in &r.members {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="n">{:.3}</td><td class="n">{:+.1}</td><td>{}</td><td class="n">{}</td></tr>"#,
            m.index,
            m.rain_scale,
            m.shift_min,
            clock(r.rain_start_min + m.shift_min),
            m.traffic_seed
        );
    }
    h += "</table>\n</body></html>\n";
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_fall_in_their_classes_and_labels_are_bilingual() {
        assert_eq!(probability_colour(0.0), None);
        assert_eq!(probability_colour(0.125), Some(PROBABILITY_CLASSES[0].1));
        assert_eq!(probability_colour(0.2), Some(PROBABILITY_CLASSES[0].1));
        assert_eq!(probability_colour(0.5), Some(PROBABILITY_CLASSES[2].1));
        assert_eq!(probability_colour(1.0), Some(PROBABILITY_CLASSES[4].1));
        let (vi, en, _) = kpi_label("reach.fire_station.beyond_during");
        assert!(
            vi.contains("chuẩn 10 phút") && en.contains("10 min standard: Fire station"),
            "{en}"
        );
        let (vi, en, unit) = kpi_label("delay_vehicle_hours");
        assert_eq!(
            (vi.as_str(), en.as_str(), unit),
            ("Tổng thời gian trễ", "Total delay", "vehicle-h")
        );
    }
}
