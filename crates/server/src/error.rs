//! Errors as JSON: `{"error": "...", "error_vi": "..."}`, each naming the parameter at fault.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong, in English and Vietnamese, with its status.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// English message.
    pub en: String,
    /// Vietnamese message.
    pub vi: String,
}

/// What a response says happened (an error's English message, what a write did), kept on
/// the response for the audit.
#[derive(Debug, Clone)]
pub struct ErrorNote(pub String);

impl ApiError {
    /// An error with a status.
    pub fn new(status: StatusCode, en: impl Into<String>, vi: impl Into<String>) -> ApiError {
        ApiError {
            status,
            en: en.into(),
            vi: vi.into(),
        }
    }

    /// 400: a parameter or body is wrong.
    pub fn bad(en: impl Into<String>, vi: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, en, vi)
    }

    /// 404: nothing there.
    pub fn not_found(en: impl Into<String>, vi: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, en, vi)
    }

    /// 500: the server failed (the detail is logged and returned; it names no secret).
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("server error: {detail}"),
            format!("lỗi máy chủ: {detail}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.en, "error_vi": self.vi });
        let mut r = (self.status, Json(body)).into_response();
        r.extensions_mut().insert(ErrorNote(self.en));
        r
    }
}

/// The bilingual message for a status that left the server without one of ours (the body
/// limit, the timeout, a method the route does not take, a route that does not exist).
pub fn for_status(status: StatusCode) -> ApiError {
    let (en, vi) = match status.as_u16() {
        404 => (
            "no such route (see /openapi.json)",
            "không có đường dẫn này (xem /openapi.json)",
        ),
        405 => (
            "method not allowed on this route (see /openapi.json)",
            "phương thức không được phép ở đường dẫn này",
        ),
        408 => ("request timed out", "yêu cầu quá thời gian"),
        413 => (
            "request body too large: at most 1 MiB",
            "nội dung yêu cầu quá lớn: tối đa 1 MiB",
        ),
        415 => ("unsupported media type", "kiểu nội dung không được hỗ trợ"),
        _ if status.is_server_error() => ("server error", "lỗi máy chủ"),
        _ => ("request refused", "yêu cầu bị từ chối"),
    };
    ApiError::new(status, en, vi)
}
