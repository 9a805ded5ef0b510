//! The live event bus: the store's committed events, in `seq` order, fanned
//! out to every stream client through a tokio broadcast channel.
//!
//! The channel holds `Arc<Event>`: tokio allocates all its slots up front,
//! and 8192 whole events were 1.4 MB of an idle broker's 3.5 MB of heap
//! (`benchmarks/profiles/memory-idle.md`); 8192 pointers are 64 KB.

use std::sync::Arc;

use courier_core::Event;
use courier_store::{Store, StoreError};
use tokio::sync::broadcast;

/// Events kept for slow clients before they must re-read the store.
const CAPACITY: usize = 8192;

#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl EventBus {
    /// Starts a thread that forwards the store's committed events.
    pub async fn start(store: &Store) -> Result<EventBus, StoreError> {
        let subscription = store.subscribe_async().await?;
        let (tx, _) = broadcast::channel(CAPACITY);
        let forward = tx.clone();
        std::thread::Builder::new()
            .name("courier-event-bus".into())
            .spawn(move || {
                // Ends when the store's writer drops the sender.
                for event in subscription.events {
                    // No receiver right now is fine: clients catch up from the store.
                    let _ = forward.send(Arc::new(event));
                }
            })
            .map_err(|e| StoreError::WriterGone {
                path: std::path::PathBuf::from(format!("event bus thread: {e}")),
            })?;
        Ok(EventBus { tx })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}
