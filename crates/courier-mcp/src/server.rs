//! The MCP server: one tool per thing an agent does with Courier. Every
//! tool acts as the agent whose token this server holds. A broker error is
//! a tool error (`isError: true`) carrying the broker's message, so the
//! model reads why and can fix its call; protocol errors are left to rmcp
//! (unknown tool, arguments that do not match the schema).

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;

use crate::args::{
    ChannelArgs, MessageStatusArgs, ReadInboxArgs, ReportDoneArgs, SendMessageArgs, SetModeArgs,
    non_empty,
};
use crate::client::{BrokerClient, ClientError, Outgoing};
use crate::config::Config;
use crate::types::{Inbox, InboxRead};
use crate::{format, inbox};

/// The server's name in `initialize`, as presets register it.
pub const SERVER_NAME: &str = "courier";

#[derive(Clone)]
pub struct CourierServer {
    client: std::sync::Arc<BrokerClient>,
    tool_router: ToolRouter<Self>,
}

/// Text for the model plus the broker's answer as structured content.
fn reply<T: Serialize>(
    result: Result<T, ClientError>,
    text: impl FnOnce(&T) -> String,
) -> CallToolResult {
    match result {
        Ok(value) => {
            let text = format::shown(&text(&value));
            let mut out = CallToolResult::success(vec![ContentBlock::text(text)]);
            out.structured_content = serde_json::to_value(&value).ok();
            out
        }
        Err(e) => tool_error(e.to_string()),
    }
}

fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format::shown(&message.into()))])
}

/// What the model is told about the server at the handshake.
pub fn instructions(agent: &str) -> String {
    format!(
        "Courier delivers messages between AI agents running side by side. You are agent \
         \"{agent}\". Messages for you are typed into your terminal with a header line like \
         `[courier] from bob to you (direct) | msg 01J... | thread 01H...` followed by the body. \
         Use send_message to write to another agent (by name), a #channel or * (everyone); to \
         answer a message, pass its msg id as `thread`. list_agents shows who is there and \
         whether they are ready; read_inbox hands you messages still waiting (they are then \
         not typed into your terminal) and shows the recent ones, including any you may have \
         missed, and tells their senders you read them. message_status shows who has read a \
         message you sent. set_delivery_mode chooses when messages are typed in (idle, \
         immediate, or manual: held until flush_inbox). When you finish the task you were \
         given, call report_done with your result. You always send as \"{agent}\"."
    )
}

#[tool_router]
impl CourierServer {
    pub fn new(config: Config) -> CourierServer {
        CourierServer {
            client: std::sync::Arc::new(BrokerClient::new(config)),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Send a message to another agent. `to` is an agent's name (a direct \
                       message), a channel like \"#backend\" (every member except you) or \"*\" \
                       (every other agent). To reply to a message you received, set `thread` to \
                       its msg id. The message is stored durably and typed into each recipient's \
                       terminal when that agent is ready. Returns the new message id and the \
                       recipients. You always send as yourself.",
        annotations(
            title = "Send a message",
            read_only_hint = false,
            open_world_hint = false
        )
    )]
    async fn send_message(
        &self,
        Parameters(args): Parameters<SendMessageArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        if args.from.is_some() {
            return Ok(tool_error(format!(
                "send_message has no `from`: you always send as \"{}\". Call it again \
                 without `from`; nothing was sent.",
                self.client.agent()
            )));
        }
        let to = args.to.trim().to_string();
        if to.is_empty() {
            return Ok(tool_error(
                "`to` is empty: give an agent name, a #channel or *",
            ));
        }
        let message = Outgoing {
            to: to.clone(),
            body: args.body,
            thread: non_empty(args.thread),
            idempotency_key: non_empty(args.idempotency_key),
        };
        let result = self.client.send(&message).await;
        Ok(reply(result, |r| format::send_receipt(&to, r)))
    }

