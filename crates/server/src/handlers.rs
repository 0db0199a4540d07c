//! The route handlers. Filters run over the model in memory; the live store is read with
//! fixed SQL and bound values.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::geojson;
use crate::routes::{MAX_LIMIT, MAX_OFFSET};
use axum::Extension;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{Value, json};
use std::collections::HashMap;
use twin_model::{FeatureId, Layer};

type Params = Query<HashMap<String, String>>;

/// 400 for a name that is not one of `choices`: `what 'got'; label: a, b, c`.
fn unknown(what: (&str, &str), got: &str, label: (&str, &str), choices: &[&str]) -> ApiError {
    let (got, list) = (crate::echo(got), choices.join(", "));
    ApiError::bad(
        format!("{} '{got}'; {}: {list}", what.0, label.0),
        format!("{} '{got}'; {}: {list}", what.1, label.1),
    )
}

pub(crate) fn only(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    for k in names {
        if !known.contains(&k.as_str()) {
            return Err(unknown(
                ("unknown parameter", "tham số không hợp lệ"),
                k,
                ("this route takes", "đường dẫn này nhận"),
                known,
            ));
        }
    }
    Ok(())
}

fn int_param(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(v) = params.get(name) else {
        return Ok(default);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad(
            format!(
                "parameter '{name}': expected a whole number from {min} to {max}, got '{}'",
                crate::echo(v)
            ),
            format!(
                "tham số '{name}': cần số nguyên từ {min} đến {max}, nhận '{}'",
                crate::echo(v)
            ),
        )),
    }
}

fn layer_param(s: &str) -> Result<Layer, ApiError> {
    Layer::ALL
        .into_iter()
        .find(|l| l.table_name() == s)
        .or_else(|| Layer::parse(s))
        .ok_or_else(|| {
            let ids: Vec<&str> = Layer::ALL.iter().map(|l| l.table_name()).collect();
            unknown(
                (
                    "parameter 'layer': unknown layer",
                    "tham số 'layer': không có lớp",
                ),
                s,
                ("layers", "các lớp"),
                &ids,
            )
        })
}

fn id_param(id: &str) -> Result<i64, ApiError> {
    id.trim().parse().map_err(|_| {
        ApiError::bad(
            format!(
                "parameter 'id': expected a whole number, got '{}'",
                crate::echo(id)
            ),
            format!("tham số 'id': cần số nguyên, nhận '{}'", crate::echo(id)),
        )
    })
}

fn no_feature(layer: Layer, id: i64) -> ApiError {
    ApiError::not_found(
        format!("no feature {id} in layer {layer}"),
        format!("không có đối tượng {id} trong lớp {layer}"),
    )
}

/// Reads a body of at most [`crate::MAX_BODY`] bytes (413 above it).
async fn body_bytes(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, crate::MAX_BODY)
        .await
        .map_err(|e| {
            if e.to_string().contains("length limit") {
                crate::error::for_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::bad(
                    format!("body could not be read: {e}"),
                    "không đọc được nội dung",
                )
            }
        })
}

/// Parses `minx,miny,maxx,maxy`: four finite numbers, min not above max.
pub(crate) fn parse_bbox(s: &str) -> Result<([f64; 2], [f64; 2]), ApiError> {
    let bad = |why: &str, vi: &str| {
        ApiError::bad(
            format!(
                "parameter 'bbox': {why}; expected minx,miny,maxx,maxy in the city CRS, got '{}'",
                crate::echo(s)
            ),
            format!(
                "tham số 'bbox': {vi}; cần minx,miny,maxx,maxy theo hệ toạ độ của thành phố, nhận '{}'",
                crate::echo(s)
            ),
        )
    };
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 4 {
        return Err(bad(
            &format!("{} values instead of 4", parts.len()),
            &format!("{} giá trị thay vì 4", parts.len()),
        ));
    }
    let mut v = [0.0; 4];
    for (i, p) in parts.iter().enumerate() {
        match p.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => v[i] = x,
            _ => {
                return Err(bad(
                    &format!("value {} is not a finite number", i + 1),
                    &format!("giá trị thứ {} không phải số hữu hạn", i + 1),
                ));
            }
        }
    }
    if v[0] > v[2] {
        return Err(bad("minx > maxx", "minx > maxx"));
    }
    if v[1] > v[3] {
        return Err(bad("miny > maxy", "miny > maxy"));
    }
    Ok(([v[0], v[1]], [v[2], v[3]]))
}

