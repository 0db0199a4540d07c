//! The scenario report: one self-contained HTML page in Vietnamese and English for forecast
//! analysts and decision makers — the storm, the flood map, the hotspots with their depth
//! curves, closed roads, people and services reached, traffic with and without the flood, and
//! the water balance that shows the run can be trusted. Charts are inline SVG; the flood map is
//! referenced by file name (written beside the page).

use std::fmt::Write;

/// A gauge's time series, summarised for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeRow {
    /// Name.
    pub name: String,
    /// Sample times, minutes.
    pub minutes: Vec<f64>,
    /// Depth at each time, m.
    pub depths_m: Vec<f64>,
}

impl GaugeRow {
    /// Rise above the first sample (a lake or river starts wet), m.
    pub fn rise_m(&self) -> Vec<f64> {
        let d0 = self.depths_m.first().copied().unwrap_or(0.0);
        self.depths_m.iter().map(|d| (d - d0).max(0.0)).collect()
    }

    /// Peak rise and its minute.
    pub fn peak(&self) -> (f64, f64) {
        self.rise_m()
            .iter()
            .zip(&self.minutes)
            .fold((0.0, 0.0), |a, (d, t)| if *d > a.0 { (*d, *t) } else { a })
    }

    /// Minutes with the rise at or above `threshold_m` (sample spacing × samples).
    pub fn minutes_above(&self, threshold_m: f64) -> f64 {
        let dt = match self.minutes.as_slice() {
            [a, b, ..] => b - a,
            _ => 0.0,
        };
        self.rise_m().iter().filter(|d| **d >= threshold_m).count() as f64 * dt
    }
}

/// A service the flood reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// Name.
    pub name: String,
    /// Kind (`hospital`, `school`, …).
    pub kind: String,
    /// Worst depth on its site, m.
    pub depth_m: f64,
    /// Its access road is closed.
    pub access_closed: bool,
    /// The access road's name.
    pub access_road: Option<String>,
}

/// A street with a stretch closed by the flood.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedStreet {
    /// Street name.
    pub name: String,
    /// Deepest water on it, m.
    pub depth_m: f64,
    /// When a stretch of it first closed, minutes after the rain's start (`None`: not timed).
    pub closed_from_min: Option<f64>,
    /// Longest time any stretch of it stayed closed, minutes (0: not timed).
    pub closed_min: f64,
    /// A stretch was still closed when the flood run ended (the time closed is a lower bound).
    pub closed_at_end: bool,
}

/// Traffic with and without the flood.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRow {
    /// Trips in the peak.
    pub trips: usize,
    /// Arrived without / with the flood.
    pub arrived: [usize; 2],
    /// Mean trip duration without / with, s.
    pub mean_s: [f64; 2],
    /// Trips left with no route (flooded run).
    pub stranded: usize,
    /// Trips rerouted en route (flooded run).
    pub rerouted: usize,
    /// Extra vehicle-hours.
    pub delay_vehicle_hours: f64,
    /// Road links closed / slowed at some time.
    pub links: [usize; 2],
    /// Vehicles let into a full link after a long wait, without / with the flood.
    pub teleports: [usize; 2],
    /// Trips neither arrived nor stranded by the end, without / with the flood.
    pub unfinished: [usize; 2],
    /// Extra vehicle-hours counting every trip: arrived, stranded (to when it was taken out)
    /// and unfinished (its time so far).
    pub delay_all_vehicle_hours: f64,
    /// Five-minute intervals whose teleports exceeded the gridlock share, without / with.
    pub gridlocked_intervals: [usize; 2],
    /// Clock time of the traffic run's start, minutes after midnight (06:00 = 360).
    pub clock_start_min: f64,
    /// Clock time of the rain's start, minutes after midnight; `None`: every road in its
    /// worst state from the start.
    pub rain_start_min: Option<f64>,
    /// Statistics intervals: start (minutes after the run's start), network speed without and
    /// with the flood (km/h, NaN if no vehicle moved), directed links closed.
    pub intervals: Vec<(f64, f64, f64, usize)>,
    /// File name of the road map beside the page (empty: none).
    pub road_map: String,
}

pub use twin_engine::scenario::clock;

/// Network speed without and with the flood through the run (lines, km/h on the left axis)
/// and the links closed (bars, right axis), against clock time, as SVG.
fn speed_chart(t: &TrafficRow) -> String {
    let (w, h, pad) = (640.0, 220.0, 40.0);
    let Some(last) = t.intervals.last() else {
        return String::new();
    };
    // Interval length from the spacing of the starts (5 minutes for a lone interval).
    let dt = match t.intervals.as_slice() {
        [a, b, ..] => (b.0 - a.0).max(1e-3),
        _ => 5.0,
    };
    let span = last.0 + dt;
    let top = t
        .intervals
        .iter()
        .flat_map(|i| [i.1, i.2])
        .filter(|v| v.is_finite())
        .fold(10.0f64, f64::max)
        .ceil();
    let closed_top = t.intervals.iter().map(|i| i.3).max().unwrap_or(0).max(1) as f64;
    let x = |m: f64| pad + (w - 2.0 * pad) * (m / span).clamp(0.0, 1.0);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v / top).clamp(0.0, 1.0);
    let mut s = format!(
        r##"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="network speed"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    for i in &t.intervals {
        if i.3 > 0 {
            let bh = (h - 2.0 * pad) * i.3 as f64 / closed_top;
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#f4c7c3"/>"##,
                x(i.0),
                h - pad - bh,
                (x(i.0 + dt) - x(i.0)).max(0.5)
            );
        }
    }
    for (k, colour) in [(1usize, "#2171b5"), (2, "#d7301f")] {
        let pts: Vec<String> = t
            .intervals
            .iter()
            .filter_map(|i| {
                let v = if k == 1 { i.1 } else { i.2 };
                v.is_finite()
                    .then(|| format!("{:.1},{:.1}", x(i.0 + 0.5 * dt), y(v)))
            })
            .collect();
        let _ = write!(
            s,
            r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
            pts.join(" ")
        );
    }
    if let Some(r) = t.rain_start_min {
        let m = r - t.clock_start_min;
        if (0.0..=span).contains(&m) {
            let _ = write!(
                s,
                r##"<line x1="{0:.1}" y1="{pad}" x2="{0:.1}" y2="{1}" stroke="#3b7dd8" stroke-dasharray="4 3"/><text x="{2:.1}" y="{3}" font-size="11" fill="#3b7dd8">mưa / rain</text>"##,
                x(m),
                h - pad,
                x(m) + 3.0,
                pad + 10.0
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{0}" x2="{1}" y2="{0}" stroke="#333"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{0}" stroke="#333"/>"##,
        h - pad,
        w - pad
    );
    let mut m = 0.0;
    while m <= span + 1e-9 {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            x(m),
            h - pad + 14.0,
            clock(t.clock_start_min + m)
        );
        m += 30.0;
    }
    let _ = write!(
        s,
        r##"<text x="4" y="{:.1}" font-size="11">{top:.0} km/h</text><text x="4" y="{:.1}" font-size="11">0</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#c0392b">{closed_top:.0} đoạn đóng / links closed</text>"##,
        pad - 6.0,
        h - pad,
        w - 4.0,
        pad - 6.0
    );
    s + "</svg>"
}

