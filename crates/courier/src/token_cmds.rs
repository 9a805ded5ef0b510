//! `courier token create|list|revoke`: observer tokens (owner only).

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::{TokenCommand, TokenCreateArgs};
use crate::client::{Client, segment};
use crate::output::{cell, table};

pub async fn run(
    client: &Client,
    command: TokenCommand,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(args) => create(client, args, json_out).await,
        TokenCommand::List => {
            let v = client.get("/v1/tokens").await?;
            if json_out {
                crate::output::json(&v);
            } else {
                let rows: Vec<Vec<String>> = v["tokens"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        vec![
                            cell(&t["id"]),
                            cell(&t["label"]),
                            cell(&t["kind"]),
                            cell(&t["state"]),
                            cell(&t["created_at"]),
                            cell(&t["expires_at"]),
                        ]
                    })
                    .collect();
                table(
                    &["id", "label", "kind", "state", "created", "expires"],
                    &rows,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id } => {
            let v = client
                .delete(&format!("/v1/tokens/{}", segment(&id)))
                .await?;
            if json_out {
                crate::output::json(&v);
            } else if v["changed"] == json!(false) {
                println!("token {} was already revoked", cell(&v["id"]));
            } else {
                println!(
                    "token {} revoked: it is refused from now on",
                    cell(&v["id"])
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn create(
    client: &Client,
    args: TokenCreateArgs,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let mut body = json!({"kind": "observer"});
    if let Some(label) = args.name {
        body["label"] = json!(label);
    }
    if let Some(seconds) = args.expires {
        body["expires_in_s"] = json!(seconds);
    }
    let v: Value = client.post("/v1/tokens", &body).await?;
    if json_out {
        crate::output::json(&v);
    } else {
        println!("{}", cell(&v["token"]));
        eprintln!(
            "observer token {} ({}), expires {}: shown this once; only its hash is kept. \
             Use it as COURIER_TOKEN or `Authorization: Bearer …`; revoke it with \
             `courier token revoke {}`.",
            cell(&v["id"]),
            cell(&v["label"]),
            if v["expires_at"].is_null() {
                "never".to_string()
            } else {
                cell(&v["expires_at"])
            },
            cell(&v["id"])
        );
    }
    Ok(ExitCode::SUCCESS)
}
