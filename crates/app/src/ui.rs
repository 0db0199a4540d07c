//! The egui panels: the app's layer list, search, cursor coordinates, timeline, charts and
//! inspector; the wall's title, KPI tiles, hotspot list and alert ticker; the scale bar and
//! north arrow on both.

use crate::colors::{self, DEPTH_CLASSES, RoadClass};
use crate::i18n::Lang;
use crate::kpi::{self, LiveState};
use crate::pick;
use crate::playback::{Run, VEHICLE_CLASSES, clock};
use crate::viewer::{Cam, CityRes, Mode, RunRes, ViewState};
use bevy::prelude::*;
use bevy_egui::EguiContexts;
use bevy_egui::egui::{
    self, Color32, FontId, LayerId, Pos2, Rect, RichText, Stroke, UiBuilder, Vec2 as EVec2,
};
use std::path::Path;
use twin_model::Layer;

/// Width of the app's layer panel, pixels.
pub const APP_LEFT_W: f32 = 350.0;
/// Height of the app's timeline and chart panel (with a run), pixels.
pub const APP_BOTTOM_H: f32 = 190.0;
/// Width of the app's inspector window (when open, at the view's top right), pixels.
pub const APP_RIGHT_W: f32 = 360.0;

/// The KPI tiles' background colours, in tile order.
pub const TILE_COLOURS: [[u8; 3]; 5] = [
    [18, 64, 140],
    [160, 24, 40],
    [0, 112, 120],
    [96, 56, 150],
    [22, 120, 60],
];
/// The alert ticker's background.
pub const TICKER_BG: [u8; 3] = [130, 0, 20];

/// Where the wall's parts are on a `w` × `h` screen, pixels: `[x0, y0, x1, y1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WallLayout {
    /// egui points → pixels.
    pub zoom: f32,
    /// The title band.
    pub title: [f32; 4],
    /// The KPI tiles' column.
    pub tiles: [f32; 4],
    /// The alert ticker band.
    pub ticker: [f32; 4],
}

/// The wall's layout: type scaled with the screen's height (2× on 1080 lines).
pub fn wall_layout(w: f32, h: f32) -> WallLayout {
    let zoom = (h / 540.0).clamp(1.0, 4.0);
    let (title_h, ticker_h, tiles_w) = (
        34.0 * zoom,
        30.0 * zoom,
        (w * 0.22).max(260.0 * zoom).min(w * 0.45),
    );
    WallLayout {
        zoom,
        title: [0.0, 0.0, w, title_h],
        tiles: [w - tiles_w, title_h, w, h - ticker_h],
        ticker: [0.0, h - ticker_h, w, h],
    }
}

fn c32(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// The UI system.
pub fn ui(
    mut contexts: EguiContexts,
    mut view: ResMut<ViewState>,
    mut cam: ResMut<Cam>,
    city: Res<CityRes>,
    run: Res<RunRes>,
    compare: Res<crate::viewer::CompareRes>,
    mut fonts_set: Local<bool>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    if !*fonts_set {
        ctx.set_fonts(crate::fonts::egui_fonts());
        ctx.set_visuals(egui::Visuals::dark());
        *fonts_set = true;
    }
    let screen = ctx.content_rect();
    if view.mode == Mode::Wall {
        let l = wall_layout(
            screen.width() * ctx.zoom_factor(),
            screen.height() * ctx.zoom_factor(),
        );
        if (ctx.zoom_factor() - l.zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(l.zoom);
        }
    }
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        UiBuilder::new()
            .layer_id(LayerId::background())
            .max_rect(ctx.content_rect()),
    );
    let run = run.0.clone();
    match view.mode {
        Mode::App => app_panels(
            &mut root,
            &mut view,
            &mut cam,
            &city,
            run.as_deref(),
            compare.0.as_deref(),
        ),
        Mode::Wall => wall_panels(&mut root, &view),
    }
    let central = root.available_rect_before_wrap();
    if view.mode == Mode::App && view.inspector.is_some() {
        egui::Window::new(view.lang.pick("Thông tin đối tượng", "Feature"))
            .id("inspector".into())
            .anchor(egui::Align2::RIGHT_TOP, [-8.0, 8.0])
            .default_width(APP_RIGHT_W - 20.0)
            .max_height(central.height() - 20.0)
            .resizable(false)
            .collapsible(false)
            .show(ctx, |ui| inspector(ui, &mut view, run.as_deref()));
    }
    map_furniture(ctx, central, &cam.0, view.lang);
    Ok(())
}