/// One alert: when a watched threshold was first crossed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertRow {
    /// Clock time, minutes after midnight (`None`: no time recorded).
    pub clock_min: Option<f64>,
    /// Kind in Vietnamese.
    pub kind_vi: String,
    /// Kind in English.
    pub kind_en: String,
    /// The gauge, road, service or network.
    pub subject: String,
    /// The value and the threshold, as text.
    pub detail: String,
}

/// One emergency service's reach before the flood and at its worst.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReachRow {
    /// Service in Vietnamese.
    pub service_vi: String,
    /// Service in English.
    pub service_en: String,
    /// Response standard, minutes.
    pub limit_min: f64,
    /// Facilities on the road network.
    pub facilities: usize,
    /// Residents beyond the standard: before, at the worst.
    pub beyond: [f64; 2],
    /// Residents with no route at the worst.
    pub cut_off: f64,
    /// Mean travel time, minutes: before, at the worst.
    pub mean_min: [f64; 2],
    /// File name of its map beside the page (blocks by travel time, before and during).
    pub map: Option<String>,
}

/// Buildings of one use and the flood around them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BuildingRow {
    /// Use in Vietnamese.
    pub use_vi: String,
    /// Use in English.
    pub use_en: String,
    /// Buildings of that use.
    pub count: usize,
    /// With water ≥ 0.1 / 0.3 / 0.5 m against or inside them.
    pub flooded: [usize; 3],
    /// Residents and jobs in those with ≥ 0.3 m.
    pub people_ge_0_3: [f64; 2],
}

/// A substation out and the signals it darkened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PowerRow {
    /// Substation.
    pub substation: String,
    /// Out from, clock minutes.
    pub from_min: f64,
    /// Back at, clock minutes (`None`: out to the end).
    pub to_min: Option<f64>,
    /// Deepest water on its site and its threshold, m (`None`: taken out by the scenario).
    pub depth_m: Option<(f64, f64)>,
    /// Signals it feeds that went dark.
    pub signals: usize,
}

/// A way round a closed stretch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiversionRow {
    /// The closed road.
    pub road: String,
    /// Closed length, m.
    pub closed_m: f64,
    /// Way round, m (infinite: none inside the city model).
    pub detour_m: f64,
    /// Roads of the way round.
    pub via: Vec<String>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioReport {
    /// City or district name.
    pub city: String,
    /// Scenario title.
    pub title: String,
    /// Rain series: (start minute, mm/h), stepwise.
    pub rain: Vec<(f64, f64)>,
    /// Simulated minutes.
    pub minutes: f64,
    /// File name of the flood map beside the page.
    pub flood_map: String,
    /// Maximum flood depth, m.
    pub max_depth_m: f64,
    /// Land under ≥ 0.1 / 0.3 / 0.5 m, m² (lakes and rivers not counted).
    pub area_m2: [f64; 3],
    /// Residents under ≥ 0.1 / 0.3 / 0.5 m.
    pub residents: [f64; 3],
    /// Hotspot and sensor gauges.
    pub gauges: Vec<GaugeRow>,
    /// Streets with a closed stretch, worst first.
    pub closed_roads: Vec<ClosedStreet>,
    /// Streets slowed.
    pub slowed_roads: usize,
    /// Services reached.
    pub services: Vec<ServiceRow>,
    /// Traffic, if simulated.
    pub traffic: Option<TrafficRow>,
    /// Water balance terms (Vietnamese / English label, m³).
    pub ledger: Vec<(String, f64)>,
    /// Alerts, earliest first.
    pub alerts: Vec<AlertRow>,
    /// Emergency services' reach.
    pub reach: Vec<ReachRow>,
    /// What the scenario sets: rain and interventions, one bilingual line each.
    pub interventions: Vec<String>,
    /// File name of the map of rain totals beside the page, where the rain varies across the
    /// city.
    pub rain_map: Option<String>,
    /// Closure error of the balance, % of inflow.
    pub closure_percent: f64,
    /// Buildings by use, most flooded first.
    pub buildings: Vec<BuildingRow>,
    /// Jobs with water ≥ 0.1 / 0.3 / 0.5 m at their building or site.
    pub jobs: [f64; 3],
    /// Cut off (access road closed): buildings, residents, jobs.
    pub cut_off: [f64; 3],
    /// Substations out.
    pub power: Vec<PowerRow>,
    /// Vehicles that crossed dark junctions in the run with the flood.
    pub dark_crossings: usize,
    /// Ways round the closed stretches.
    pub diversions: Vec<DiversionRow>,
    /// The diversions were put in place, not only proposed.
    pub diversions_activated: bool,
    /// Residents by ward: name, residents in the model, reached by ≥ 10 / 30 / 50 cm.
    pub wards: Vec<(String, f64, [f64; 3])>,
    /// What the city's data lacked and was designed: (layer, kind, rule).
    pub designed: Vec<(String, String, String)>,
}

/// `s` escaped for HTML text and attributes.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Thousands separated by a thin space (readable in both languages).
fn int(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// Vietnamese / English name of a service kind.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "hospital" => "Bệnh viện / Hospital".into(),
        "school" => "Trường học / School".into(),
        "health_station" => "Trạm y tế / Health station".into(),
        "kindergarten" => "Mầm non / Kindergarten".into(),
        "fire_station" => "PCCC / Fire station".into(),
        "police" => "Công an / Police".into(),
        other => esc(other),
    }
}