fn text_param<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match params.get(name) {
        Some(v) if v.chars().count() > 200 => Err(ApiError::bad(
            format!("parameter '{name}': longer than 200 characters"),
            format!("tham số '{name}': dài quá 200 ký tự"),
        )),
        Some(v) => Ok(Some(v.as_str())),
        None => Ok(None),
    }
}

pub(crate) async fn health(State(s): State<AppState>) -> Json<Value> {
    let city = s.city();
    let layers: serde_json::Map<String, Value> = city
        .layers()
        .map(|l| (l.layer().table_name().to_string(), json!(l.len())))
        .collect();
    Json(json!({
        "status": "ok",
        "city": city.name,
        "crs": city.crs.code(),
        "synthetic": city.is_synthetic(),
        "features": city.feature_count(),
        "layers": layers,
        "live": s.live.is_some(),
        "streams": s.hub.open(),
    }))
}

pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

pub(crate) async fn openapi() -> Json<Value> {
    Json(crate::routes::openapi())
}

pub(crate) async fn layers(State(s): State<AppState>) -> Json<Value> {
    let city = s.city();
    let v: Vec<Value> = Layer::ALL
        .iter()
        .map(|&l| {
            let d = l.default_owner();
            json!({
                "id": l.table_name(),
                "name_vi": l.name_vi(),
                "name_en": l.name_en(),
                "owner": {"code": d.code(), "name_vi": d.name_vi(), "name_en": d.name_en()},
                "feature_count": city.layer(l).len(),
                "bbox": city.layer(l).bbox(),
            })
        })
        .collect();
    Json(json!({ "crs": city.crs.code(), "layers": v }))
}

pub(crate) async fn features(
    State(s): State<AppState>,
    Path(layer): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    only(&q, &["bbox", "kind", "name", "limit", "offset"])?;
    let layer = layer_param(&layer)?;
    let bbox = q.get("bbox").map(|b| parse_bbox(b)).transpose()?;
    let limit = int_param(&q, "limit", 100, 1, MAX_LIMIT)?;
    let offset = int_param(&q, "offset", 0, 0, MAX_OFFSET)?;
    let kind = text_param(&q, "kind")?;
    let name = text_param(&q, "name")?.map(str::to_lowercase);
    let city = s.city();
    let data = city.layer(layer);
    let mut picked = match bbox {
        Some((min, max)) => data.query_bbox(min, max),
        None => data.features().iter().collect(),
    };
    picked.sort_by_key(|f| f.id);
    picked.retain(|f| {
        kind.is_none_or(|k| f.kind == k)
            && name.as_ref().is_none_or(|n| {
                f.name
                    .as_ref()
                    .is_some_and(|x| x.to_lowercase().contains(n.as_str()))
            })
    });
    let total = picked.len();
    let page: Vec<Value> = picked
        .iter()
        .skip(offset)
        .take(limit)
        .map(|f| geojson::feature(f))
        .collect();
    let returned = page.len();
    s.metrics.features(returned);
    let next = (offset.saturating_add(returned) < total).then_some(offset + returned);
    let crs = city.crs.code();
    Ok(Json(json!({
        "type": "FeatureCollection",
        "layer": layer.table_name(),
        "crs": geojson::crs_member(&crs),
        "crs_code": crs,
        "number_matched": total,
        "number_returned": returned,
        "offset": offset,
        "limit": limit,
        "next": next,
        "features": page,
    })))
}