fn app_panels(
    root: &mut egui::Ui,
    view: &mut ViewState,
    cam: &mut Cam,
    city: &CityRes,
    run: Option<&Run>,
    compare: Option<&Run>,
) {
    let lang = view.lang;
    egui::Panel::left("layers")
        .exact_size(APP_LEFT_W)
        .resizable(false)
        .show(root, |ui| {
            ui.horizontal(|ui| {
                ui.heading(lang.pick("Bản sao số Hà Nội", "Hanoi digital twin"));
            });
            ui.horizontal(|ui| {
                ui.label(lang.pick("Ngôn ngữ:", "Language:"));
                if ui
                    .selectable_label(lang == Lang::Vi, "Tiếng Việt")
                    .clicked()
                {
                    view.lang = Lang::Vi;
                }
                if ui.selectable_label(lang == Lang::En, "English").clicked() {
                    view.lang = Lang::En;
                }
            });
            ui.separator();
            search_box(ui, view, cam, city);
            ui.separator();
            ui.label(RichText::new(lang.pick("Lớp dữ liệu", "Layers")).strong());
            egui::ScrollArea::vertical()
                .max_height(ui.available_height() - 180.0)
                .show(ui, |ui| {
                    for l in Layer::ALL {
                        let i = l.index();
                        // Name and checkbox, the opacity slider at the right edge; the
                        // owning department below.
                        ui.horizontal(|ui| {
                            ui.checkbox(&mut view.visible[i], lang.pick(l.name_vi(), l.name_en()));
                            ui.with_layout(
                                egui::Layout::right_to_left(egui::Align::Center),
                                |ui| {
                                    ui.spacing_mut().slider_width = 50.0;
                                    ui.add(
                                        egui::Slider::new(&mut view.opacity[i], 0.1..=1.0)
                                            .show_value(false),
                                    )
                                    .on_hover_text(lang.pick("Độ mờ", "Opacity"));
                                },
                            );
                        });
                        ui.horizontal(|ui| {
                            ui.add_space(24.0);
                            let owner = l.default_owner();
                            ui.label(
                                RichText::new(lang.pick(owner.name_vi(), owner.name_en()))
                                    .small()
                                    .weak(),
                            );
                        });
                    }
                });
            ui.separator();
            what_if(ui, view, run, compare);
            ui.separator();
            cursor_readout(ui, view, city);
            legend(ui, lang, run.is_some(), view.diff && compare.is_some());
        });
    if let Some(r) = run {
        egui::Panel::bottom("timeline")
            .exact_size(APP_BOTTOM_H)
            .resizable(false)
            .show(root, |ui| timeline(ui, view, r));
    }
}

fn search_box(ui: &mut egui::Ui, view: &mut ViewState, cam: &mut Cam, city: &CityRes) {
    let lang = view.lang;
    ui.horizontal(|ui| {
        ui.label(lang.pick("Tìm:", "Search:"));
        ui.text_edit_singleline(&mut view.search);
    });
    if view.search.trim().len() < 2 {
        return;
    }
    for h in pick::search(&city.city, &view.search, 6) {
        let label = format!(
            "{} · {}",
            h.name,
            lang.pick(h.layer.name_vi(), h.layer.name_en())
        );
        if ui.small_button(label).clicked() {
            let mut to = cam.0;
            to.focus = Vec3::from(city.frame.world(h.centre[0], h.centre[1], city.frame.z0));
            to.distance = (h.extent as f32 * 2.5).clamp(250.0, 6000.0);
            view.fly_to = Some(to);
            view.inspector = pick::inspect(&city.city, None, h.key, lang);
        }
    }
}