/// Bar chart of the rain series (mm/h per minute) as SVG.
fn hyetograph(rain: &[(f64, f64)], minutes: f64) -> String {
    let (w, h, pad) = (640.0, 180.0, 36.0);
    let peak = rain.iter().map(|r| r.1).fold(1.0f64, f64::max);
    let x = |m: f64| pad + (w - 2.0 * pad) * (m / minutes.max(1.0)).clamp(0.0, 1.0);
    let y = |v: f64| h - pad + -(h - 2.0 * pad) * (v / peak);
    let mut s = format!(
        r##"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="rain"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    for (k, (m, v)) in rain.iter().enumerate() {
        let end = rain.get(k + 1).map(|r| r.0).unwrap_or(minutes);
        if *m >= minutes || *v <= 0.0 {
            continue;
        }
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#3b7dd8"/>"##,
            x(*m),
            y(*v),
            (x(end.min(minutes)) - x(*m)).max(0.5),
            h - pad - y(*v)
        );
    }
    axes(&mut s, w, h, pad, minutes, peak, "mm/h");
    s + "</svg>"
}

fn axes(s: &mut String, w: f64, h: f64, pad: f64, minutes: f64, top: f64, unit: &str) {
    let prec = if top >= 10.0 { 0 } else { 2 };
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{0}" x2="{1}" y2="{0}" stroke="#333"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{0}" stroke="#333"/>"##,
        h - pad,
        w - pad
    );
    let step = if minutes > 240.0 { 60.0 } else { 30.0 };
    let mut m = 0.0;
    while m <= minutes + 1e-9 {
        let x = pad + (w - 2.0 * pad) * m / minutes.max(1.0);
        let _ = write!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{m:.0}</text>"##,
            h - pad + 14.0
        );
        m += step;
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">phút / min</text><text x="4" y="{:.1}" font-size="11">{top:.prec$} {unit}</text><text x="4" y="{:.1}" font-size="11">0</text>"##,
        w - pad,
        h - 4.0,
        pad + 4.0,
        h - pad
    );
}

const PALETTE: [&str; 6] = [
    "#d7301f", "#2171b5", "#238b45", "#6a51a3", "#e08214", "#525252",
];

/// Rise of the first gauges over time as SVG lines.
fn hydrographs(gauges: &[GaugeRow], minutes: f64) -> String {
    let (w, h, pad) = (640.0, 220.0, 36.0);
    let top = gauges
        .iter()
        .flat_map(|g| g.rise_m())
        .fold(0.05f64, f64::max);
    let mut s = format!(
        r##"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="gauges"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    for (k, g) in gauges.iter().take(PALETTE.len()).enumerate() {
        let pts: Vec<String> = g
            .minutes
            .iter()
            .zip(g.rise_m())
            .map(|(m, d)| {
                format!(
                    "{:.1},{:.1}",
                    pad + (w - 2.0 * pad) * (m / minutes.max(1.0)).clamp(0.0, 1.0),
                    h - pad - (h - 2.0 * pad) * (d / top)
                )
            })
            .collect();
        let _ = write!(
            s,
            r##"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"##,
            PALETTE[k],
            pts.join(" ")
        );
    }
    axes(&mut s, w, h, pad, minutes, top, "m");
    s + "</svg>"
}