pub(crate) async fn feature(
    State(s): State<AppState>,
    Path((layer, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let layer = layer_param(&layer)?;
    let id = id_param(&id)?;
    let city = s.city();
    let f = city
        .layer(layer)
        .get(FeatureId(id))
        .ok_or_else(|| no_feature(layer, id))?;
    s.metrics.features(1);
    let mut v = geojson::feature(f);
    v["crs"] = geojson::crs_member(&city.crs.code());
    v["layer"] = json!(layer.table_name());
    Ok(Json(v))
}

pub(crate) fn live(s: &AppState) -> Result<&crate::Live, ApiError> {
    s.live.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "no live twin: start the server with --live DIR",
            "không có bản sao trực tuyến: chạy với --live DIR",
        )
    })
}

fn open_live_ro(dir: &std::path::Path) -> Result<Connection, ApiError> {
    let p = dir.join("live.sqlite");
    Connection::open_with_flags(
        &p,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| ApiError::internal(format!("{}: {e}", p.display())))
}

pub(crate) async fn live_state(State(s): State<AppState>) -> Result<Response, ApiError> {
    let p = live(&s)?.dir.join("state.json");
    match tokio::fs::read(&p).await {
        Ok(bytes) => {
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| ApiError::internal(format!("state.json: {e}")))?;
            Ok((
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(bytes),
            )
                .into_response())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found(
            "no state yet: the live loop has not written state.json",
            "chưa có trạng thái: vòng lặp trực tuyến chưa ghi state.json",
        )),
        Err(e) => Err(ApiError::internal(format!("state.json: {e}"))),
    }
}

pub(crate) async fn live_depth(State(s): State<AppState>) -> Result<Response, ApiError> {
    let p = live(&s)?.dir.join("depth.tif");
    match tokio::fs::read(&p).await {
        Ok(bytes) => {
            Ok(([(header::CONTENT_TYPE, "image/tiff")], Body::from(bytes)).into_response())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found(
            "no depth yet: the live loop has not written depth.tif",
            "chưa có độ sâu: vòng lặp trực tuyến chưa ghi depth.tif",
        )),
        Err(e) => Err(ApiError::internal(format!("depth.tif: {e}"))),
    }
}

fn event_json(time_ms: i64, data: &str) -> Value {
    json!({
        "time_ms": time_ms,
        "data": serde_json::from_str::<Value>(data).unwrap_or(Value::String(data.to_string())),
    })
}

