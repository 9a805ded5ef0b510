//! The live event bus: the store's committed events, in `seq` order, fanned
//! out to every stream client through a tokio broadcast channel.

use courier_core::Event;
use courier_store::{Store, StoreError};
use tokio::sync::broadcast;

/// Events kept for slow clients before they must re-read the store.
const CAPACITY: usize = 8192;

#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
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
                    let _ = forward.send(event);
                }
            })
            .map_err(|e| StoreError::WriterGone {
                path: std::path::PathBuf::from(format!("event bus thread: {e}")),
            })?;
        Ok(EventBus { tx })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