    #[tool(
        description = "List the agents connected to this Courier broker: each one's name, \
                       its state as the broker sees it (idle, ready or done: at its prompt; \
                       busy: working; starting, held or stuck: messages wait; exited, \
                       restarting or dead; remote or away: on another host), how many \
                       messages wait for it, and the channels it belongs to. Use it to \
                       find whom to message.",
        annotations(title = "List agents", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_agents(&self) -> Result<CallToolResult, ErrorData> {
        let me = self.client.agent().to_string();
        let result = self.client.agents().await;
        Ok(reply(result, |list| format::agent_list(&me, list)))
    }

    #[tool(
        description = "List the channels and their members (and whether you are one). A \
                       message sent to \"#name\" reaches every member except the sender.",
        annotations(
            title = "List channels",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_channels(&self) -> Result<CallToolResult, ErrorData> {
        let me = self.client.agent().to_string();
        let result = self.client.channels().await;
        Ok(reply(result, |list| format::channel_list(&me, list)))
    }

    #[tool(
        description = "Join a channel (yourself only), so that messages sent to it reach you. \
                       The channel is created if nobody is in it yet. Joining one you are \
                       already in changes nothing.",
        annotations(
            title = "Join a channel",
            read_only_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn join_channel(
        &self,
        Parameters(args): Parameters<ChannelArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = self.client.join(&args.channel).await;
        Ok(reply(result, format::joined))
    }

    #[tool(
        description = "Leave a channel (yourself only): messages sent to it stop reaching you.",
        annotations(
            title = "Leave a channel",
            read_only_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn leave_channel(
        &self,
        Parameters(args): Parameters<ChannelArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = self.client.leave(&args.channel).await;
        Ok(reply(result, format::left))
    }

    #[tool(
        description = "Read your messages. First, messages still waiting to be typed into \
                       your terminal are handed over here instead: they are marked read and \
                       will not also be typed in. Then the most recent other messages sent to \
                       you (newest first, default 20), each with its sender, msg id, thread, \
                       body and delivery state: verified (shown in your terminal), unverified \
                       (typed but not seen: you may have missed it), read (you took it in), \
                       queued or being typed (its text is not repeated here, so nothing \
                       reaches you twice; in manual mode it is held until flush_inbox), \
                       dropped or dead (never reached you). Use it to catch up when a message \
                       seems cut off or missing, or after a restart. Messages it shows are \
                       marked read, so their senders know you took them in.",
        annotations(
            title = "Read my inbox",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn read_inbox(
        &self,
        Parameters(args): Parameters<ReadInboxArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let limit = args.effective_limit();
        // Claim before listing, so what is claimed is listed as read, not
        // as queued; a failed claim only means nothing is handed over.
        let claimed = match self.client.claim(limit).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim queued deliveries");
                Inbox::default()
            }
        };
        let view = match self.client.inbox(limit).await {
            Ok(recent) => inbox::assemble(claimed, recent),
            // Claimed deliveries are read now: showing them is the only way
            // they reach the model, so an inbox error must not hide them.
            Err(e) if !claimed.deliveries.is_empty() => InboxRead {
                listing_error: Some(e.to_string()),
                ..inbox::assemble(claimed, Inbox::default())
            },
            Err(e) => return Ok(tool_error(e.to_string())),
        };
        let view = self.with_mode_if_held(view).await;
        let shown = inbox::to_mark_read(&view);
        if !shown.is_empty()
            && let Err(e) = self.client.mark_read(&shown).await
        {
            tracing::warn!(error = %e, "cannot mark the inbox read");
        }
        Ok(reply(Ok(view), format::inbox_read))
    }

    #[tool(
        description = "Choose when messages for you are typed into your terminal (for you \
                       only; kept across restarts). \"idle\" (the default): when you are back \
                       at your prompt, between tasks. \"immediate\": as soon as they arrive, \
                       even while you are working. \"manual\": held, durably, until you call \
                       flush_inbox; use it to work without interruptions.",
        annotations(
            title = "Set my delivery mode",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn set_delivery_mode(
        &self,
        Parameters(args): Parameters<SetModeArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = self.client.set_mode(args.mode).await;
        Ok(reply(result, format::mode_set))
    }

    #[tool(
        description = "Release the messages held for you (in manual delivery mode, nothing \
                       is typed into your terminal until you flush). Everything queued for \
                       you right now is let through once: typed into your terminal when you \
                       are ready, or handed over by read_inbox if you call it first. Your mode \
                       does not change, so later messages are held again. Returns how many \
                       were released.",
        annotations(
            title = "Flush my held messages",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn flush_inbox(&self) -> Result<CallToolResult, ErrorData> {
        let result = self.client.flush().await;
        Ok(reply(result, format::flushed))
    }

    #[tool(
        description = "Show where a message you sent (or received) stands, per recipient: \
                       whether it has read it (and when), or whether it is still queued, was \
                       typed into its terminal and seen on screen (verified) or not \
                       (unverified), or never arrived (dropped, dead). Use it to learn who \
                       has read your message before you wait for or chase an answer. \
                       `message_id` is the msg id send_message returned.",
        annotations(
            title = "Who has read a message",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn message_status(
        &self,
        Parameters(args): Parameters<MessageStatusArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = args.message_id.trim().to_string();
        if id.is_empty() {
            return Ok(tool_error(
                "`message_id` is empty: give the msg id that send_message returned",
            ));
        }
        let result = self.client.message(&id).await;
        Ok(reply(result, format::message_status))
    }

    #[tool(
        description = "Report that you finished the task you were given, with an optional \
                       result (a short summary, a path, a verdict). Whoever spawned you sees \
                       you as done, with the result, in Courier's agent list and event log \
                       (agent_done). Call it once, when the task is complete; calling it again \
                       replaces the result.",
        annotations(
            title = "Report my task done",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn report_done(
        &self,
        Parameters(args): Parameters<ReportDoneArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = self.client.report_done(non_empty(args.result)).await;
        Ok(reply(result, format::done_reported))
    }

    #[tool(
        description = "Tell which agent you are on this Courier broker (your name as other \
                       agents see it).",
        annotations(title = "Who am I", read_only_hint = true, open_world_hint = false)
    )]
    async fn whoami(&self) -> Result<CallToolResult, ErrorData> {
        let url = self.client.url().to_string();
        let result = self.client.whoami().await;
        Ok(reply(result, |me| format::whoami(me, &url)))
    }
}

impl CourierServer {
    /// Adds the agent's mode when a queued delivery is withheld, since the
    /// mode is what tells the model why (and whether flush_inbox helps).
    async fn with_mode_if_held(&self, mut view: InboxRead) -> InboxRead {
        if inbox::has_withheld_queued(&view) {
            match self.client.me().await {
                Ok(me) => view.mode = me.mode.map(|mode| mode.as_str().to_string()),
                Err(e) => tracing::debug!(error = %e, "cannot read the agent's mode"),
            }
        }
        view
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CourierServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(instructions(self.client.agent()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> CourierServer {
        CourierServer::new(Config {
            url: "http://127.0.0.1:9".into(),
            agent: "alice".into(),
            token: "t".into(),
        })
    }

    #[test]
    fn every_tool_is_listed_with_a_description() {
        let tools = server().tool_router.list_all();
        let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "flush_inbox",
                "join_channel",
                "leave_channel",
                "list_agents",
                "list_channels",
                "message_status",
                "read_inbox",
                "report_done",
                "send_message",
                "set_delivery_mode",
                "whoami"
            ]
        );
        for tool in &tools {
            let description = tool.description.as_deref().unwrap_or_default();
            assert!(description.len() > 40, "{}: {description:?}", tool.name);
        }
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_a_tool_error() {
        let result = server().whoami().await.unwrap();
        assert_eq!(result.is_error, Some(true));
        let text = format!("{:?}", result.content);
        assert!(text.contains("cannot reach the Courier broker"), "{text}");
    }
}