fn cursor_readout(ui: &mut egui::Ui, view: &ViewState, city: &CityRes) {
    let lang = view.lang;
    match view.cursor {
        Some(([x, y], [lon, lat])) => {
            ui.label(format!(
                "VN-2000 ({}): {x:.1} E, {y:.1} N",
                city.city.crs.code()
            ));
            ui.label(format!("WGS 84: {lat:.6}° N, {lon:.6}° E"));
        }
        None => {
            ui.label(lang.pick("Con trỏ ngoài bản đồ", "Cursor off the map"));
        }
    }
}

/// A colour chip and its label, side by side in a wrapping row.
fn swatch(ui: &mut egui::Ui, c: [u8; 3], text: &str) {
    let (r, _) = ui.allocate_exact_size(EVec2::new(14.0, 10.0), egui::Sense::hover());
    ui.painter().rect_filled(r, 2.0, c32(c));
    ui.label(RichText::new(text).small());
}

/// The what-if panel: the storm and its start, the roads closed and pumps taken out (picked
/// in the inspector), the run with its progress, the comparison with the run before, and the
/// report's export.
fn what_if(ui: &mut egui::Ui, view: &mut ViewState, run: Option<&Run>, compare: Option<&Run>) {
    let lang = view.lang;
    egui::CollapsingHeader::new(RichText::new(lang.pick("Kịch bản giả định", "What-if")).strong())
        .id_salt("what-if")
        .default_open(view.what_if_open)
        .show(ui, |ui| {
            let running = view.plan_progress.is_some();
            let history = view.history.as_ref();
            let p = &mut view.plan;
            ui.add_enabled_ui(!running, |ui| {
                if let Some(h) = history {
                    ui.horizontal(|ui| {
                        let mut past = p.historical.is_some();
                        ui.radio_value(&mut past, false, lang.pick("Mưa thiết kế", "Design storm"));
                        ui.radio_value(&mut past, true, lang.pick("Ngày mưa lịch sử", "Past day"));
                        match (past, p.historical.is_some()) {
                            (true, false) => {
                                let first = h.days.first().map_or("", |d| d.date.as_str());
                                p.historical = Some(h.day(first));
                            }
                            (false, true) => p.historical = None,
                            _ => {}
                        }
                    });
                }
                match (&mut p.historical, history) {
                    (Some(day), Some(h)) => {
                        egui::ComboBox::from_id_salt("past-day")
                            .selected_text(day.date.clone())
                            .show_ui(ui, |ui| {
                                for d in &h.days {
                                    ui.selectable_value(
                                        &mut day.date,
                                        d.date.clone(),
                                        format!(
                                            "{} — {:.0} mm ({} {})",
                                            d.date,
                                            d.mean_mm,
                                            d.gauges,
                                            lang.pick("trạm", "gauges")
                                        ),
                                    );
                                }
                            });
                        ui.horizontal(|ui| {
                            ui.label(lang.pick("Ngày (YYYY-MM-DD)", "Day (YYYY-MM-DD)"));
                            ui.add(egui::TextEdit::singleline(&mut day.date).desired_width(90.0));
                        });
                        ui.label(
                            RichText::new(lang.pick(
                                "Tổng ngày tại các trạm, nội suy IDW, rải trong 6 giờ (Chicago)",
                                "Daily totals at the gauges, IDW between them, over 6 h (Chicago)",
                            ))
                            .small(),
                        );
                    }
                    _ => {
                        ui.horizontal(|ui| {
                            ui.label(lang.pick("Mưa (mm)", "Rain (mm)"));
                            ui.add(
                                egui::DragValue::new(&mut p.depth_mm)
                                    .range(10.0..=400.0)
                                    .speed(5.0),
                            );
                            ui.label(lang.pick("trong (phút)", "over (min)"));
                            ui.add(
                                egui::DragValue::new(&mut p.duration_min)
                                    .range(30.0..=720.0)
                                    .speed(10.0),
                            );
                        });
                    }
                }
                ui.horizontal(|ui| {
                    ui.label(lang.pick("Bắt đầu", "Starts at"));
                    ui.add(egui::TextEdit::singleline(&mut p.rain_start).desired_width(50.0));
                    if p.historical.is_none() {
                        ui.label(lang.pick("Chu kỳ (năm)", "Return (years)"));
                        ui.add(egui::DragValue::new(&mut p.return_period_years).range(1.0..=100.0));
                    }
                });
                let mut drop_road = None;
                for (k, c) in p.closures.iter_mut().enumerate() {
                    ui.horizontal(|ui| {
                        if ui.small_button("✕").clicked() {
                            drop_road = Some(k);
                        }
                        ui.label(RichText::new(format!("⛔ {}", c.label)).small());
                        ui.add(egui::TextEdit::singleline(&mut c.from).desired_width(40.0));
                        ui.add(egui::TextEdit::singleline(&mut c.to).desired_width(40.0));
                    });
                }
                if let Some(k) = drop_road {
                    p.closures.remove(k);
                }
                let mut drop_pump = None;
                for (k, n) in p.pumps_out.iter().enumerate() {
                    ui.horizontal(|ui| {
                        if ui.small_button("✕").clicked() {
                            drop_pump = Some(k);
                        }
                        ui.label(
                            RichText::new(format!("{} {n}", lang.pick("Ngừng bơm", "Pump out")))
                                .small(),
                        );
                    });
                }
                if let Some(k) = drop_pump {
                    p.pumps_out.remove(k);
                }
                if p.closures.is_empty() && p.pumps_out.is_empty() {
                    ui.label(
                        RichText::new(lang.pick(
                            "Nhấp một đường hoặc trạm bơm để đóng / ngừng nó",
                            "Click a road or a pump to close it / take it out",
                        ))
                        .small()
                        .weak(),
                    );
                }
            });
            ui.horizontal(|ui| {
                if running {
                    if ui.button(lang.pick("Huỷ", "Cancel")).clicked() {
                        view.plan_cancel = true;
                    }
                } else if ui.button(lang.pick("▶ Chạy kịch bản", "▶ Run")).clicked() {
                    view.plan_start = true;
                }
            });
            if let Some((stage, f)) = &view.plan_progress {
                ui.add(
                    egui::ProgressBar::new(*f as f32).text(format!("{stage} {:.0} %", f * 100.0)),
                );
            }
            if let Some(s) = &view.plan_status {
                ui.label(RichText::new(s).small().weak());
            }
            if let (Some(b), Some(a)) = (run, compare) {
                ui.separator();
                ui.checkbox(
                    &mut view.diff,
                    lang.pick("Hiệu B − A trên bản đồ", "Difference B − A on the map"),
                );
                let s = crate::compare::side_by_side(a, b, view.minute);
                egui::Grid::new("compare").striped(true).show(ui, |ui| {
                    ui.label("");
                    ui.label(RichText::new("A").strong());
                    ui.label(RichText::new("B").strong());
                    ui.end_row();
                    ui.label(lang.pick("Ngập sâu nhất", "Deepest water"));
                    ui.label(format!("{:.2} m", s.a.max_depth_m));
                    ui.label(format!("{:.2} m", s.b.max_depth_m));
                    ui.end_row();
                    ui.label(lang.pick("Đường bị đóng", "Roads closed"));
                    ui.label(format!(
                        "{} ({} {})",
                        s.a.roads_closed,
                        s.closed_only.0,
                        lang.pick("riêng", "only")
                    ));
                    ui.label(format!(
                        "{} ({} {})",
                        s.b.roads_closed,
                        s.closed_only.1,
                        lang.pick("riêng", "only")
                    ));
                    ui.end_row();
                    ui.label(lang.pick("Tốc độ mạng", "Network speed"));
                    let v =
                        |k: Option<f64>| k.map_or("—".to_string(), |v| format!("{v:.1} km/h"));
                    ui.label(v(s.a.network_speed_kmh));
                    ui.label(v(s.b.network_speed_kmh));
                    ui.end_row();
                });
            }
            if let Some(b) = run {
                ui.horizontal(|ui| {
                    if ui
                        .button(lang.pick("Xuất báo cáo", "Export report"))
                        .clicked()
                    {
                        view.plan_status = Some(
                            match crate::plan::export_report(&b.dir, Path::new(&view.export_to)) {
                                Ok(p) => format!("→ {}", p.display()),
                                Err(e) => format!("{e:#}"),
                            },
                        );
                    }
                    ui.add(egui::TextEdit::singleline(&mut view.export_to).desired_width(150.0));
                });
            }
        });
}

