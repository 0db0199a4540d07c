//! The comparison of two scenario runs (`twin scenario compare`): the depth-difference map and
//! the bilingual page of figures, depth changes and roads closed in only one run.

use std::fmt::Write;
use twin_engine::compare::{Comparison, DEPTH_CHANGE_M, KpiChange};
use twin_model::Raster;

use crate::Rgb;
use crate::html::esc;

/// Classes of depth change B − A (upper bound in m, exclusive) and their colours: falls in
/// blues, rises in oranges and reds; changes under [`DEPTH_CHANGE_M`] are drawn as unchanged.
pub const CHANGE_CLASSES: [(f64, [u8; 3], &str); 6] = [
    (-0.30, [8, 69, 148], "≤ −30 cm"),
    (-0.10, [66, 146, 198], "−30 … −10 cm"),
    (-DEPTH_CHANGE_M, [158, 202, 225], "−10 … −5 cm"),
    (0.10, [253, 174, 107], "+5 … +10 cm"),
    (0.30, [241, 105, 19], "+10 … +30 cm"),
    (f64::INFINITY, [166, 54, 3], "≥ +30 cm"),
];

/// Wet in either run and unchanged (pale blue-grey), dry in both (light grey), no data (white).
const UNCHANGED_WET: [u8; 3] = [205, 214, 224];
const DRY: [u8; 3] = [238, 238, 238];

/// Colour of a change, or `None` when it is under [`DEPTH_CHANGE_M`] either way.
pub fn change_colour(d: f64) -> Option<[u8; 3]> {
    if d.abs() < DEPTH_CHANGE_M {
        return None;
    }
    CHANGE_CLASSES
        .iter()
        .find(|(hi, _, _)| if d < 0.0 { d <= *hi } else { d < *hi })
        .map(|(_, c, _)| *c)
}

/// The depth-difference map: each cell in its class of change, unchanged wet cells (over 5 cm
/// in A) pale, dry ones light grey, with a legend strip of the six classes along the bottom.
pub fn diff_map(diff: &Raster, depth_a: &Raster) -> Rgb {
    let legend: Vec<[u8; 3]> = CHANGE_CLASSES.iter().map(|(_, c, _)| *c).collect();
    crate::cell_map(
        diff.nx,
        diff.ny,
        |c, r| {
            let d = diff.get(c, r);
            if diff.is_nodata(d) {
                return [255, 255, 255];
            }
            change_colour(d as f64).unwrap_or_else(|| {
                let a = depth_a.get(c, r);
                if !depth_a.is_nodata(a) && a as f64 + (d as f64).max(0.0) >= DEPTH_CHANGE_M {
                    UNCHANGED_WET
                } else {
                    DRY
                }
            })
        },
        &legend,
    )
}

