//! The one route table: the router is built from it (`crate::router`) and so is the OpenAPI
//! document, so the two cannot disagree.

use crate::auth::Role;
use serde_json::{Value, json};
use twin_model::Layer;

/// Which handler answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET /health`
    Health,
    /// `GET /metrics`
    Metrics,
    /// `GET /openapi.json`
    OpenApi,
    /// `GET /layers`
    Layers,
    /// `GET /layers/{layer}/features`
    Features,
    /// `GET /layers/{layer}/features/{id}`
    Feature,
    /// `GET /live/state`
    LiveState,
    /// `GET /live/forecast`
    LiveForecast,
    /// `GET /live/depth`
    LiveDepth,
    /// `GET /live/alerts`
    LiveAlerts,
    /// `POST /live/readings`
    LiveReadings,
    /// `GET /audit`
    Audit,
    /// `PATCH /layers/{layer}/features/{id}`
    EditFeature,
    /// `GET /layers/{layer}/features/{id}/history`
    FeatureHistory,
    /// `GET /live/stream` (WebSocket)
    LiveStream,
    /// `POST /scenarios`
    SubmitScenario,
    /// `GET /scenarios`
    Scenarios,
    /// `GET /scenarios/{id}`
    Scenario,
    /// `POST /scenarios/{id}/cancel`
    CancelScenario,
    /// `GET /scenarios/{id}/files/{name}`
    ScenarioFile,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no token.
    Public,
    /// Any valid token whose role is in the list.
    Roles(&'static [Role]),
}

/// Every role.
pub const ANY_ROLE: &[Role] = &[Role::Viewer, Role::Operator, Role::Planner, Role::Admin];

/// One parameter of a route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// `path` or `query`.
    pub place: &'static str,
    /// Its JSON Schema, as JSON text (the `layer` parameter also gets the layers' ids as an
    /// enum).
    pub schema: &'static str,
    /// What it is (English / Vietnamese).
    pub about: &'static str,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET`, `POST` or `PATCH`.
    pub method: &'static str,
    /// Path pattern (`{name}` for a path parameter: the same syntax in axum and OpenAPI).
    pub path: &'static str,
    /// The handler.
    pub handler: Handler,
    /// Who may call it.
    pub access: Access,
    /// What it does (English / Vietnamese).
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// It needs `--live DIR`.
    pub live: bool,
}

const LAYER: Param = Param {
    name: "layer",
    place: "path",
    schema: r#"{"type": "string"}"#,
    about: "layer id (GET /layers), e.g. building, traffic_road / mã lớp",
};

const ID: Param = Param {
    name: "id",
    place: "path",
    schema: r#"{"type": "integer", "format": "int64", "minimum": -9223372036854775808, "maximum": 9223372036854775807}"#,
    about: "feature id / mã đối tượng",
};

const JOB: Param = Param {
    name: "id",
    place: "path",
    schema: r#"{"type": "integer", "format": "int64", "minimum": -9223372036854775808, "maximum": 9223372036854775807}"#,
    about: "job id (POST /scenarios) / mã kịch bản",
};

/// Largest `offset` of a page: 2^53 − 1, the largest whole number every JSON client reads
/// exactly.
pub const MAX_OFFSET: usize = 9_007_199_254_740_991;

/// Largest `limit` of a page of features (and of the audit log).
pub const MAX_LIMIT: usize = 1000;