/// The report as one HTML page.
pub fn scenario_html(r: &ScenarioReport) -> String {
    let total_mm: f64 = r
        .rain
        .iter()
        .enumerate()
        .map(|(k, (m, v))| {
            let end = r
                .rain
                .get(k + 1)
                .map(|x| x.0)
                .unwrap_or(r.minutes)
                .min(r.minutes);
            v * (end - m).max(0.0) / 60.0
        })
        .sum();
    let peak = r.rain.iter().map(|x| x.1).fold(0.0f64, f64::max);
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}}
h1{{font-size:1.5em}} h2{{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}} .en{{color:#555}} .kpi td:first-child{{width:60%}}
.warn{{color:#b30000;font-weight:600}} img{{max-width:100%;border:1px solid #ccc}}
</style></head><body>
<h1>{title}</h1>
<p>{city} — mô phỏng {minutes:.0} phút / {minutes:.0}-minute simulation. Mưa {total:.0} mm, cường độ lớn nhất {peak:.0} mm/h
<span class="en">/ rain {total:.0} mm, peak intensity {peak:.0} mm/h</span>.</p>
"##,
        title = esc(&r.title),
        city = esc(&r.city),
        minutes = r.minutes,
        total = total_mm,
        peak = peak,
    );
    // Key figures.
    let _ = write!(
        h,
        r##"<h2>Tóm tắt <span class="en">/ Summary</span></h2><table class="kpi">
<tr><td>Độ sâu ngập lớn nhất <span class="en">/ Maximum flood depth</span></td><td class="n">{:.2} m</td></tr>
<tr><td>Diện tích đất ngập ≥ 10 cm (không kể hồ, sông) <span class="en">/ Land under ≥ 10 cm (lakes and rivers not counted)</span></td><td class="n">{:.3} km²</td></tr>
<tr><td>Diện tích đất ngập ≥ 30 cm (không kể hồ, sông) <span class="en">/ Land under ≥ 30 cm (lakes and rivers not counted)</span></td><td class="n">{:.3} km²</td></tr>
<tr><td>Dân số vùng ngập ≥ 10 cm <span class="en">/ Residents where water reached 10 cm</span></td><td class="n">{}</td></tr>
<tr><td>Dân số vùng ngập ≥ 30 cm <span class="en">/ Residents where water reached 30 cm</span></td><td class="n">{}</td></tr>
<tr><td>Tuyến phố có đoạn phải đóng (≥ 30 cm) <span class="en">/ Streets with a closed stretch (≥ 30 cm)</span></td><td class="n">{}</td></tr>
<tr><td>Tuyến phố phải giảm tốc <span class="en">/ Streets slowed</span></td><td class="n">{}</td></tr>
<tr><td>Cơ sở công cộng bị ảnh hưởng <span class="en">/ Public services affected</span></td><td class="n">{}</td></tr>
<tr><td>Công trình ngập ≥ 30 cm <span class="en">/ Buildings with ≥ 30 cm of water</span></td><td class="n">{}</td></tr>
<tr><td>Việc làm ở nơi ngập ≥ 30 cm <span class="en">/ Jobs where water reached 30 cm</span></td><td class="n">{}</td></tr>
<tr><td>Bị cô lập (đường vào bị đóng): dân / việc làm <span class="en">/ Cut off (access road closed): residents / jobs</span></td><td class="n">{} / {}</td></tr>
<tr><td>Trạm biến áp mất điện / đèn tín hiệu tắt <span class="en">/ Substations out / signals dark</span></td><td class="n">{} / {}</td></tr>
"##,
        r.max_depth_m,
        r.area_m2[0] / 1e6,
        r.area_m2[1] / 1e6,
        int(r.residents[0]),
        int(r.residents[1]),
        r.closed_roads.len(),
        r.slowed_roads,
        r.services.len(),
        int(r.buildings.iter().map(|b| b.flooded[1]).sum::<usize>() as f64),
        int(r.jobs[1]),
        int(r.cut_off[1]),
        int(r.cut_off[2]),
        r.power.len(),
        r.power.iter().map(|p| p.signals).sum::<usize>(),
    );
    if let Some(t) = &r.traffic {
        let _ = write!(
            h,
            r##"<tr><td>Thời gian chuyến đi trung bình <span class="en">/ Mean trip time</span></td><td class="n">{:.1} → {:.1} phút / min</td></tr>
<tr><td>Tổn thất thời gian, mọi chuyến (kể cả chưa đến, bị kẹt lại) <span class="en">/ Extra delay, every trip (unfinished and stranded included)</span></td><td class="n">{} xe·giờ / vehicle-hours</td></tr>
<tr><td>Tổn thất thời gian, chỉ các chuyến đã đến <span class="en">/ Extra delay of the trips that arrived</span></td><td class="n">{} xe·giờ / vehicle-hours</td></tr>
"##,
            t.mean_s[0] / 60.0,
            t.mean_s[1] / 60.0,
            int(t.delay_all_vehicle_hours),
            int(t.delay_vehicle_hours)
        );
    }
    h += "</table>\n";
    if !r.wards.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Dân cư theo phường <span class="en">/ Residents by ward</span></h2>
<table><tr><th>Phường / Ward</th><th>Dân số trong mô hình / Residents in the model</th><th>Ngập ≥ 10 cm</th><th>≥ 30 cm</th><th>≥ 50 cm</th></tr>"##
        );
        for (w, n, f) in &r.wards {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                esc(w),
                int(*n),
                int(f[0]),
                int(f[1]),
                int(f[2])
            );
        }
        h += "</table>\n";
    }
    if !r.designed.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Dữ liệu thiết kế, không phải khảo sát <span class="en">/ Designed, not surveyed</span></h2>
<p>Dữ liệu của thành phố thiếu những phần dưới đây; chúng được thiết kế theo quy tắc ghi rõ (thuộc tính <code>source = designed</code>). Kết quả phụ thuộc vào chúng. <span class="en">/ The city's data lacked what follows; it was designed by the rule given (attribute <code>source = designed</code>), and the results depend on it.</span></p>
<table><tr><th>Lớp / Layer</th><th>Loại / Kind</th><th>Quy tắc / Rule</th></tr>"##
        );
        for (l, k, rule) in &r.designed {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(l),
                esc(k),
                esc(rule)
            );
        }
        h += "</table>\n";
    }
    if !r.interventions.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Kịch bản <span class="en">/ Scenario</span></h2>
<ul>"##
        );
        for line in &r.interventions {
            let _ = write!(h, "<li>{}</li>", esc(line));
        }
        h += "</ul>\n";
    }
    if !r.alerts.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Cảnh báo <span class="en">/ Alerts</span></h2>
<p>{} cảnh báo, theo thời điểm vượt ngưỡng đầu tiên <span class="en">/ {} alerts, by the time each threshold was first crossed</span></p>
<table><tr><th>Lúc / At</th><th>Loại / Kind</th><th>Đối tượng / Subject</th><th>Giá trị / Value</th></tr>"##,
            r.alerts.len(),
            r.alerts.len()
        );
        for a in r.alerts.iter().take(60) {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{} <span class="en">/ {}</span></td><td>{}</td><td>{}</td></tr>"#,
                a.clock_min.map_or("–".to_string(), clock),
                esc(&a.kind_vi),
                esc(&a.kind_en),
                esc(&a.subject),
                esc(&a.detail)
            );
        }
        if r.alerts.len() > 60 {
            let _ = write!(
                h,
                "<tr><td colspan=\"4\">… {} nữa / more (alerts.json)</td></tr>",
                r.alerts.len() - 60
            );
        }
        h += "</table>\n";
    }
    if r.buildings.iter().any(|b| b.flooded[0] > 0) {
        let _ = write!(
            h,
            r##"<h2>Công trình bị ngập theo công năng <span class="en">/ Buildings flooded, by use</span></h2>
<p>Nước sát tường hoặc trong công trình <span class="en">/ Water against the walls or inside</span>. Bị cô lập (đường vào bị đóng) <span class="en">/ cut off (access road closed)</span>: {} công trình / buildings, {} dân / residents, {} việc làm / jobs.</p>
<table><tr><th>Công năng / Use</th><th>Số công trình / Buildings</th><th>≥ 10 cm</th><th>≥ 30 cm</th><th>≥ 50 cm</th><th>Dân / Residents (≥ 30 cm)</th><th>Việc làm / Jobs (≥ 30 cm)</th></tr>"##,
            int(r.cut_off[0]),
            int(r.cut_off[1]),
            int(r.cut_off[2])
        );
        for b in r.buildings.iter().filter(|b| b.flooded[0] > 0) {
            let _ = write!(
                h,
                r#"<tr><td>{} <span class="en">/ {}</span></td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                esc(&b.use_vi),
                esc(&b.use_en),
                int(b.count as f64),
                int(b.flooded[0] as f64),
                int(b.flooded[1] as f64),
                int(b.flooded[2] as f64),
                int(b.people_ge_0_3[0]),
                int(b.people_ge_0_3[1])
            );
        }
        h += "</table>\n";
    }
    if !r.power.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Mất điện và đèn tín hiệu tắt <span class="en">/ Power cuts and dark signals</span></h2>