/// Vietnamese and English label of a `summary.json` key, and its unit; the key itself for
/// figures without one.
pub fn kpi_label(key: &str) -> (String, String, &'static str) {
    let (base, side) = match key.rsplit_once('.') {
        Some((b, "baseline")) => (b, Some(("không ngập", "without the flood"))),
        Some((b, "flooded")) => (b, Some(("có ngập", "with the flood"))),
        _ => (key, None),
    };
    let (vi, en, unit) = match base {
        "minutes" => ("Thời gian mô phỏng", "Simulated time", "min"),
        "max_depth_m" => ("Độ sâu ngập lớn nhất", "Maximum flood depth", "m"),
        "flooded_area_m2.ge_0.1_m" => ("Diện tích đất ngập ≥ 10 cm", "Land under ≥ 10 cm", "m²"),
        "flooded_area_m2.ge_0.3_m" => ("Diện tích đất ngập ≥ 30 cm", "Land under ≥ 30 cm", "m²"),
        "flooded_area_m2.ge_0.5_m" => ("Diện tích đất ngập ≥ 50 cm", "Land under ≥ 50 cm", "m²"),
        "residents.ge_0.1_m" => (
            "Dân số vùng ngập ≥ 10 cm",
            "Residents where water reached 10 cm",
            "",
        ),
        "residents.ge_0.3_m" => (
            "Dân số vùng ngập ≥ 30 cm",
            "Residents where water reached 30 cm",
            "",
        ),
        "residents.ge_0.5_m" => (
            "Dân số vùng ngập ≥ 50 cm",
            "Residents where water reached 50 cm",
            "",
        ),
        "services_reached" => (
            "Cơ sở công cộng bị ảnh hưởng",
            "Public services affected",
            "",
        ),
        "closure_error_percent" => ("Sai số cân bằng nước", "Water balance closure error", "%"),
        "roads_closed" => (
            "Tuyến phố có đoạn phải đóng",
            "Streets with a closed stretch",
            "",
        ),
        "roads_slowed" => ("Tuyến phố phải giảm tốc", "Streets slowed", ""),
        "first_closure_clock_min" => (
            "Thời điểm đóng đường đầu tiên",
            "First road closure",
            "min after 00:00",
        ),
        "most_links_closed" => (
            "Số đoạn đóng nhiều nhất cùng lúc",
            "Most links closed at once",
            "",
        ),
        "most_links_closed_clock_min" => (
            "Lúc đóng nhiều đoạn nhất",
            "When most links were closed",
            "min after 00:00",
        ),
        "links_closed" => ("Đoạn đường đóng", "Links closed", ""),
        "links_slowed" => ("Đoạn đường giảm tốc", "Links slowed", ""),
        "vehicle_trips" => ("Chuyến xe", "Vehicle trips", ""),
        "arrived" => ("Chuyến đến nơi", "Trips arrived", ""),
        "stranded" => ("Xe mắc kẹt", "Vehicles stranded", ""),
        "rerouted" => ("Xe đổi lộ trình", "Vehicles rerouted", ""),
        "mean_trip_s" => ("Thời gian chuyến trung bình", "Mean trip time", "s"),
        "delay_vehicle_hours" => ("Tổng thời gian trễ", "Total delay", "vehicle-h"),
        "teleports" => ("Xe bị dịch chuyển (kẹt cứng)", "Teleports (gridlock)", ""),
        "closed_link_entries" => ("Lượt vào đoạn đóng", "Entries into closed links", ""),
        "peak_hour_speed_kmh" => ("Tốc độ giờ cao điểm", "Peak-hour speed", "km/h"),
        "delay_vehicle_hours_all" => (
            "Tổng thời gian trễ, mọi chuyến",
            "Total delay, every trip",
            "vehicle-h",
        ),
        "unfinished" => (
            "Chuyến chưa đến khi kết thúc",
            "Trips unfinished at the end",
            "",
        ),
        "gridlocked_intervals" => (
            "Khoảng 5 phút tắc nghẽn",
            "Five-minute intervals gridlocked",
            "",
        ),
        "buildings_flooded.ge_0.1_m" => ("Công trình ngập ≥ 10 cm", "Buildings under ≥ 10 cm", ""),
        "buildings_flooded.ge_0.3_m" => ("Công trình ngập ≥ 30 cm", "Buildings under ≥ 30 cm", ""),
        "buildings_flooded.ge_0.5_m" => ("Công trình ngập ≥ 50 cm", "Buildings under ≥ 50 cm", ""),
        "jobs.ge_0.1_m" => (
            "Việc làm nơi ngập ≥ 10 cm",
            "Jobs where water reached 10 cm",
            "",
        ),
        "jobs.ge_0.3_m" => (
            "Việc làm nơi ngập ≥ 30 cm",
            "Jobs where water reached 30 cm",
            "",
        ),
        "jobs.ge_0.5_m" => (
            "Việc làm nơi ngập ≥ 50 cm",
            "Jobs where water reached 50 cm",
            "",
        ),
        "cut_off.buildings" => ("Công trình bị cô lập", "Buildings cut off", ""),
        "cut_off.residents" => ("Dân bị cô lập", "Residents cut off", ""),
        "cut_off.jobs" => ("Việc làm bị cô lập", "Jobs cut off", ""),
        "substations_out" => ("Trạm biến áp mất điện", "Substations out", ""),
        "dark_signals" => ("Đèn tín hiệu tắt", "Signals dark", ""),
        "dark_crossings" => ("Lượt xe qua nút tắt đèn", "Crossings of dark junctions", ""),
        "retimed_signals" => ("Đèn tín hiệu điều chỉnh", "Signals retimed", ""),
        "diversions" => ("Đoạn cần phân luồng", "Stretches diverted", ""),
        _ => ("", "", ""),
    };
    if vi.is_empty() {
        return (key.to_string(), key.to_string(), "");
    }
    match side {
        Some((sv, se)) => (format!("{vi} ({sv})"), format!("{en} ({se})"), unit),
        None => (vi.to_string(), en.to_string(), unit),
    }
}