/// Every route of the server.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/health",
        handler: Handler::Health,
        access: Access::Public,
        summary: "Status, city and feature counts / Trạng thái, thành phố và số đối tượng",
        params: &[],
        live: false,
    },
    Route {
        method: "GET",
        path: "/metrics",
        handler: Handler::Metrics,
        access: Access::Public,
        summary: "Prometheus metrics / Số liệu Prometheus",
        params: &[],
        live: false,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        handler: Handler::OpenApi,
        access: Access::Public,
        summary: "This document / Tài liệu này",
        params: &[],
        live: false,
    },
    Route {
        method: "GET",
        path: "/layers",
        handler: Handler::Layers,
        access: Access::Roles(ANY_ROLE),
        summary: "The 11 layers: names, owner department, feature count / 11 lớp dữ liệu",
        params: &[],
        live: false,
    },
    Route {
        method: "GET",
        path: "/layers/{layer}/features",
        handler: Handler::Features,
        access: Access::Roles(ANY_ROLE),
        summary: "A layer's features as a GeoJSON FeatureCollection in the city CRS, paged / Đối tượng của một lớp (GeoJSON)",
        params: &[
            LAYER,
            Param {
                name: "bbox",
                place: "query",
                schema: r#"{"type": "string", "maxLength": 200, "pattern": "^[^,]+,[^,]+,[^,]+,[^,]+$"}"#,
                about: "minx,miny,maxx,maxy in the city CRS / khung giới hạn",
            },
            Param {
                name: "kind",
                place: "query",
                schema: r#"{"type": "string", "maxLength": 200}"#,
                about: "feature kind, exact / loại đối tượng",
            },
            Param {
                name: "name",
                place: "query",
                schema: r#"{"type": "string", "maxLength": 200}"#,
                about: "part of the name, any case / một phần tên",
            },
            Param {
                name: "limit",
                place: "query",
                schema: r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#,
                about: "page size, 1 to 1000, default 100 / số đối tượng mỗi trang",
            },
            Param {
                name: "offset",
                place: "query",
                schema: r#"{"type": "integer", "minimum": 0, "maximum": 9007199254740991}"#,
                about: "features to skip, default 0 (the answer's `next`) / vị trí bắt đầu",
            },
        ],
        live: false,
    },
    Route {
        method: "GET",
        path: "/layers/{layer}/features/{id}",
        handler: Handler::Feature,
        access: Access::Roles(ANY_ROLE),
        summary: "One feature as GeoJSON / Một đối tượng (GeoJSON)",
        params: &[LAYER, ID],
        live: false,
    },
    Route {
        method: "PATCH",
        path: "/layers/{layer}/features/{id}",
        handler: Handler::EditFeature,
        access: Access::Roles(&[Role::Operator, Role::Planner, Role::Admin]),
        summary: "Change a feature's name or attributes ({\"name\": …, \"attributes\": {…}}; null removes): only a token of the feature's owning department, or an admin; journaled / Sửa tên hoặc thuộc tính (chỉ đơn vị sở hữu)",
        params: &[LAYER, ID],
        live: false,
    },
    Route {
        method: "GET",
        path: "/layers/{layer}/features/{id}/history",
        handler: Handler::FeatureHistory,
        access: Access::Roles(ANY_ROLE),
        summary: "A feature's edits (who, when, before, after) and its recorded state series / Lịch sử chỉnh sửa và trạng thái",
        params: &[LAYER, ID],
        live: false,
    },
    Route {
        method: "GET",
        path: "/live/state",
        handler: Handler::LiveState,
        access: Access::Roles(ANY_ROLE),
        summary: "The live twin's latest state (state.json) / Trạng thái mới nhất",
        params: &[],
        live: true,
    },
    Route {
        method: "GET",
        path: "/live/depth",
        handler: Handler::LiveDepth,
        access: Access::Roles(ANY_ROLE),
        summary: "The water now: depth above the start on the city's grid, m, as a Float32 GeoTIFF in the city's CRS (depth.tif, rewritten each period) / Độ sâu ngập hiện tại (GeoTIFF)",
        params: &[],
        live: true,
    },
    Route {
        method: "GET",
        path: "/live/forecast",
        handler: Handler::LiveForecast,
        access: Access::Roles(ANY_ROLE),
        summary: "The latest forecast / Dự báo mới nhất",
        params: &[],
        live: true,
    },
    Route {
        method: "GET",
        path: "/live/alerts",
        handler: Handler::LiveAlerts,
        access: Access::Roles(ANY_ROLE),
        summary: "Alerts since a time / Cảnh báo từ một thời điểm",
        params: &[Param {
            name: "since",
            place: "query",
            schema: r#"{"type": "integer", "format": "int64", "minimum": -9223372036854775808, "maximum": 9223372036854775807}"#,
            about: "ms since 1970 (alerts at or after it) / mili giây từ 1970",
        }],
        live: true,
    },
    Route {
        method: "GET",
        path: "/live/stream",
        handler: Handler::LiveStream,
        access: Access::Roles(ANY_ROLE),
        summary: "WebSocket: the live twin's state, forecasts and alerts as they are made; JSON text messages {id, type, time_ms, data}; resume with since_id / Luồng WebSocket trạng thái, dự báo, cảnh báo",
        params: &[Param {
            name: "since_id",
            place: "query",
            schema: r#"{"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807}"#,
            about: "id of the last message received: every later event is sent first (default: the latest state and forecast and the last 100 alerts) / mã sự kiện cuối đã nhận",
        }],
        live: true,
    },
    Route {
        method: "POST",
        path: "/live/readings",
        handler: Handler::LiveReadings,
        access: Access::Roles(&[Role::Operator, Role::Admin]),
        summary: "Sensor readings (snapshot JSON, at most 1 MiB) through QC into the store / Gửi số đo cảm biến",
        params: &[],
        live: true,
    },
    Route {
        method: "POST",
        path: "/scenarios",
        handler: Handler::SubmitScenario,
        access: Access::Roles(&[Role::Planner, Role::Admin]),
        summary: "Submit a scenario file (TOML, as `twin scenario run` takes; `city` is replaced by the served city; rain from [rain] design): 202 with the job's id; runs in the background / Gửi tệp kịch bản để chạy",
        params: &[],
        live: false,
    },
    Route {
        method: "GET",
        path: "/scenarios",
        handler: Handler::Scenarios,
        access: Access::Roles(ANY_ROLE),
        summary: "Scenario jobs, newest first / Danh sách kịch bản",
        params: &[Param {
            name: "limit",
            place: "query",
            schema: r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#,
            about: "jobs, 1 to 1000, default 100 / số kịch bản",
        }],
        live: false,
    },
    Route {
        method: "GET",
        path: "/scenarios/{id}",
        handler: Handler::Scenario,
        access: Access::Roles(ANY_ROLE),
        summary: "A job: status (queued, running, done, failed, cancelled, interrupted), progress, its interventions and files / Trạng thái kịch bản",
        params: &[JOB],
        live: false,
    },
    Route {
        method: "POST",
        path: "/scenarios/{id}/cancel",
        handler: Handler::CancelScenario,
        access: Access::Roles(&[Role::Planner, Role::Admin]),
        summary: "Cancel a queued or running job (its submitter or an admin) / Huỷ kịch bản",
        params: &[JOB],
        live: false,
    },
    Route {
        method: "GET",
        path: "/scenarios/{id}/files/{name}",
        handler: Handler::ScenarioFile,
        access: Access::Roles(ANY_ROLE),
        summary: "A file the job wrote: report.html, summary.json, traffic.json, roads.csv, maps … (names in the job's `files`) / Tệp kết quả",
        params: &[
            JOB,
            Param {
                name: "name",
                place: "path",
                schema: r#"{"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$"}"#,
                about: "file name, from the job's `files` / tên tệp",
            },
        ],
        live: false,
    },
    Route {
        method: "GET",
        path: "/audit",
        handler: Handler::Audit,
        access: Access::Roles(&[Role::Admin]),
        summary: "The audit log, newest first (admins) / Nhật ký kiểm toán",
        params: &[Param {
            name: "limit",
            place: "query",
            schema: r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#,
            about: "records, 1 to 1000, default 100 / số bản ghi",
        }],
        live: false,
    },
];