fn legend(ui: &mut egui::Ui, lang: Lang, with_run: bool, diff: bool) {
    if !with_run {
        return;
    }
    if diff {
        ui.label(
            RichText::new(lang.pick("Chênh lệch độ sâu B − A", "Depth difference B − A"))
                .small()
                .strong(),
        );
        ui.horizontal_wrapped(|ui| {
            for (k, (_, label)) in crate::compare::DIFF_CLASSES.iter().enumerate() {
                swatch(ui, crate::compare::DIFF_COLOURS[k], label);
            }
        });
        ui.horizontal_wrapped(|ui| {
            for d in crate::compare::RoadDiff::ALL {
                let (vi, en) = d.label();
                swatch(ui, d.colour(), lang.pick(vi, en));
            }
        });
        return;
    }
    ui.label(
        RichText::new(lang.pick("Độ sâu ngập", "Flood depth"))
            .small()
            .strong(),
    );
    ui.horizontal_wrapped(|ui| {
        for (lo, c) in DEPTH_CLASSES {
            swatch(ui, c, &format!("≥{:.0} cm", lo * 100.0));
        }
    });
    ui.label(RichText::new(lang.pick("Đường", "Roads")).small().strong());
    ui.horizontal_wrapped(|ui| {
        for rc in RoadClass::ALL {
            let (vi, en) = rc.label();
            swatch(ui, rc.colour(), lang.pick(vi, en));
        }
    });
    ui.horizontal_wrapped(|ui| {
        for vc in VEHICLE_CLASSES {
            let (vi, en) = colors::vehicle_label(vc);
            swatch(ui, colors::vehicle_colour(vc), lang.pick(vi, en));
        }
    });
}