pub(crate) async fn live_forecast(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let dir = live(&s)?.dir.clone();
    let row = tokio::task::spawn_blocking(move || {
        let c = open_live_ro(&dir)?;
        c.query_row(
            "SELECT time_ms, data FROM live_events WHERE kind = 'forecast' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    match row {
        Some((t, d)) => Ok(Json(event_json(t, &d))),
        None => Err(ApiError::not_found("no forecast yet", "chưa có dự báo")),
    }
}

pub(crate) async fn live_alerts(
    State(s): State<AppState>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    only(&q, &["since"])?;
    let since = match q.get("since") {
        None => i64::MIN,
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            ApiError::bad(
                format!(
                    "parameter 'since': expected ms since 1970 as a whole number, got '{}'",
                    crate::echo(v)
                ),
                format!(
                    "tham số 'since': cần số mili giây từ 1970, nhận '{}'",
                    crate::echo(v)
                ),
            )
        })?,
    };
    let dir = live(&s)?.dir.clone();
    let rows = tokio::task::spawn_blocking(move || -> Result<Vec<(i64, String)>, ApiError> {
        let c = open_live_ro(&dir)?;
        let mut st = c
            .prepare(
                "SELECT time_ms, data FROM live_events WHERE kind = 'alert' AND time_ms >= ?1
                 ORDER BY id LIMIT 10000",
            )
            .map_err(ApiError::internal)?;
        let rows = st
            .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(ApiError::internal)?;
        rows.collect::<Result<_, _>>().map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    let alerts: Vec<Value> = rows.iter().map(|(t, d)| event_json(*t, d)).collect();
    Ok(Json(json!({ "count": alerts.len(), "alerts": alerts })))
}

pub(crate) async fn live_readings(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    live(&s)?;
    let bytes = body_bytes(body).await?;
    let st = s.clone();
    tokio::task::spawn_blocking(move || store_readings(&st, &caller, &bytes))
        .await
        .map_err(ApiError::internal)?
}

fn store_readings(s: &AppState, caller: &Caller, bytes: &[u8]) -> Result<Response, ApiError> {
    let live = live(s)?;
    let parsed = twin_sensors::parse_message(bytes, crate::MAX_BODY);
    let bad: Vec<String> = parsed
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| format!("{}: {}", e.reason.code(), e.detail))
        .collect();
    if !bad.is_empty() {
        let shown = bad.iter().take(5).cloned().collect::<Vec<_>>().join("; ");
        return Err(ApiError::bad(
            format!(
                "body: {} of {} parts are not readings, nothing stored: {shown}",
                bad.len(),
                parsed.len()
            ),
            format!(
                "nội dung: {} trong {} phần không phải số đo, không lưu gì: {shown}",
                bad.len(),
                parsed.len()
            ),
        ));
    }
    if parsed.is_empty() {
        return Err(ApiError::bad(
            "body: no reading in it, nothing stored",
            "nội dung: không có số đo nào, không lưu gì",
        ));
    }
    let source = format!("http:{}", caller.name);
    let mut p = live.pipeline.lock().unwrap_or_else(|e| e.into_inner());
    let out = p
        .process(&[(source, bytes.to_vec())], &twin_sensors::NoModel, false)
        .map_err(ApiError::internal)?;
    drop(p);
    let quarantined: Vec<Value> = out
        .decisions
        .iter()
        .filter(|(d, _)| !d.accepted())
        .map(|(d, _)| {
            json!({
                "sensor": d.sensor_id,
                "time": d.time,
                "reason": d.reason().map(|r| r.code()),
                "detail": d.detail,
            })
        })
        .collect();
    let accepted = out.accepted();
    let held = parsed.len().saturating_sub(out.decisions.len());
    let mut r = (
        StatusCode::ACCEPTED,
        Json(json!({
            "received": parsed.len(),
            "accepted": accepted,
            "quarantined": quarantined,
            "held": held,
        })),
    )
        .into_response();
    r.extensions_mut().insert(crate::error::ErrorNote(format!(
        "readings: {} received, {accepted} accepted, {} quarantined, {held} held",
        parsed.len(),
        quarantined.len()
    )));
    Ok(r)
}

pub(crate) async fn audit(
    State(s): State<AppState>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    only(&q, &["limit"])?;
    let limit = int_param(&q, "limit", 100, 1, MAX_LIMIT)?;
    let st = s.clone();
    let recs = tokio::task::spawn_blocking(move || st.audit.latest(limit))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "count": recs.len(), "records": recs })))
}