fn error_response(about: &str) -> Value {
    json!({
        "description": about,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// The OpenAPI 3 document of [`ROUTES`].
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let params: Vec<Value> = r
            .params
            .iter()
            .map(|p| {
                let mut schema: Value =
                    serde_json::from_str(p.schema).expect("a route table schema is JSON");
                if p.name == "layer" {
                    schema["enum"] = Layer::ALL.iter().map(|l| l.table_name()).collect();
                }
                json!({
                    "name": p.name,
                    "in": p.place,
                    "required": p.place == "path",
                    "description": p.about,
                    "schema": schema,
                })
            })
            .collect();
        let mut responses = serde_json::Map::new();
        let ok = match (r.method, r.handler) {
            ("POST", _) => "202",
            (_, Handler::LiveStream) => "101",
            _ => "200",
        };
        responses.insert(ok.into(), ok_response(r.handler));
        responses.insert(
            "400".into(),
            error_response("bad parameter or body / tham số sai"),
        );
        if let Access::Roles(_) = r.access {
            responses.insert(
                "401".into(),
                error_response("no or unknown token / thiếu token"),
            );
            responses.insert(
                "403".into(),
                error_response("role or department not allowed / không đủ quyền"),
            );
            responses.insert(
                "429".into(),
                error_response("rate limit reached; see Retry-After / vượt giới hạn tần suất"),
            );
        }
        if matches!(r.handler, Handler::SubmitScenario) {
            responses.insert(
                "503".into(),
                error_response("too many jobs waiting / quá nhiều kịch bản đang chờ"),
            );
        }
        if matches!(r.handler, Handler::CancelScenario) {
            responses.insert(
                "409".into(),
                error_response("the job has ended already / kịch bản đã kết thúc"),
            );
        }
        if r.handler == Handler::LiveStream {
            responses.insert(
                "503".into(),
                error_response("shutting down / máy chủ đang dừng"),
            );
        }
        responses.insert("404".into(), error_response("not found / không tìm thấy"));
        if r.method != "GET" {
            responses.insert("413".into(), error_response("body over 1 MiB / quá 1 MiB"));
        }
        let mut op = json!({
            "operationId": format!("{:?}", r.handler),
            "summary": r.summary,
            "parameters": params,
            "responses": Value::Object(responses),
        });
        if let Access::Roles(roles) = r.access {
            op["security"] = json!([{"bearer": []}]);
            op["x-roles"] = json!(roles.iter().map(|r| r.name()).collect::<Vec<_>>());
        }
        if r.live {
            op["x-needs"] = json!("--live DIR");
        }
        let body = match r.handler {
            Handler::SubmitScenario => Some(json!({
                "description": "a scenario file, TOML text (scenarios/scenario.schema.json) / tệp kịch bản TOML",
                "required": true,
                "content": {"text/plain": {"schema": {"type": "string", "maxLength": 1048576}}}
            })),
            Handler::LiveReadings => Some(json!({
                "description": "one reading or an array of readings (schemas/snapshot.schema.json) / số đo",
                "required": true,
                "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Reading"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Reading"}}
                ]}}}
            })),
            Handler::EditFeature => Some(json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeatureEdit"}}}
            })),
            _ => None,
        };
        if let Some(b) = body {
            op["requestBody"] = b;
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Hanoi city digital twin / Bản sao số đô thị Hà Nội",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "error_vi"],
                    "properties": {"error": {"type": "string"}, "error_vi": {"type": "string"}}
                },
                "Reading": reading_schema(),
                "Feature": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "integer"},
                        "geometry": {"type": "object", "required": ["type"]},
                        "properties": {"type": "object", "required": ["id", "kind", "owner"]}
                    }
                },
                "FeatureEdit": {
                    "type": "object",
                    "additionalProperties": false,
                    "minProperties": 1,
                    "properties": {
                        "name": {"type": "string", "nullable": true, "maxLength": 1000},
                        "attributes": {
                            "type": "object",
                            "maxProperties": 50,
                            "additionalProperties": {
                                "nullable": true,
                                "oneOf": [
                                    {"type": "number"},
                                    {"type": "string", "maxLength": 1000},
                                    {"type": "boolean"}
                                ]
                            }
                        }
                    }
                }
            }
        }
    })
}

