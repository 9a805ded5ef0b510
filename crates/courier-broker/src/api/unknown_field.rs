//! A request body with a field the API does not know is refused, naming
//! that field and the expected ones, instead of being taken without it
//! (a misspelled spawn field such as `channel` for `channels` was silently
//! ignored). Every request body struct says `deny_unknown_fields`; this
//! turns serde's refusal into a 422 `unknown_field` error.

use axum::http::StatusCode;

use super::error::ApiError;

/// The field serde refused and the fields it expected, read from serde's
/// message (`unknown field `x`, expected one of `a`, `b``, the wording of
/// `serde::de::Error::unknown_field`), with where it sat (`restart` for a
/// nested object) when the message names a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    pub field: String,
    pub at: Option<String>,
    pub expected: Vec<String>,
}

const MARK: &str = "unknown field `";

impl UnknownField {
    /// `None` when `message` is not an unknown-field refusal.
    pub fn parse(message: &str) -> Option<UnknownField> {
        let start = message.find(MARK)?;
        let rest = &message[start + MARK.len()..];
        // The client chose the field's name (it may hold a backtick); the
        // expected names are ours and hold none, so the last separator is
        // the one serde wrote.
        let (field, expected) = match rest.rfind("`, expected ") {
            Some(end) => (&rest[..end], &rest[end..]),
            None => (rest.strip_suffix('`').unwrap_or(rest), ""),
        };
        let expected = expected
            .split('`')
            .skip(2)
            .step_by(2)
            .map(str::to_string)
            .collect();
        // axum (serde_path_to_error) writes `…: <path>.<field>: unknown
        // field`; the object it sat in is the path without its last part.
        let at = message[..start]
            .trim_end()
            .strip_suffix(':')
            .and_then(|head| head.rsplit(": ").next())
            .and_then(|path| path.rsplit_once('.'))
            .map(|(object, _)| object.trim())
            .filter(|object| !object.is_empty() && !object.contains(' '))
            .map(str::to_string);
        Some(UnknownField {
            field: field.to_string(),
            at,
            expected,
        })
    }

    /// The 422 error naming the field, where it was, and what is expected.
    pub fn into_error(self) -> ApiError {
        let place = match &self.at {
            Some(at) => format!(" in `{at}`"),
            None => String::new(),
        };
        let message = format!(
            "unknown field {:?}{place} in the request body; expected one of: {}",
            self.field,
            self.expected.join(", ")
        );
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field", message)
            .with_field(self.field)
            .with_expected(self.expected, self.at)
    }
}

/// A request body serde refused: an unknown field is 422 `unknown_field`;
/// anything else (bad JSON, a missing field, a wrong type) stays 400
/// `malformed_json` with serde's message.
pub fn body_refused(message: String) -> ApiError {
    match UnknownField::parse(&message) {
        Some(unknown) => unknown.into_error(),
        None => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // only deserialized
    struct Inner {
        policy: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        channels: Option<Vec<String>>,
        restart: Option<Inner>,
    }

    /// axum's own refusal text for `body`, as the API's extractor sees it.
    async fn axum_refusal(body: &str) -> String {
        let request = axum::http::Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        match axum::Json::<Body>::from_request(request, &()).await {
            Ok(b) => panic!("accepted {b:?}"),
            Err(rejection) => rejection.body_text(),
        }
    }

    async fn error_json(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_misspelled_field_is_named_with_the_expected_ones() {
        let text = axum_refusal(r#"{"name": "a", "channel": ["ops"]}"#).await;
        let (status, v) = error_json(body_refused(text)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["code"], "unknown_field");
        assert_eq!(v["error"]["field"], "channel");
        assert!(v["error"].get("at").is_none(), "{v}");
        assert_eq!(
            v["error"]["expected"],
            json!(["name", "channels", "restart"])
        );
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("\"channel\""), "{message}");
        assert!(message.contains("channels"), "{message}");
    }

    #[tokio::test]
    async fn a_nested_unknown_field_says_where_it_sat() {
        let text = axum_refusal(r#"{"name": "a", "restart": {"polcy": "always"}}"#).await;
        let (_, v) = error_json(body_refused(text)).await;
        assert_eq!(v["error"]["field"], "polcy");
        assert_eq!(v["error"]["at"], "restart");
        assert_eq!(v["error"]["expected"], json!(["policy"]));
    }

    #[tokio::test]
    async fn a_field_name_with_a_backtick_is_kept_whole() {
        let text = axum_refusal(r#"{"name": "a", "x`, expected `y": 1}"#).await;
        let (_, v) = error_json(body_refused(text)).await;
        assert_eq!(v["error"]["field"], "x`, expected `y");
        assert_eq!(
            v["error"]["expected"],
            json!(["name", "channels", "restart"])
        );
    }

    #[tokio::test]
    async fn other_refusals_stay_malformed_json() {
        let text = axum_refusal(r#"{"name": 3}"#).await;
        let (status, v) = error_json(body_refused(text)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v["error"]["code"], "malformed_json");
    }
}
