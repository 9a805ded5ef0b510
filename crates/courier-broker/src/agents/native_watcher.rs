//! A headless agent's watcher, in place of the screen watcher: ready once
//! its protocol's handshake is done (`agent_ready`, `ready_by: "protocol"`),
//! busy while a turn runs, and the exit marked in the status (its event is
//! the supervisor's, in `lifecycle/`).

use std::sync::Arc;

use courier_core::event::EventKind;
use courier_terminal::{NotReady, Terminal};

use super::context::AgentContext;

/// Watches a headless agent until it exits.
pub async fn watch_native(ctx: Arc<AgentContext>) {
    let Some(native) = ctx.session.native().cloned() else {
        return;
    };
    let cwd = ctx.workdir();
    tokio::select! {
        done = native.handshake(&cwd) => match done {
            Ok(session) => {
                tracing::info!(%session, protocol = native.protocol().as_str(), "native session started");
                ctx.status.send_modify(|s| {
                    s.ready = true;
                    s.not_ready = None;
                });
                ctx.record(EventKind::AgentReady {
                    name: ctx.spec.name.clone(),
                    ready_by: "protocol".into(),
                })
                .await;
                ctx.wake.notify_one();
            }
            Err(e) => {
                tracing::warn!(error = %e, protocol = native.protocol().as_str(), "the headless agent's handshake failed");
                ctx.status
                    .send_modify(|s| s.not_ready = Some(format!("{} handshake failed: {e}", native.protocol().as_str())));
            }
        },
        _ = ctx.session.wait_exit() => {}
    }
    follow_turns(&ctx, native.turn()).await;
}

/// Busy while a turn runs, until the process exits.
async fn follow_turns(ctx: &AgentContext, mut turn: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            exit = ctx.session.wait_exit() => {
                ctx.status.send_modify(|s| {
                    s.ready = false;
                    s.busy = false;
                    s.exited = Some(exit);
                    s.not_ready = Some(NotReady::Exited.to_string());
                });
                ctx.wake.notify_one();
                return;
            }
            changed = turn.changed() => {
                if changed.is_err() {
                    // The client is gone with its process: wait for the exit.
                    ctx.session.wait_exit().await;
                    continue;
                }
                let busy = *turn.borrow_and_update();
                ctx.status.send_modify(|s| s.busy = busy);
                let name = ctx.spec.name.clone();
                ctx.record(if busy {
                    EventKind::AgentBusy { name }
                } else {
                    EventKind::AgentIdle { name }
                })
                .await;
            }
        }
    }
}
