//! Error responses in the service's shape (PROTOCOL.md §6): every failure is a JSON body
//! with `error`, `exception`, `timestamp`, `duration` and `error_description`, because the
//! official SDK never settles a call whose error has no JSON body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::log_text::LogText;
use crate::protocol::json::ErrorBody;
use crate::store::StoreError;

/// One error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The machine-readable code, e.g. `illegal_argument`.
    pub error: &'static str,
    /// The service's exception class name.
    pub exception: &'static str,
    /// Text for the person.
    pub description: String,
    /// Seconds to wait, sent as `Retry-After` (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        error: &'static str,
        exception: &'static str,
        description: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            error,
            exception,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 `illegal_argument`: a bad parameter.
    pub fn illegal_argument(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "illegal_argument",
            "java.lang.IllegalArgumentException",
            description,
        )
    }

    /// 400 `json_parse`: a body that is not JSON.
    pub fn json_parse(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "json_parse",
            "com.fasterxml.jackson.core.JsonParseException",
            description,
        )
    }

    /// 400 `invalid_grant`: wrong user name or password.
    pub fn invalid_grant() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "UnauthorizedException",
            "invalid username or password",
        )
    }

    /// 400 `invalid_grant`: an unknown client id or a wrong client secret.
    pub fn invalid_client() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "UnauthorizedException",
            "invalid client_id or client_secret",
        )
    }

    /// 401 `unauthorized`: no token, or an expired one.
    pub fn unauthorized(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "UnauthorizedException",
            description,
        )
    }

    /// 401 `auth_bad_access_token`: something that is not a token this server issued.
    pub fn bad_access_token() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_bad_access_token",
            "UnauthorizedException",
            "Unable to authenticate due to corrupt access token",
        )
    }

    /// 403 `forbidden_op`.
    pub fn forbidden(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_op",
            "ForbiddenOperationException",
            description,
        )
    }

    /// 404 `organization_application_not_found`.
    pub fn app_not_found(org: &str, app: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "organization_application_not_found",
            "OrganizationApplicationNotFoundException",
            format!("Could not find application for {org}/{app} from URI: {org}/{app}"),
        )
    }

    /// 404 `service_resource_not_found`.
    pub fn resource_not_found(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "service_resource_not_found",
            "ServiceResourceNotFoundException",
            format!("Service resource not found: {}", truncate(path, 200)),
        )
    }

    /// 404 `entity_not_found`: a file the server does not know, or that the caller may not
    /// see (the two read the same).
    pub fn file_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            crate::protocol::files::ENTITY_NOT_FOUND,
            "EntityNotFoundException",
            "file may not exists",
        )
    }

    /// 404 `file_expired`: a file a message names that the server no longer holds.
    pub fn file_expired(uuid: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            crate::protocol::files::FILE_EXPIRED,
            "FileExpiredException",
            format!("file {} is expired", truncate(uuid, 64)),
        )
    }

    /// 416: a byte range that starts past the end of the file.
    pub fn range_not_satisfiable(length: u64) -> ApiError {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            "RangeNotSatisfiableException",
            format!("the file has {length} bytes"),
        )
    }

    /// 405: a known path with another method.
    pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "MethodNotAllowedException",
            format!("{method} is not supported on {}", truncate(path, 200)),
        )
    }

    /// 413: a body over the server's limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_entity_too_large",
            "RequestEntityTooLargeException",
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 429 `reach_limit`, with the seconds to wait.
    pub fn reach_limit(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "reach_limit",
                "ReachLimitException",
                "This request has reached api limit",
            )
        }
    }

    /// 408: the request (its body, or the whole of it) took longer than the server waits.
    pub fn request_timeout(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "RequestTimeoutException",
            description,
        )
    }

    /// Any error status produced below the handlers (a layer, the router itself) without a
    /// §6 body: the same status with one.
    pub fn for_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::resource_not_found(""),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                status,
                "request_entity_too_large",
                "RequestEntityTooLargeException",
                "request body is too large",
            ),
            StatusCode::REQUEST_TIMEOUT => {
                ApiError::request_timeout("the request took longer than the server waits")
            }
            s if s.is_server_error() => ApiError {
                status: s,
                ..ApiError::internal()
            },
            s => ApiError::new(
                s,
                "bad_request",
                "BadRequestException",
                s.canonical_reason().unwrap_or("the request was refused"),
            ),
        }
    }

    /// 500: a failure of the server itself (details go to the log, not the client).
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "InternalServerErrorException",
            "internal server error",
        )
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::BadCursor(_)
            | StoreError::BadPageSize(_)
            | StoreError::InvalidId(_)
            | StoreError::EmptyPassword => ApiError::illegal_argument(e.to_string()),
            StoreError::Forbidden { .. } => ApiError::forbidden(e.to_string()),
            other => {
                // A store error may quote the request (an id, a cursor): escaped.
                let text = other.to_string();
                tracing::error!(error = %LogText::with_max(&text, 400), "store failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_string(),
            exception: self.exception.to_string(),
            timestamp: jiff::Timestamp::now().as_millisecond(),
            duration: 0,
            error_description: self.description,
            error_code: None,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A response middleware: an error status without a JSON body (from a layer such as the
/// request timeout, or axum itself) is replaced by the §6 body for that status, keeping
/// its headers (`Allow`, `Retry-After`). Handlers' own errors are already JSON and pass.
pub(crate) async fn every_error_is_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut json = ApiError::for_status(status).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}