fn inspector(ui: &mut egui::Ui, view: &mut ViewState, run: Option<&Run>) {
    let lang = view.lang;
    let Some(i) = view.inspector.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(&i.name);
        if ui.button("✕").clicked() {
            view.inspector = None;
        }
    });
    egui::Grid::new("insp").num_columns(2).show(ui, |ui| {
        ui.label(lang.pick("Lớp", "Layer"));
        ui.label(&i.layer);
        ui.end_row();
        ui.label(lang.pick("Đơn vị quản lý", "Owner"));
        ui.label(&i.owner);
        ui.end_row();
        ui.label(lang.pick("Loại", "Kind"));
        ui.label(&i.kind);
        ui.end_row();
        for (k, v) in &i.attrs {
            ui.label(RichText::new(k).weak());
            ui.label(v);
            ui.end_row();
        }
    });
    if i.key.layer == Layer::TrafficRoad
        && ui
            .button(lang.pick(
                "⛔ Đóng đường này trong kịch bản",
                "⛔ Close it in the what-if",
            ))
            .clicked()
    {
        let road = format!("id:{}", i.key.id.0);
        if !view.plan.closures.iter().any(|c| c.road == road) {
            view.plan.closures.push(crate::plan::Closure {
                road,
                label: i.name.clone(),
                from: "07:00".into(),
                to: "09:00".into(),
            });
        }
    }
    if i.key.layer == Layer::Utility
        && i.kind == "pump"
        && ui
            .button(lang.pick(
                "Ngừng trạm bơm này trong kịch bản",
                "Take it out in the what-if",
            ))
            .clicked()
        && !view.plan.pumps_out.contains(&i.name)
    {
        view.plan.pumps_out.push(i.name.clone());
    }
    if !i.road_history.is_empty() {
        ui.separator();
        ui.label(
            RichText::new(lang.pick("Trạng thái theo thời gian", "State through time")).strong(),
        );
        egui::ScrollArea::vertical()
            .max_height(220.0)
            .show(ui, |ui| {
                egui::Grid::new("hist").striped(true).show(ui, |ui| {
                    for s in &i.road_history {
                        let now = s.begin_min <= view.minute && view.minute < s.end_min;
                        let t = format!("{:.0}–{:.0}", s.begin_min, s.end_min);
                        ui.label(if now {
                            RichText::new(t).strong()
                        } else {
                            RichText::new(t)
                        });
                        let c = RoadClass::of(s);
                        let text = if s.closed {
                            lang.pick("đóng", "closed").to_string()
                        } else {
                            s.speed_kmh.map_or("—".into(), |v| format!("{v:.0} km/h"))
                        };
                        ui.label(RichText::new(text).color(c32(c.colour())));
                        ui.end_row();
                    }
                });
            });
    }
    if let Some(g) = &i.gauge {
        ui.separator();
        ui.label(
            RichText::new(lang.pick("Độ sâu tại cảm biến (m)", "Depth at the gauge (m)")).strong(),
        );
        let pts: Vec<(f64, f64)> = g
            .minutes
            .iter()
            .copied()
            .zip(g.depth_m.iter().copied())
            .collect();
        line_chart(
            ui,
            &[(pts, Color32::LIGHT_BLUE)],
            view.minute,
            EVec2::new(ui.available_width(), 120.0),
        );
    }
    let _ = run;
}

