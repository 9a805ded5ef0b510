//! A spawn's durable part: the agent, its channel memberships and its
//! initial task (a normal message to it) in one transaction, so a crash
//! right after the spawn leaves either all of them or none.

use courier_core::{Acl, NewMessage};

use super::Result;
use super::{agents, send};
use crate::types::{AgentRecord, SendOutcome, SendReceipt};
use crate::writer::Ctx;

/// Registers `record`, joins `channels`, and sends `task` (if any) to the
/// agent. A task whose idempotency key was already used by its sender is
/// not sent again (the receipt says `duplicate`).
pub(crate) fn register(
    ctx: &mut Ctx<'_>,
    record: AgentRecord,
    channels: Vec<String>,
    task: Option<NewMessage>,
) -> Result<(AgentRecord, Option<SendReceipt>)> {
    let name = record.name.clone();
    let stored = agents::upsert_agent(ctx, record)?;
    for channel in &channels {
        agents::join(ctx, channel, &name)?;
    }
    // The task is the owner's own instruction to the agent it starts:
    // the ACL (which rules agents' messages) has no say in it.
    let receipt = match task {
        Some(task) => match send::send(ctx, task, &Acl::allow_all())? {
            SendOutcome::Sent(receipt) => Some(receipt),
            SendOutcome::Refused { .. } => None,
        },
        None => None,
    };
    Ok((stored, receipt))
}
