//! `courier token create|list|revoke`: observer tokens (owner only).

use std::process::ExitCode;

use courier_protocol::tokens::{TokenList, TokenRequest, TokenView};
use serde_json::{Value, json};

use crate::cli::{TokenCommand, TokenCreateArgs};
use crate::client::{Client, decode, segment};
use crate::output::{cell_of, table};

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
                let list: TokenList = decode(&v, "the token listing")?;
                let rows: Vec<Vec<String>> = list
                    .tokens
                    .iter()
                    .map(|t| {
                        vec![
                            cell_of(&t.id),
                            cell_of(&t.label),
                            cell_of(&t.kind),
                            cell_of(&t.state),
                            cell_of(&t.created_at),
                            cell_of(&t.expires_at),
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
            } else {
                let token: TokenView = decode(&v, "a revocation")?;
                if token.changed == Some(false) {
                    println!("token {} was already revoked", cell_of(&token.id));
                } else {
                    println!(
                        "token {} revoked: it is refused from now on",
                        cell_of(&token.id)
                    );
                }
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
    let body = TokenRequest {
        kind: "observer".into(),
        label: args.name,
        expires_in_s: args.expires,
    };
    let v: Value = client.post("/v1/tokens", &json!(body)).await?;
    if json_out {
        crate::output::json(&v);
    } else {
        let token: TokenView = decode(&v, "a token's creation")?;
        println!("{}", cell_of(&token.token));
        eprintln!(
            "observer token {} ({}), expires {}: shown this once; only its hash is kept. \
             Use it as COURIER_TOKEN or `Authorization: Bearer …`; revoke it with \
             `courier token revoke {}`.",
            cell_of(&token.id),
            cell_of(&token.label),
            match &token.expires_at {
                None => "never".to_string(),
                Some(at) => cell_of(at),
            },
            cell_of(&token.id)
        );
    }
    Ok(ExitCode::SUCCESS)
}
