//! Whose fault each error is, as the API answers it.

use super::*;
use axum::body::Body;
use axum::http::header::ALLOW;
use courier_terminal::TerminalError;
use serde_json::{Value, json};

async fn body_json(response: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn io(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "refused by the test")
}

fn parts(error: BrokerError) -> (StatusCode, &'static str, Value) {
    let api = ApiError::from(error);
    (
        api.status,
        api.code,
        serde_json::to_value(*api.details).unwrap(),
    )
}

// Long: one case per client error, each with the status and field it must give.
#[test]
fn client_errors_are_4xx_and_name_the_field_where_there_is_one() {
    let id = courier_core::DeliveryId::new("d1");
    let with_field: Vec<(BrokerError, StatusCode, &str, &str)> = vec![
        (
            BrokerError::invalid("busy_patterns", "\"(\" is not a valid regex"),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "busy_patterns",
        ),
        (
            BrokerError::agent_exists("bob".into()),
            StatusCode::CONFLICT,
            "agent_exists",
            "name",
        ),
        (
            ClientError::NameTaken {
                name: "bob".into(),
                host: "h2".into(),
            }
            .into(),
            StatusCode::CONFLICT,
            "name_taken",
            "name",
        ),
        (
            courier_presets::PresetError::CliNotInstalled {
                cli: "claude".into(),
                preset: "claude".into(),
                hint: "install it".into(),
            }
            .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cli_not_installed",
            "preset",
        ),
        (
            courier_presets::PresetError::UnknownPreset {
                name: "ghost".into(),
                known: "shell".into(),
            }
            .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "preset",
            "preset",
        ),
        (
            TerminalError::Spawn {
                agent: "bob".into(),
                command: "/nowhere/cli".into(),
                reason: "No such file or directory".into(),
            }
            .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "spawn_failed",
            "command",
        ),
        (
            courier_terminal::error::compile("prompt", "(")
                .map(|_| ())
                .unwrap_err()
                .into(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "prompt_pattern",
        ),
    ];
    for (error, status, code, field) in with_field {
        let shown = error.to_string();
        assert!(matches!(error, BrokerError::Client(_)), "{shown}");
        let (s, c, details) = parts(error);
        assert_eq!((s, c), (status, code), "{shown}");
        assert_eq!(details["field"], json!(field), "{shown}");
    }
    let without_field: Vec<(BrokerError, StatusCode, &str)> = vec![
        (
            BrokerError::unknown_agent("ghost"),
            StatusCode::NOT_FOUND,
            "unknown_agent",
        ),
        (
            TerminalError::WriterClosed {
                agent: "bob".into(),
            }
            .into(),
            StatusCode::CONFLICT,
            "agent_not_running",
        ),
        (
            TerminalError::NoTerminal {
                agent: "gem".into(),
            }
            .into(),
            StatusCode::CONFLICT,
            "agent_headless",
        ),
        (
            StoreError::UnknownDelivery { id: id.clone() }.into(),
            StatusCode::NOT_FOUND,
            "unknown_delivery",
        ),
        (
            StoreError::Refused(CoreError::EmptyBody).into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_message",
        ),
        (
            ClientError::InvalidCombination {
                fields: &["command", "preset"],
                problem: "give either a command or a preset, not both",
            }
            .into(),
            StatusCode::BAD_REQUEST,
            "invalid_combination",
        ),
        (
            ClientError::OnOtherHost {
                id,
                host: "h2".into(),
            }
            .into(),
            StatusCode::BAD_REQUEST,
            "on_other_host",
        ),
    ];
    for (error, status, code) in without_field {
        let shown = error.to_string();
        assert!(matches!(error, BrokerError::Client(_)), "{shown}");
        assert!(status.is_client_error(), "{shown}");
        let (s, c, _) = parts(error);
        assert_eq!((s, c), (status, code), "{shown}");
    }
}

// Long: one case per fault, each with the status and code it must give.
#[test]
fn faults_are_5xx_with_a_code_that_says_what_failed() {
    let path = std::path::PathBuf::from("/state/courier.db");
    let faults: Vec<(BrokerError, StatusCode, &str)> = vec![
        (
            StoreError::DiskFull { path: path.clone() }.into(),
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
        ),
        (
            TerminalError::Write {
                agent: "bob".into(),
                len: 3,
                source: io(std::io::ErrorKind::BrokenPipe),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "terminal_failed",
        ),
        (
            TerminalError::Host {
                agent: "bob".into(),
                socket: "/state/sessions/bob.sock".into(),
                detail: "cannot open the log".into(),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "terminal_failed",
        ),
        (
            crate::state_dir::StateDirError::Io {
                action: "write",
                path: path.clone(),
                source: io(std::io::ErrorKind::PermissionDenied),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "state_dir_failed",
        ),
        (
            courier_presets::PresetError::Read {
                path: path.clone(),
                source: io(std::io::ErrorKind::PermissionDenied),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "preset_file_unreadable",
        ),
        (
            BrokerError::no_randomness("the agent token", getrandom::Error::UNSUPPORTED),
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_randomness",
        ),
        (
            Fault::Bind {
                address: "127.0.0.1:7420".into(),
                source: io(std::io::ErrorKind::AddrInUse),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot_listen",
        ),
        (
            Fault::SessionsDir {
                dir: path.clone(),
                source: io(std::io::ErrorKind::PermissionDenied),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "sessions_dir_failed",
        ),
        (
            BrokerError::launch(
                "read the broker's working directory",
                io(std::io::ErrorKind::NotFound),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "launch_failed",
        ),
        (
            Fault::Encode {
                what: "the agent spec",
                source: serde_json::from_str::<u8>("x").unwrap_err(),
            }
            .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "encode_failed",
        ),
        (
            crate::federation::FederationError::NotJoined.into(),
            StatusCode::SERVICE_UNAVAILABLE,
            "federation_failed",
        ),
        (
            Fault::FederationUnavailable("timed out".into()).into(),
            StatusCode::SERVICE_UNAVAILABLE,
            "federation_unavailable",
        ),
        (
            BrokerError::shutting_down(),
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
        ),
    ];
    for (error, status, code) in faults {
        let shown = error.to_string();
        assert!(matches!(error, BrokerError::Fault(_)), "{shown}");
        assert!(status.is_server_error(), "{shown}");
        let api = ApiError::from(error);
        assert_eq!((api.status, api.code), (status, code), "{shown}");
        assert_eq!(api.message, shown, "the message is the fault's own");
    }
}

#[tokio::test]
async fn plain_text_errors_become_json_with_status_and_headers_kept() {
    let plain = Response::builder()
        .status(StatusCode::PAYLOAD_TOO_LARGE)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from("length limit exceeded"))
        .unwrap();
    let json = json_errors(plain).await;
    assert_eq!(json.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(
        body_json(json).await,
        json!({"error": {"code": "body_too_large", "message": "length limit exceeded"}})
    );

    let empty = Response::builder()
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .header(ALLOW, "GET,HEAD")
        .body(Body::empty())
        .unwrap();
    let json = json_errors(empty).await;
    assert_eq!(json.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json.headers()[ALLOW], "GET,HEAD");
    let v = body_json(json).await;
    assert_eq!(v["error"]["code"], "method_not_allowed");
    assert_eq!(v["error"]["message"], "Method Not Allowed");
}

#[tokio::test]
async fn json_errors_and_successes_pass_through_untouched() {
    let ok = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Body::from("metrics"))
        .unwrap();
    let out = json_errors(ok).await;
    assert_eq!(out.headers()[CONTENT_TYPE], "text/plain; version=0.0.4");
    let api = ApiError::bad_request("no").into_response();
    let v = body_json(json_errors(api).await).await;
    assert_eq!(
        v,
        json!({"error": {"code": "bad_request", "message": "no"}})
    );
}