<p>Mỗi đèn tín hiệu lấy điện từ trạm biến áp gần nhất; khi trạm mất điện, nút giao vận hành như nút tự điều khiển (xe dừng và đi lần lượt), năng lực thông qua giảm <span class="en">/ Each signal is fed by the nearest substation; when it is out, the junction runs as an all-way stop (vehicles stop and go in turn) at a lower capacity</span>. {} lượt xe qua nút tắt đèn <span class="en">/ vehicles crossed dark junctions</span>.</p>
<table><tr><th>Trạm / Substation</th><th>Mất điện / Out</th><th>Nguyên nhân / Cause</th><th>Đèn tắt / Signals dark</th></tr>"##,
            int(r.dark_crossings as f64)
        );
        for p in &r.power {
            let cause = match p.depth_m {
                Some((d, t)) => format!("ngập / flooded {d:.2} m (≥ {t:.2} m)"),
                None => "theo kịch bản / set by the scenario".into(),
            };
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{}–{}</td><td>{}</td><td class="n">{}</td></tr>"#,
                esc(&p.substation),
                clock(p.from_min),
                p.to_min.map_or("…".to_string(), clock),
                esc(&cause),
                p.signals
            );
        }
        h += "</table>\n";
    }
    if !r.diversions.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Phân luồng {} <span class="en">/ Diversions {}</span></h2>