fn timeline(ui: &mut egui::Ui, view: &mut ViewState, r: &Run) {
    let lang = view.lang;
    ui.horizontal(|ui| {
        let label = if view.playing {
            lang.pick("⏸ Tạm dừng", "⏸ Pause")
        } else {
            lang.pick("▶ Phát", "▶ Play")
        };
        if ui.button(label).clicked() {
            view.playing = !view.playing;
        }
        ui.label(lang.pick("Tốc độ:", "Speed:"));
        for s in [1.0, 5.0, 15.0, 30.0] {
            if ui
                .selectable_label(
                    (view.speed - s).abs() < 1e-9,
                    format!("{s:.0} {}", lang.pick("phút/giây", "min/s")),
                )
                .clicked()
            {
                view.speed = s;
            }
        }
        ui.label(
            RichText::new(format!(
                "{} · {} {:.0}",
                clock(r.clock_of(view.minute)),
                lang.pick("phút", "minute"),
                view.minute
            ))
            .strong(),
        );
    });
    let end = r.end_minute();
    ui.spacing_mut().slider_width = ui.available_width() - 80.0;
    let mut m = view.minute;
    if ui
        .add(egui::Slider::new(&mut m, 0.0..=end).show_value(false))
        .changed()
    {
        view.minute = m;
    }
    ui.horizontal(|ui| {
        let w = (ui.available_width() - 20.0) / 2.0;
        ui.vertical(|ui| {
            ui.label(RichText::new(lang.pick("Độ sâu điểm ngập (m)", "Hotspot depth (m)")).small());
            let mut top: Vec<_> = r.gauges.iter().collect();
            top.sort_by(|a, b| {
                let pa = a.depth_m.iter().fold(0.0f64, |x, y| x.max(*y))
                    - a.depth_m.first().copied().unwrap_or(0.0);
                let pb = b.depth_m.iter().fold(0.0f64, |x, y| x.max(*y))
                    - b.depth_m.first().copied().unwrap_or(0.0);
                pb.total_cmp(&pa)
            });
            let palette = [
                Color32::LIGHT_BLUE,
                Color32::from_rgb(255, 170, 60),
                Color32::from_rgb(230, 90, 200),
            ];
            let series: Vec<_> = top
                .iter()
                .take(3)
                .zip(palette)
                .map(|(g, c)| {
                    let base = g.depth_m.first().copied().unwrap_or(0.0);
                    (
                        g.minutes
                            .iter()
                            .copied()
                            .zip(g.depth_m.iter().map(|d| d - base))
                            .collect(),
                        c,
                    )
                })
                .collect();
            line_chart(ui, &series, view.minute, EVec2::new(w, 100.0));
        });
        ui.vertical(|ui| {
            ui.label(
                RichText::new(lang.pick("Tốc độ mạng lưới (km/h)", "Network speed (km/h)")).small(),
            );
            line_chart(
                ui,
                &[(r.network_speed_series(), Color32::from_rgb(60, 200, 90))],
                view.minute,
                EVec2::new(w, 100.0),
            );
        });
    });
}

