//! The second witness of a served agent's delivery: its protocol proved
//! the turn that carries the message, and the TUI sharing that protocol
//! should then show the message in its transcript. What the screen
//! showed is recorded as `delivery_on_screen` (`shown`, or the rows it
//! showed instead); it never changes the protocol's verdict, which is the
//! stronger witness, and never delays the next delivery.
//!
//! The screen is read like a keystroke echo (`courier_terminal::verify`):
//! counts of the framed text's pieces against a baseline taken before the
//! prompt was written, so an earlier message with the same header proves
//! nothing; the whole text, or its header (with the message id) and its
//! end, must have appeared since.

use std::sync::Arc;
use std::time::Duration;

use courier_core::event::EventKind;
use courier_core::{Delivery, Message};
use courier_store::Store;
use courier_terminal::Terminal;
use courier_terminal::verify::{Counts, Expectation, count, find_echo};

use super::watchdog::{EXCERPT_ROWS, excerpt};
use crate::agents::context::AgentContext;
use crate::terminals::AgentTerminal;

/// How long the TUI has to show the message once the protocol proved it.
/// Its own rendering takes a frame or two; a TUI that shows nothing in
/// this long is not going to.
pub const WINDOW: Duration = Duration::from_secs(5);

/// The screen before the prompt was written, for a delivery into a served
/// agent.
pub struct ScreenWitness {
    agent: String,
    /// Scrollback rows read besides the screen (the delivery options'):
    /// a long reply may have pushed the message off the top by then.
    scrollback_rows: usize,
    session: Arc<AgentTerminal>,
    store: Arc<Store>,
    expected: Expectation,
    baseline: Counts,
}

impl ScreenWitness {
    /// Takes the baseline for `text`, when `ctx`'s agent has a TUI that
    /// shares the protocol carrying it (a headless agent has no screen).
    pub fn before(ctx: &AgentContext, text: &str) -> Option<ScreenWitness> {
        ctx.served.session()?;
        let expected = Expectation::new(text, ctx.options.collapsed.clone());
        let scrollback_rows = ctx.options.scrollback_rows;
        let baseline = count(&ctx.session.snapshot(scrollback_rows), &expected);
        Some(ScreenWitness {
            agent: ctx.spec.name.clone(),
            scrollback_rows,
            session: ctx.session.clone(),
            store: ctx.store.clone(),
            expected,
            baseline,
        })
    }

    /// Watches the screen (in a task of its own) for at most [`WINDOW`]
    /// and records what it showed.
    pub fn record_after(self, delivery: &Delivery, message: &Message) {
        let (delivery_id, message_id) = (delivery.id.clone(), message.id.clone());
        tokio::spawn(async move {
            let (shown, screen) = self.watch(WINDOW).await;
            let kind = EventKind::DeliveryOnScreen {
                delivery_id,
                message_id,
                agent: self.agent.clone(),
                shown,
                screen,
            };
            if let Err(e) = self.store.append_event_async(kind).await {
                tracing::warn!(error = %e, "cannot record what the screen showed");
            }
        });
    }

    /// Whether the message showed within `window`; the screen's last
    /// non-blank rows when it did not.
    async fn watch(&self, window: Duration) -> (bool, Vec<String>) {
        let mut changes = self.session.subscribe();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            changes.borrow_and_update();
            let snapshot = self.session.snapshot(self.scrollback_rows);
            if find_echo(&snapshot, &self.expected, &self.baseline).is_some() {
                return (true, Vec::new());
            }
            let changed = tokio::time::timeout_at(deadline, changes.changed()).await;
            if !matches!(changed, Ok(Ok(()))) {
                return (false, excerpt(&snapshot.rows, EXCERPT_ROWS));
            }
        }
    }
}