<p>Đường vòng ngắn nhất quanh từng đoạn bị ngập đóng, trên các đường còn thông <span class="en">/ The shortest way round each stretch the flood closes, on the roads left open</span>{}</p>
<table><tr><th>Đường bị đóng / Closed road</th><th>Đoạn đóng / Closed (m)</th><th>Đường vòng / Way round (m)</th><th>Đi qua / Via</th></tr>"##,
            if r.diversions_activated {
                "(đã kích hoạt)"
            } else {
                "(đề xuất)"
            },
            if r.diversions_activated {
                "(activated)"
            } else {
                "(proposed)"
            },
            if r.diversions_activated {
                ". Đường được đóng sớm và lái xe được thông báo <span class=\"en\">/ Roads were closed early and drivers told</span>."
            } else {
                "."
            }
        );
        for d in r.diversions.iter().take(30) {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                esc(&d.road),
                int(d.closed_m),
                if d.detour_m.is_finite() {
                    int(d.detour_m)
                } else {
                    "không có trong mô hình / none in the model".into()
                },
                esc(&d.via.join(" → "))
            );
        }
        if r.diversions.len() > 30 {
            let _ = write!(
                h,
                "<tr><td colspan=\"4\">… {} nữa / more (diversions.csv)</td></tr>",
                r.diversions.len() - 30
            );
        }
        h += "</table>\n";
    }
    if !r.reach.is_empty() {
        let _ = write!(
            h,
            r##"<h2>Tiếp cận của lực lượng khẩn cấp <span class="en">/ Reach of the emergency services</span></h2>
<p>Thời gian đi trên mạng đường từ cơ sở gần nhất đến từng khu dân cư, trước khi ngập và lúc ngập nặng nhất (đường ngập sâu bị cắt, đường ngập nông đi chậm) <span class="en">/ Travel time over the roads from the nearest facility to every block, before the flood and at its worst (deep roads cut, shallow ones slowed)</span></p>
<table><tr><th>Dịch vụ / Service</th><th>Chuẩn / Standard</th><th>Số cơ sở / Facilities</th><th>Dân ngoài chuẩn / Residents beyond: trước → khi ngập / before → flooded</th><th>Bị cô lập / Cut off</th><th>Thời gian TB / Mean time (phút / min)</th></tr>"##
        );
        for x in &r.reach {
            let _ = write!(
                h,
                r#"<tr><td>{} <span class="en">/ {}</span></td><td class="n">{:.0} phút / min</td><td class="n">{}</td><td class="n">{} → {}</td><td class="n">{}</td><td class="n">{:.1} → {:.1}</td></tr>"#,
                esc(&x.service_vi),
                esc(&x.service_en),
                x.limit_min,
                x.facilities,
                int(x.beyond[0]),
                int(x.beyond[1]),
                int(x.cut_off),
                x.mean_min[0],
                x.mean_min[1]
            );
        }
        h += "</table>\n";
        for x in r.reach.iter() {
            if let Some(m) = &x.map {
                let _ = write!(
                    h,
                    r##"<h3>{} <span class="en">/ {}</span>: trước khi ngập (trái) và lúc ngập nặng nhất (phải) <span class="en">/ before the flood (left) and at its worst (right)</span></h3>
<p><img src="{}" alt="reach map / bản đồ tiếp cận"></p>
<p class="legend">≤ {:.0} · ≤ {:.0} · ≤ {:.0} · &gt; {:.0} phút / min · không có đường / no route</p>
"##,
                    esc(&x.service_vi),
                    esc(&x.service_en),
                    esc(m),
                    x.limit_min / 2.0,
                    x.limit_min,
                    1.5 * x.limit_min,
                    1.5 * x.limit_min
                );
            }
        }
    }
    // Rain and map.
    let _ = write!(
        h,
        r##"<h2>Mưa <span class="en">/ Rain</span></h2>{}
<h2>Bản đồ ngập lớn nhất <span class="en">/ Maximum flood depth map</span></h2>
<p><img src="{}" alt="flood map / bản đồ ngập"></p>
"##,
        hyetograph(&r.rain, r.minutes),
        esc(&r.flood_map)
    );
    if let Some(m) = &r.rain_map {
        let classes: Vec<String> = crate::RAIN_CLASSES
            .iter()
            .map(|(lo, _)| format!("≥ {lo:.0}"))
            .collect();
        let _ = write!(
            h,
            r##"<h2>Tổng lượng mưa theo vị trí <span class="en">/ Rain total across the city</span></h2>
<p><img src="{}" alt="rain map / bản đồ mưa"></p>
<p>mm, từ nhạt đến đậm / light to dark: {}</p>
"##,
            esc(m),
            classes.join(", ")
        );
    }
    // Hotspots.
    if !r.gauges.is_empty() {
        let mut rows: Vec<&GaugeRow> = r.gauges.iter().collect();
        rows.sort_by(|a, b| b.peak().0.total_cmp(&a.peak().0).then(a.name.cmp(&b.name)));
        h += r##"<h2>Điểm đo và điểm nóng <span class="en">/ Gauges and hotspots</span></h2>
<p>Mực nước dâng so với đầu kỳ <span class="en">/ Rise above the start of the run</span></p>"##;
        let shown: Vec<GaugeRow> = rows
            .iter()
            .take(PALETTE.len())
            .map(|g| (*g).clone())
            .collect();
        h += &hydrographs(&shown, r.minutes);
        h += r##"<table><tr><th></th><th>Điểm / Gauge</th><th>Dâng lớn nhất / Peak rise (m)</th><th>Lúc / At (phút / min)</th><th>Thời gian ≥ 10 cm / Time ≥ 10 cm (phút / min)</th></tr>"##;
        for (k, g) in rows.iter().enumerate() {
            let (p, at) = g.peak();
            let at = if p > 0.0 {
                format!("{at:.0}")
            } else {
                "—".to_string()
            };
            let swatch = PALETTE
                .get(k)
                .map(|c| format!(r##"<span style="color:{c}">■</span>"##))
                .unwrap_or_default();
            let _ = write!(
                h,
                r##"<tr><td>{swatch}</td><td>{}</td><td class="n">{p:.2}</td><td class="n">{at}</td><td class="n">{:.0}</td></tr>"##,
                esc(&g.name),
                g.minutes_above(0.1)
            );
        }
        h += "</table>\n";
    }
    // Roads.
    let _ = write!(
        h,
        r##"<h2>Tuyến phố có đoạn bị đóng <span class="en">/ Streets with a closed stretch</span> ({})</h2>"##,
        r.closed_roads.len()
    );
    if r.closed_roads.is_empty() {
        h += "<p>Không có / None.</p>";
    } else {
        let rain_start = r.traffic.as_ref().and_then(|t| t.rain_start_min);
        let timed = r.closed_roads.iter().any(|c| c.closed_from_min.is_some());
        h += r##"<table><tr><th>Tuyến phố / Street</th><th>Sâu nhất / Deepest (m)</th>"##;
        if timed {
            h += r##"<th>Đóng từ / Closed from</th><th>Đóng trong / Closed for (phút / min; ≥: vẫn đóng khi kết thúc mô phỏng / still closed at the end of the run)</th>"##;
        }
        h += "</tr>";
        for c in r.closed_roads.iter().take(20) {
            let _ = write!(
                h,
                r##"<tr><td>{}</td><td class="n">{:.2}</td>"##,
                esc(&c.name),
                c.depth_m
            );
            if timed {
                let from = match (c.closed_from_min, rain_start) {
                    (Some(m), Some(r0)) => clock(r0 + m),
                    (Some(m), None) => format!("phút / min {m:.0}"),
                    (None, _) => "—".into(),
                };
                let _ = write!(
                    h,
                    r##"<td class="n">{from}</td><td class="n">{}{:.0}</td>"##,
                    if c.closed_at_end { "≥ " } else { "" },
                    c.closed_min
                );
            }
            h += "</tr>";
        }
        h += "</table>";
        if r.closed_roads.len() > 20 {
            let _ = write!(
                h,
                "<p>… và {0} tuyến khác / and {0} more (roads.csv).</p>",
                r.closed_roads.len() - 20
            );
        }
    }
    // Services.
    let _ = write!(
        h,
        r##"<h2>Cơ sở công cộng bị ảnh hưởng <span class="en">/ Public services affected</span> ({})</h2>"##,
        r.services.len()
    );
    if r.services.is_empty() {
        h += "<p>Không có / None.</p>";
    } else {
        h += r##"<table><tr><th>Cơ sở / Service</th><th>Loại / Kind</th><th>Ngập tại chỗ / Depth on site (m)</th><th>Đường tiếp cận / Access road</th></tr>"##;
        for s in &r.services {
            let access = match (&s.access_closed, &s.access_road) {
                (true, Some(n)) => {
                    format!(r##"<span class="warn">{} — đóng / closed</span>"##, esc(n))
                }
                (true, None) => r##"<span class="warn">đóng / closed</span>"##.to_string(),
                (false, Some(n)) => esc(n),
                (false, None) => String::new(),
            };
            let _ = write!(
                h,
                r##"<tr><td>{}</td><td>{}</td><td class="n">{:.2}</td><td>{access}</td></tr>"##,
                esc(&s.name),
                kind_label(&s.kind),
                s.depth_m
            );
        }
        h += "</table>";
    }
    // Traffic.
    if let Some(t) = &r.traffic {
        let when = match t.rain_start_min {
            Some(m) => format!(
                "Mưa bắt đầu lúc {0}; mỗi đoạn đường đóng hoặc giảm tốc theo độ sâu nước trên đó trong từng khoảng thời gian, rồi mở lại khi nước rút. <span class=\"en\">/ The rain starts at {0}; each road closes or slows with the water on it interval by interval, and reopens as the water falls.</span>",
                clock(m)
            ),
            None => "Mỗi đoạn đường ở trạng thái ngập nặng nhất suốt giờ cao điểm. <span class=\"en\">/ Every road in its worst flood state for the whole peak.</span>".to_string(),
        };
        let _ = write!(
            h,
            r##"<h2>Giao thông giờ cao điểm sáng <span class="en">/ Morning-peak traffic</span></h2>
<p>Từ {start} <span class="en">/ from {start}</span>. {when}</p>
<table><tr><th></th><th>Không ngập / No flood</th><th>Khi ngập / Flooded</th></tr>
<tr><td>Chuyến xe / Vehicle trips</td><td class="n">{0}</td><td class="n">{0}</td></tr>
<tr><td>Đã đến nơi / Arrived</td><td class="n">{1}</td><td class="n">{2}</td></tr>
<tr><td>Thời gian trung bình / Mean trip time (phút / min)</td><td class="n">{3:.1}</td><td class="n">{4:.1}</td></tr>
<tr><td>Đổi lộ trình / Rerouted</td><td class="n">—</td><td class="n">{5}</td></tr>
<tr><td>Không còn đường đi / Stranded (no route)</td><td class="n">—</td><td class="n">{6}</td></tr>
<tr><td>Chưa đến nơi khi kết thúc / Unfinished at the end</td><td class="n">{11}</td><td class="n">{12}</td></tr>
<tr><td>Kẹt cứng, phải cho qua / Let through a jam (teleports)</td><td class="n">{9}</td><td class="n">{10}</td></tr>
<tr><td>Khoảng 5 phút tắc nghẽn (cho qua &gt; {15:.0} % số xe) / Five-minute intervals gridlocked (teleports &gt; {15:.0} % of the vehicles)</td><td class="n">{13}</td><td class="n">{14}</td></tr>
<tr><td>Đoạn đường đóng / giảm tốc — Links closed / slowed</td><td class="n">—</td><td class="n">{7} / {8}</td></tr>
</table>
"##,
            int(t.trips as f64),
            int(t.arrived[0] as f64),
            int(t.arrived[1] as f64),
            t.mean_s[0] / 60.0,
            t.mean_s[1] / 60.0,
            int(t.rerouted as f64),
            int(t.stranded as f64),
            t.links[0],
            t.links[1],
            int(t.teleports[0] as f64),
            int(t.teleports[1] as f64),
            int(t.unfinished[0] as f64),
            int(t.unfinished[1] as f64),
            t.gridlocked_intervals[0],
            t.gridlocked_intervals[1],
            100.0 * twin_engine::scenario::GRIDLOCK_SHARE,
            start = clock(t.clock_start_min),
        );
        if !t.intervals.is_empty() {
            h += r##"<p>Tốc độ trung bình trên mạng lưới <span style="color:#2171b5">■ không ngập</span>, <span style="color:#d7301f">■ khi ngập</span>; cột hồng: số đoạn đường đóng <span class="en">/ Network speed <span style="color:#2171b5">■ no flood</span>, <span style="color:#d7301f">■ flooded</span>; pink bars: links closed</span></p>"##;
            h += &speed_chart(t);
        }
        if !t.road_map.is_empty() {
            let _ = write!(
                h,
                r##"<p>Đường bị ảnh hưởng lúc ngập nặng nhất: <span style="color:#d7191c">■ đóng</span>, <span style="color:#f18c1a">■ giảm tốc</span>, <span style="color:#6e6e6e">■ thông</span> <span class="en">/ Roads at their worst: closed, slowed, open</span></p>
<p><img src="{}" alt="road map / bản đồ đường"></p>
"##,
                esc(&t.road_map)
            );
        }
    }
    // Water balance.
    if !r.ledger.is_empty() {
        h += r##"<h2>Cân bằng nước <span class="en">/ Water balance</span></h2><table><tr><th>Thành phần / Term</th><th>m³</th></tr>"##;
        for (label, v) in &r.ledger {
            let _ = write!(
                h,
                r##"<tr><td>{}</td><td class="n">{}</td></tr>"##,
                esc(label),
                int(*v)
            );
        }
        let _ = write!(
            h,
            r##"<tr><td>Sai số khép kín / Closure error</td><td class="n">{:.3} %</td></tr></table>"##,
            r.closure_percent
        );
    }
    h += r##"<p class="en">Synthetic demo data where the city says "(mẫu) / (synthetic)". Methods: local-inertial 2D flow (Bates et al. 2010), SWMM-compatible 1D network, Chen et al. (2007) inlets, Pregnolato et al. (2017) depth–speed curve.</p>
</body></html>
"##;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ScenarioReport {
        ScenarioReport {
            city: "Quận mẫu <demo>".into(),
            title: "Mưa 100 mm / 2 h".into(),
            rain: vec![(0.0, 20.0), (30.0, 100.0), (60.0, 40.0), (90.0, 0.0)],
            minutes: 120.0,
            flood_map: "max_depth.png".into(),
            max_depth_m: 0.92,
            area_m2: [1_250_000.0, 300_000.0, 20_000.0],
            residents: [41_234.4, 9_876.0, 120.0],
            gauges: vec![
                GaugeRow {
                    name: "Hồ A".into(),
                    minutes: vec![0.0, 10.0, 20.0, 30.0],
                    depths_m: vec![1.0, 1.05, 1.2, 1.15],
                },
                GaugeRow {
                    name: "Ngã tư B & C".into(),
                    minutes: vec![0.0, 10.0, 20.0, 30.0],
                    depths_m: vec![0.0, 0.3, 0.45, 0.2],
                },
            ],
            closed_roads: vec![
                ClosedStreet {
                    name: "Phố Huế".into(),
                    depth_m: 0.41,
                    closed_from_min: Some(50.0),
                    closed_min: 95.0,
                    closed_at_end: false,
                },
                ClosedStreet {
                    name: "Ngõ Trũng".into(),
                    depth_m: 0.35,
                    closed_from_min: Some(80.0),
                    closed_min: 40.0,
                    closed_at_end: true,
                },
            ],
            slowed_roads: 12,
            services: vec![ServiceRow {
                name: "Bệnh viện 1".into(),
                kind: "hospital".into(),
                depth_m: 0.0,
                access_closed: true,
                access_road: Some("Phố Huế".into()),
            }],
            traffic: Some(TrafficRow {
                trips: 10_000,
                arrived: [10_000, 9_700],
                mean_s: [251.0, 367.0],
                stranded: 300,
                rerouted: 1200,
                delay_vehicle_hours: 310.4,
                links: [35, 748],
                teleports: [12, 345],
                unfinished: [0, 210],
                delay_all_vehicle_hours: 402.0,
                gridlocked_intervals: [0, 3],
                clock_start_min: 360.0,
                rain_start_min: Some(375.0),
                intervals: vec![
                    (0.0, 30.0, 30.0, 0),
                    (5.0, 28.0, 25.0, 10),
                    (10.0, 27.0, 12.5, 35),
                    (15.0, 26.0, f64::NAN, 20),
                ],
                road_map: "roads.png".into(),
            }),
            ledger: vec![("Mưa / Rain".into(), 899_970.0)],
            alerts: vec![AlertRow {
                clock_min: Some(402.0),
                kind_vi: "Đường bị đóng".into(),
                kind_en: "Road closed".into(),
                subject: "Phố <Huế>".into(),
                detail: "0.41 m (≥ 0.30 m)".into(),
            }],
            reach: vec![ReachRow {
                service_vi: "Phòng cháy chữa cháy".into(),
                service_en: "Fire station".into(),
                limit_min: 10.0,
                facilities: 3,
                beyond: [1200.0, 5400.0],
                cut_off: 800.0,
                mean_min: [4.25, 6.5],
                map: Some("reach_fire_station.png".into()),
            }],
            interventions: vec!["Đóng đường / Road closed: Phố <Huế> 06:30–08:00".into()],
            rain_map: Some("rain_total.png".into()),
            closure_percent: 0.052,
            buildings: vec![BuildingRow {
                use_vi: "Chung cư".into(),
                use_en: "Apartments".into(),
                count: 120,
                flooded: [30, 12, 2],
                people_ge_0_3: [2400.0, 35.0],
            }],
            jobs: [900.0, 350.0, 20.0],
            cut_off: [14.0, 820.0, 95.0],
            power: vec![PowerRow {
                substation: "Trạm E1".into(),
                from_min: 415.0,
                to_min: None,
                depth_m: Some((0.34, 0.3)),
                signals: 8,
            }],
            dark_crossings: 1234,
            diversions: vec![DiversionRow {
                road: "Phố <Huế>".into(),
                closed_m: 300.0,
                detour_m: f64::INFINITY,
                via: Vec::new(),
            }],
            diversions_activated: false,
            wards: vec![("Hoàn Kiếm".into(), 1000.0, [100.0, 40.0, 5.0])],
            designed: vec![("utility".into(), "conduit".into(), "rational method".into())],
        }
    }

    #[test]
    fn buildings_power_and_diversions_are_shown() {
        let h = scenario_html(&sample());
        for want in [
            "Công trình bị ngập theo công năng",
            "Chung cư <span class=\"en\">/ Apartments</span></td><td class=\"n\">120</td><td class=\"n\">30</td><td class=\"n\">12</td><td class=\"n\">2</td>",
            "820 dân / residents",
            "<tr><td>Trạm E1</td><td>06:55–…</td><td>ngập / flooded 0.34 m (≥ 0.30 m)</td><td class=\"n\">8</td></tr>",
            "1\u{202f}234 lượt xe",
            "Phân luồng (đề xuất) <span class=\"en\">/ Diversions (proposed)</span>",
            "<td>Phố &lt;Huế&gt;</td><td class=\"n\">300</td><td class=\"n\">không có trong mô hình / none in the model</td>",
            "<td class=\"n\">1 / 8</td>",
            "<img src=\"reach_fire_station.png\"",
        ] {
            assert!(h.contains(want), "{want}");
        }
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock(360.0), "06:00");
        assert_eq!(clock(375.4), "06:15");
        assert_eq!(clock(1440.0 + 61.0), "01:01");
        assert_eq!(clock(-30.0), "23:30");
    }

    #[test]
    fn gauge_summaries() {
        let r = sample();
        // The lake rises 0.2 m at minute 20; the junction 0.45 m at 20, ≥ 10 cm for 3 samples.
        let (p, at) = r.gauges[0].peak();
        assert!((p - 0.2).abs() < 1e-12 && at == 20.0);
        assert_eq!(r.gauges[1].peak(), (0.45, 20.0));
        assert_eq!(r.gauges[1].minutes_above(0.1), 30.0);
        assert_eq!(r.gauges[0].minutes_above(0.1), 20.0);
    }

    #[test]
    fn page_has_both_languages_figures_and_escapes_names() {
        let h = scenario_html(&sample());
        assert!(h.starts_with("<!DOCTYPE html>") && h.trim_end().ends_with("</html>"));
        // Rain total: 20·0.5 + 100·0.5 + 40·0.5 = 80 mm.
        assert!(h.contains("Mưa 80 mm") && h.contains("rain 80 mm"), "{h}");
        assert!(h.contains("Quận mẫu &lt;demo&gt;") && h.contains("Ngã tư B &amp; C"));
        assert!(h.contains("41\u{202f}234") && h.contains("9\u{202f}876"));
        assert!(h.contains("1.250 km²") && h.contains("0.92 m"));
        assert!(h.contains("4.2 → 6.1 phút / min"), "{h}");
        assert!(h.contains("Phố Huế — đóng / closed"));
        assert!(h.contains("Bệnh viện / Hospital"));
        assert!(h.contains(r#"<img src="max_depth.png""#));
        assert_eq!(h.matches("<svg").count(), 3);
        assert!(
            h.contains("Mưa bắt đầu lúc 06:15") && h.contains("from 06:00"),
            "{h}"
        );
        assert!(h.contains(r#"<img src="roads.png""#));
        assert!(h.contains("35 đoạn đóng / links closed"));
        // Phố Huế closes 50 minutes after the 06:15 rain start, for 95 minutes.
        assert!(
            h.contains(r#"<td class="n">07:05</td><td class="n">95</td>"#),
            "{h}"
        );
        // Ngõ Trũng is still closed when the run ends: its 40 minutes are a lower bound.
        assert!(h.contains(r#"<td class="n">07:35</td><td class="n">≥ 40</td>"#));
        assert!(h.contains(">345<") && h.contains(">12<"));
        assert!(h.contains("0.052 %"));
        assert!(h.contains("<li>Đóng đường / Road closed: Phố &lt;Huế&gt; 06:30–08:00</li>"));
        assert!(h.contains(r#"<img src="rain_total.png""#) && h.contains("≥ 400"));
        assert!(
            h.contains("1\u{202f}200 → 5\u{202f}400</td><td class=\"n\">800</td><td class=\"n\">4.2 → 6.5</td>"),
            "{h}"
        );
        assert!(
            h.contains("<td>06:42</td><td>Đường bị đóng <span class=\"en\">/ Road closed</span></td><td>Phố &lt;Huế&gt;</td>"),
            "{h}"
        );
        // Hotspots sorted by peak rise: the junction first.
        assert!(h.find("Ngã tư B").unwrap() < h.rfind("Hồ A").unwrap());
        // No NaN or infinity anywhere.
        assert!(!h.contains("NaN") && !h.contains("inf"));
    }
}