/// The changes a PATCH body asks for: `{"name": …, "attributes": {"field": value, …}}`.
fn requested_changes(bytes: &[u8]) -> Result<Vec<(String, Value)>, ApiError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad(
            format!(
                "body: not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
            format!(
                "nội dung: không phải JSON (dòng {}, cột {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Value::Object(o) = v else {
        return Err(ApiError::bad(
            "body: expected an object {\"name\": …, \"attributes\": {…}}",
            "nội dung: cần một đối tượng {\"name\": …, \"attributes\": {…}}",
        ));
    };
    let mut out = Vec::new();
    for (k, v) in o {
        match (k.as_str(), v) {
            ("name", v) => out.push(("name".to_string(), v)),
            ("attributes", Value::Object(a)) => {
                for (f, v) in a {
                    if f == "name" {
                        return Err(ApiError::bad(
                            "body: 'name' is set at the top level, not among the attributes",
                            "nội dung: 'name' đặt ở cấp ngoài, không trong attributes",
                        ));
                    }
                    out.push((f, v));
                }
            }
            ("attributes", _) => {
                return Err(ApiError::bad(
                    "body: 'attributes' must be an object of field: value",
                    "nội dung: 'attributes' phải là đối tượng trường: giá trị",
                ));
            }
            (k, _) => {
                return Err(ApiError::bad(
                    format!(
                        "body: unknown member '{}'; a change has 'name' and 'attributes'",
                        crate::echo(k)
                    ),
                    format!(
                        "nội dung: thành phần '{}' không hợp lệ; chỉ có 'name' và 'attributes'",
                        crate::echo(k)
                    ),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad(
            "body: no change asked for, nothing stored",
            "nội dung: không có thay đổi nào, không lưu gì",
        ));
    }
    if out.len() > crate::edits::MAX_FIELDS {
        return Err(ApiError::bad(
            format!(
                "body: {} fields; at most {} in one request",
                out.len(),
                crate::edits::MAX_FIELDS
            ),
            format!(
                "nội dung: {} trường; tối đa {} mỗi yêu cầu",
                out.len(),
                crate::edits::MAX_FIELDS
            ),
        ));
    }
    Ok(out)
}

/// `PATCH /layers/{layer}/features/{id}`.
pub(crate) async fn edit_feature(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((layer, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let layer = layer_param(&layer)?;
    let id = id_param(&id)?;
    let bytes = body_bytes(body).await?;
    let changes = requested_changes(&bytes)?;
    let st = s.clone();
    tokio::task::spawn_blocking(move || apply_edit(&st, &caller, layer, id, &changes))
        .await
        .map_err(ApiError::internal)?
}

fn apply_edit(
    s: &AppState,
    caller: &Caller,
    layer: Layer,
    id: i64,
    changes: &[(String, Value)],
) -> Result<Response, ApiError> {
    use crate::edits;
    let mut city = s.city_mut();
    let fid = FeatureId(id);
    let Some(mut f) = city.layer(layer).get(fid).cloned() else {
        return Err(no_feature(layer, id));
    };
    if caller.role != crate::auth::Role::Admin && caller.department != f.owner.code() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "feature {id} of layer {layer} belongs to {} ({}); token '{}' of department '{}' may not change it",
                f.owner.code(),
                f.owner.name_en(),
                caller.name,
                caller.department
            ),
            format!(
                "đối tượng {id} của lớp {layer} thuộc {} ({}); token '{}' của đơn vị '{}' không được sửa",
                f.owner.code(),
                f.owner.name_vi(),
                caller.name,
                caller.department
            ),
        ));
    }
    let mut values = Vec::with_capacity(changes.len());
    for (field, v) in changes {
        let checked = edits::check(&city, layer, field, v).map_err(|(en, vi)| {
            ApiError::bad(
                format!("body: {en}; nothing stored"),
                format!("nội dung: {vi}; không lưu gì"),
            )
        })?;
        values.push(checked);
    }
    let now = crate::now_ms();
    let rows: Vec<edits::Edit> = changes
        .iter()
        .map(|(field, v)| edits::Edit {
            time_ms: now,
            who: caller.name.clone(),
            department: caller.department.clone(),
            layer: layer.table_name().to_string(),
            fid: id,
            field: field.clone(),
            old: edits::field_json(&city, layer, fid, field),
            new: v.clone(),
        })
        .collect();
    // Journal first: an edit is acknowledged only once it is durable.
    s.edits.append(&rows).map_err(ApiError::internal)?;
    for ((field, _), v) in changes.iter().zip(values) {
        edits::set_field(&mut f, field, v);
    }
    city.layer_mut(layer).insert(f);
    let fields: Vec<&str> = changes.iter().map(|(k, _)| k.as_str()).collect();
    let mut v = geojson::feature(
        city.layer(layer)
            .get(fid)
            .ok_or_else(|| no_feature(layer, id))?,
    );
    v["layer"] = json!(layer.table_name());
    v["changed"] = json!(fields);
    let mut r = Json(v).into_response();
    r.extensions_mut().insert(crate::error::ErrorNote(format!(
        "edited {layer} {id}: {}",
        fields.join(", ")
    )));
    Ok(r)
}

/// `GET /layers/{layer}/features/{id}/history`: the feature's edits and its recorded state.
pub(crate) async fn feature_history(
    State(s): State<AppState>,
    Path((layer, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let layer = layer_param(&layer)?;
    let id = id_param(&id)?;
    let key = twin_model::FeatureKey {
        layer,
        id: FeatureId(id),
    };
    let state: Vec<Value> = {
        let city = s.city();
        if city.layer(layer).get(key.id).is_none() {
            return Err(no_feature(layer, id));
        }
        city.state()
            .iter()
            .filter(|e| e.key == key)
            .map(|e| json!({"t": e.t, "quantity": e.quantity, "value": e.value}))
            .collect()
    };
    let st = s.clone();
    let edits = tokio::task::spawn_blocking(move || st.edits.of(layer, key.id))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "layer": layer.table_name(),
        "id": id,
        "edits": edits,
        "state": state,
    })))
}