/// A line chart drawn with egui's painter (axes' ranges in the corner, a marker at `now`).
fn line_chart(ui: &mut egui::Ui, series: &[(Vec<(f64, f64)>, Color32)], now: f64, size: EVec2) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let p = ui.painter_at(rect);
    p.rect_filled(rect, 2.0, Color32::from_gray(25));
    let all = series.iter().flat_map(|s| s.0.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    if !x0.is_finite() || x1 <= x0 {
        return;
    }
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.1 };
    let to = |x: f64, y: f64| {
        Pos2::new(
            rect.left() + ((x - x0) / (x1 - x0)) as f32 * rect.width(),
            rect.bottom() - (y / y1).clamp(0.0, 1.0) as f32 * rect.height(),
        )
    };
    for (pts, c) in series {
        let line: Vec<Pos2> = pts.iter().map(|(x, y)| to(*x, *y)).collect();
        p.add(egui::Shape::line(line, Stroke::new(1.5, *c)));
    }
    let nx = to(now.clamp(x0, x1), 0.0).x;
    p.line_segment(
        [Pos2::new(nx, rect.top()), Pos2::new(nx, rect.bottom())],
        Stroke::new(1.0, Color32::WHITE),
    );
    p.text(
        rect.left_top() + EVec2::new(3.0, 2.0),
        egui::Align2::LEFT_TOP,
        format!("{y1:.2}"),
        FontId::proportional(10.0),
        Color32::GRAY,
    );
}

fn wall_panels(root: &mut egui::Ui, view: &ViewState) {
    let lang = view.lang;
    let Some(live) = &view.live else { return };
    let text = kpi::wall_text(live, lang);
    let l = wall_layout(
        root.ctx().content_rect().width() * root.ctx().zoom_factor(),
        root.ctx().content_rect().height() * root.ctx().zoom_factor(),
    );
    let z = l.zoom;
    egui::Panel::top("wall-title")
        .exact_size(l.title[3] / z)
        .resizable(false)
        .frame(wall_frame())
        .show(root, |ui| {
            ui.label(
                RichText::new(&text.title)
                    .size(18.0)
                    .strong()
                    .color(Color32::WHITE),
            );
        });
    egui::Panel::bottom("wall-ticker")
        .exact_size((l.ticker[3] - l.ticker[1]) / z)
        .resizable(false)
        .frame(egui::Frame::new().fill(c32(TICKER_BG)).inner_margin(4.0))
        .show(root, |ui| {
            ticker(ui, &text.ticker, view.still);
        });
    egui::Panel::right("wall-tiles")
        .exact_size((l.tiles[2] - l.tiles[0]) / z)
        .resizable(false)
        .frame(wall_frame())
        .show(root, |ui| {
            for ((label, value), c) in text.tiles.iter().zip(TILE_COLOURS) {
                egui::Frame::new()
                    .fill(c32(c))
                    .inner_margin(6.0)
                    .corner_radius(4.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.label(
                            RichText::new(label)
                                .size(11.0)
                                .color(Color32::from_gray(230)),
                        );
                        ui.label(
                            RichText::new(value)
                                .size(22.0)
                                .strong()
                                .color(Color32::WHITE),
                        );
                    });
                ui.add_space(4.0);
            }
            ui.label(
                RichText::new(lang.pick("Điểm ngập", "Hotspots"))
                    .size(13.0)
                    .strong(),
            );
            for h in text.hotspots.iter().take(8) {
                ui.label(RichText::new(h).size(11.0));
            }
            if text.hotspots.is_empty() {
                ui.label(
                    RichText::new(lang.pick("Không có điểm ngập", "No flooded hotspots"))
                        .size(11.0),
                );
            }
        });
    let _: &LiveState = live;
}