/// A reading, as `schemas/snapshot.schema.json` defines it (the parser accepts exactly that).
fn reading_schema() -> Value {
    let doc: Value = serde_json::from_str(include_str!("../../../schemas/snapshot.schema.json"))
        .expect("schemas/snapshot.schema.json is JSON");
    doc["$defs"]["reading"].clone()
}

/// The success answer of a route: its media type and, for JSON, its shape.
fn ok_response(h: Handler) -> Value {
    let obj = |required: &[&str]| json!({"type": "object", "required": required});
    let schema = match h {
        Handler::Metrics => {
            return json!({"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}});
        }
        Handler::ScenarioFile => {
            return json!({"description": "the file / tệp", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}});
        }
        Handler::LiveStream => return json!({"description": "switching to the WebSocket protocol"}),
        Handler::LiveDepth => {
            return json!({"description": "GeoTIFF, Float32, one band, m / độ sâu, m", "content": {"image/tiff": {"schema": {"type": "string", "format": "binary"}}}});
        }
        Handler::Health => obj(&["status", "city", "crs", "features", "layers", "live"]),
        Handler::OpenApi => obj(&["openapi", "info", "paths"]),
        Handler::Layers => obj(&["crs", "layers"]),
        Handler::Features => json!({
            "type": "object",
            "required": ["type", "layer", "crs_code", "number_matched", "number_returned", "offset", "limit", "next", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "number_matched": {"type": "integer", "minimum": 0},
                "number_returned": {"type": "integer", "minimum": 0},
                "next": {"type": "integer", "nullable": true},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}}
            }
        }),
        Handler::Feature | Handler::EditFeature => json!({"$ref": "#/components/schemas/Feature"}),
        Handler::FeatureHistory => obj(&["layer", "id", "edits", "state"]),
        Handler::LiveState | Handler::LiveForecast => json!({"type": "object"}),
        Handler::LiveAlerts => obj(&["count", "alerts"]),
        Handler::LiveReadings => obj(&["received", "accepted", "quarantined", "held"]),
        Handler::Audit => obj(&["count", "records"]),
        Handler::SubmitScenario => obj(&["id", "status", "scenario"]),
        Handler::Scenarios => obj(&["count", "jobs"]),
        Handler::Scenario => obj(&["id", "status", "who", "created_ms", "progress", "files"]),
        Handler::CancelScenario => obj(&["id", "status"]),
    };
    json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
}