/// `POST /scenarios`.
pub(crate) async fn submit_scenario(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(body).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::bad(
            format!(
                "body: not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
            "nội dung: không phải văn bản UTF-8",
        )
    })?;
    let st = s.clone();
    let v = tokio::task::spawn_blocking(move || crate::jobs::submit(&st, &caller, &text))
        .await
        .map_err(ApiError::internal)??;
    let note = format!("scenario job {} queued", v["id"]);
    let mut r = (StatusCode::ACCEPTED, Json(v)).into_response();
    r.extensions_mut().insert(crate::error::ErrorNote(note));
    Ok(r)
}

pub(crate) fn jobs_of(s: &AppState) -> Result<&crate::jobs::Jobs, ApiError> {
    s.jobs.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "scenario jobs are off: start the server with --jobs-dir DIR",
            "chưa bật chạy kịch bản: chạy máy chủ với --jobs-dir DIR",
        )
    })
}

/// `GET /scenarios`.
pub(crate) async fn scenarios(
    State(s): State<AppState>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    only(&q, &["limit"])?;
    let limit = int_param(&q, "limit", 100, 1, MAX_LIMIT)?;
    jobs_of(&s)?;
    let st = s.clone();
    let v =
        tokio::task::spawn_blocking(move || jobs_of(&st)?.list(limit).map_err(ApiError::internal))
            .await
            .map_err(ApiError::internal)??;
    Ok(Json(json!({"count": v.len(), "jobs": v})))
}

/// `GET /scenarios/{id}`.
pub(crate) async fn scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = id_param(&id)?;
    jobs_of(&s)?;
    let st = s.clone();
    tokio::task::spawn_blocking(move || {
        jobs_of(&st)?
            .describe(id)
            .map_err(ApiError::internal)?
            .map(Json)
            .ok_or_else(|| crate::jobs::no_job(id))
    })
    .await
    .map_err(ApiError::internal)?
}

/// `POST /scenarios/{id}/cancel`.
pub(crate) async fn cancel_scenario(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_param(&id)?;
    let st = s.clone();
    let v = tokio::task::spawn_blocking(move || crate::jobs::cancel(&st, &caller, id))
        .await
        .map_err(ApiError::internal)??;
    let mut r = Json(v).into_response();
    r.extensions_mut().insert(crate::error::ErrorNote(format!(
        "scenario job {id} cancelled"
    )));
    Ok(r)
}

/// `GET /scenarios/{id}/files/{name}`.
pub(crate) async fn scenario_file(
    State(s): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = id_param(&id)?;
    let jobs = jobs_of(&s)?;
    if !crate::jobs::safe_name(&name) {
        return Err(ApiError::bad(
            format!(
                "parameter 'name': '{}' is not a file name (letters, digits, . _ -)",
                crate::echo(&name)
            ),
            format!(
                "tham số 'name': '{}' không phải tên tệp",
                crate::echo(&name)
            ),
        ));
    }
    let p = jobs.folder(id).join("out").join(&name);
    let ty = match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("png") => "image/png",
        Some("tif") => "image/tiff",
        Some("toml") => "application/toml",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&p).await {
        Ok(bytes) => Ok(([(header::CONTENT_TYPE, ty)], Body::from(bytes)).into_response()),
        Err(_) => Err(ApiError::not_found(
            format!("job {id} has no file '{name}' (see GET /scenarios/{id})"),
            format!("kịch bản {id} không có tệp '{name}'"),
        )),
    }
}