/// The wall's dark panel background.
fn wall_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(Color32::from_rgb(10, 14, 30))
        .inner_margin(6.0)
}

fn ticker(ui: &mut egui::Ui, text: &str, still: bool) {
    let rect = ui.available_rect_before_wrap();
    let p = ui.painter_at(rect);
    let font = FontId::proportional(15.0);
    let galley = p.layout_no_wrap(text.to_string(), font, Color32::WHITE);
    let w = galley.size().x + 80.0;
    let t = if still {
        0.0
    } else {
        ui.ctx().input(|i| i.time) as f32
    };
    let offset = (t * 60.0) % w.max(1.0);
    let mut x = rect.left() + 8.0 - offset;
    while x < rect.right() {
        p.galley(
            Pos2::new(x, rect.center().y - galley.size().y / 2.0),
            galley.clone(),
            Color32::WHITE,
        );
        x += w;
    }
    ui.ctx().request_repaint();
}

/// Scale bar and north arrow in the bottom-left corner of the 3D view.
fn map_furniture(ctx: &egui::Context, central: Rect, cam: &crate::camera::OrbitCam, lang: Lang) {
    let p = ctx.layer_painter(LayerId::new(egui::Order::Foreground, "furniture".into()));
    let h = ctx.content_rect().height() * ctx.zoom_factor();
    let mpp = cam.metres_per_pixel(h) * ctx.zoom_factor();
    // A round length near 120 points.
    let target = 120.0 * mpp;
    let mag = 10f32.powf(target.log10().floor());
    let len_m = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * mag)
        .rfind(|l| *l <= target)
        .unwrap_or(mag);
    let len_pt = len_m / mpp;
    let o = Pos2::new(central.left() + 20.0, central.bottom() - 24.0);
    let white = Stroke::new(2.0, Color32::WHITE);
    p.line_segment([o, o + EVec2::new(len_pt, 0.0)], white);
    p.line_segment([o, o + EVec2::new(0.0, -6.0)], white);
    p.line_segment(
        [o + EVec2::new(len_pt, 0.0), o + EVec2::new(len_pt, -6.0)],
        white,
    );
    let label = if len_m >= 1000.0 {
        format!("{:.0} km", len_m / 1000.0)
    } else {
        format!("{len_m:.0} m")
    };
    p.text(
        o + EVec2::new(len_pt / 2.0, -8.0),
        egui::Align2::CENTER_BOTTOM,
        label,
        FontId::proportional(12.0),
        Color32::WHITE,
    );
    // North arrow: north on the screen turns with the camera's yaw.
    let c = Pos2::new(central.left() + 40.0, central.bottom() - 80.0);
    let (s, co) = cam.yaw.sin_cos();
    let dir = EVec2::new(s, -co);
    let side = EVec2::new(-dir.y, dir.x);
    p.circle_filled(c, 20.0, Color32::from_black_alpha(140));
    p.add(egui::Shape::convex_polygon(
        vec![
            c + dir * 16.0,
            c - dir * 8.0 + side * 8.0,
            c - dir * 4.0,
            c - dir * 8.0 - side * 8.0,
        ],
        Color32::from_rgb(230, 40, 40),
        Stroke::NONE,
    ));
    p.text(
        c + dir * 30.0,
        egui::Align2::CENTER_CENTER,
        lang.pick("B", "N"),
        FontId::proportional(14.0),
        Color32::WHITE,
    );
}
