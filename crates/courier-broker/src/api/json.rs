//! Extractors whose rejections are API errors (JSON, 4xx) instead of axum's
//! plain-text ones: a JSON body, a query string and path parameters.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::BytesRejection(_) => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    rejection.body_text(),
                ),
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "content_type",
                    "send the body as JSON with Content-Type: application/json",
                ),
                // An unknown field is named (422), the rest is 400.
                _ => super::unknown_field::body_refused(rejection.body_text()),
            }),
        }
    }
}

/// A query string; a bad one is 400 `bad_query` naming the parameter
/// (serde's message, e.g. "limit: invalid digit found in string").
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
            })
    }
}

/// Path parameters; one that is not valid (e.g. percent-encoded bytes that
/// are not UTF-8) is 400 `bad_path`.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                // A route whose pattern and extractor disagree is our bug (5xx).
                if rejection.status().is_server_error() {
                    tracing::error!(operation = "extract the path", error = %rejection.body_text(), "the broker failed a request");
                    ApiError::internal(rejection.body_text())
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "bad_path", rejection.body_text())
                }
            })
    }
}