fn num(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

fn kpi_row(k: &KpiChange) -> String {
    let (vi, en, unit) = kpi_label(&k.key);
    let pct = k
        .percent()
        .map(|p| format!("{p:+.1} %"))
        .unwrap_or_else(|| "–".into());
    let class = if k.change() > 0.0 {
        "up"
    } else if k.change() < 0.0 {
        "down"
    } else {
        ""
    };
    format!(
        r#"<tr><td>{} <span class="en">/ {}</span></td><td>{unit}</td><td class="n">{}</td><td class="n">{}</td><td class="n {class}">{}</td><td class="n {class}">{pct}</td></tr>"#,
        esc(&vi),
        esc(&en),
        num(k.a),
        num(k.b),
        if k.change() > 0.0 {
            format!("+{}", num(k.change()))
        } else {
            num(k.change())
        }
    )
}

/// The comparison page: figures of A and B with the change, the depth-difference map
/// (`map_file` beside the page), and the roads closed in only one run.
pub fn compare_html(c: &Comparison, a_name: &str, b_name: &str, map_file: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>So sánh kịch bản / Scenario comparison</title>
<style>
body{{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}}
h1{{font-size:1.5em}} h2{{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}} .en{{color:#555}} .up{{color:#a63603}} .down{{color:#08519c}}
img{{max-width:100%;border:1px solid #ccc}} .sw{{display:inline-block;width:14px;height:14px;vertical-align:middle;margin:0 4px 0 10px;border:1px solid #999}}
</style></head><body>
<h1>So sánh kịch bản <span class="en">/ Scenario comparison</span></h1>
<p>A: <code>{a}</code> — B: <code>{b}</code>. Thay đổi = B − A <span class="en">/ change = B − A</span>.</p>
<h2>Chỉ số <span class="en">/ Key figures</span></h2>
<table><tr><th>Chỉ số <span class="en">/ Figure</span></th><th>Đơn vị <span class="en">/ Unit</span></th><th>A</th><th>B</th><th>B − A</th><th>%</th></tr>
"##,
        a = esc(a_name),
        b = esc(b_name),
    );
    for k in &c.kpis {
        h += &kpi_row(k);
        h.push('\n');
    }
    h += "</table>\n";
    if !c.unmatched.is_empty() {
        let list: Vec<String> = c
            .unmatched
            .iter()
            .map(|(k, r)| format!("<code>{}</code> ({r})", esc(k)))
            .collect();
        let _ = writeln!(
            h,
            "<p>Chỉ có ở một lần chạy <span class=\"en\">/ In one run only</span>: {}</p>",
            list.join(", ")
        );
    }
    let _ = write!(
        h,
        r##"<h2>Độ sâu ngập lớn nhất thay đổi <span class="en">/ Change of the maximum depth</span></h2>
<p>Sâu hơn ≥ {t:.0} cm trên {deeper:.0} m², nông hơn trên {shallower:.0} m²; tăng nhiều nhất {rise:.2} m, giảm nhiều nhất {fall:.2} m.
<span class="en">/ Deeper by {t:.0} cm or more over {deeper:.0} m², shallower over {shallower:.0} m²; largest rise {rise:.2} m, largest fall {fall:.2} m.</span></p>
<p><img src="{map}" alt="depth difference map"></p><p>"##,
        t = DEPTH_CHANGE_M * 100.0,
        deeper = c.deeper_area_m2,
        shallower = c.shallower_area_m2,
        rise = c.max_rise_m,
        fall = c.max_fall_m,
        map = esc(map_file),
    );
    for (_, col, label) in CHANGE_CLASSES {
        let _ = write!(
            h,
            r#"<span class="sw" style="background:rgb({},{},{})"></span>{label}"#,
            col[0], col[1], col[2]
        );
    }
    h += "</p>\n";
    let _ = write!(
        h,
        r##"<h2>Đường bị đóng <span class="en">/ Roads closed</span></h2>
<p>Đóng ở cả hai: {} <span class="en">/ closed in both: {}</span></p>
"##,
        c.closed_both, c.closed_both
    );
    for (rows, vi, en) in [
        (&c.closed_only_a, "Chỉ đóng ở A", "Closed in A only"),
        (&c.closed_only_b, "Chỉ đóng ở B", "Closed in B only"),
    ] {
        let _ = write!(
            h,
            "<p>{vi} <span class=\"en\">/ {en}</span>: {}</p>",
            rows.len()
        );
        if !rows.is_empty() {
            h += "<table><tr><th>Mã / Id</th><th>Tên / Name</th><th>Sâu nhất / Deepest (m)</th></tr>";
            for r in rows.iter().take(50) {
                let _ = write!(
                    h,
                    r#"<tr><td>{}</td><td>{}</td><td class="n">{:.2}</td></tr>"#,
                    r.feature,
                    esc(&r.name),
                    r.max_depth_m
                );
            }
            if rows.len() > 50 {
                let _ = write!(
                    h,
                    "<tr><td colspan=\"3\">… {} nữa / more (compare.json)</td></tr>",
                    rows.len() - 50
                );
            }
            h += "</table>\n";
        }
    }
    h += "</body></html>\n";
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_classes_split_at_their_bounds() {
        assert_eq!(change_colour(0.049), None);
        assert_eq!(change_colour(-0.049), None);
        assert_eq!(change_colour(0.05), Some(CHANGE_CLASSES[3].1));
        assert_eq!(change_colour(0.10), Some(CHANGE_CLASSES[4].1));
        assert_eq!(change_colour(0.5), Some(CHANGE_CLASSES[5].1));
        assert_eq!(change_colour(-0.05), Some(CHANGE_CLASSES[2].1));
        assert_eq!(change_colour(-0.2), Some(CHANGE_CLASSES[1].1));
        assert_eq!(change_colour(-0.3), Some(CHANGE_CLASSES[0].1));
        assert_eq!(
            kpi_label("mean_trip_s.flooded"),
            (
                "Thời gian chuyến trung bình (có ngập)".to_string(),
                "Mean trip time (with the flood)".to_string(),
                "s"
            )
        );
        assert_eq!(kpi_label("new_key").0, "new_key");
    }
}
