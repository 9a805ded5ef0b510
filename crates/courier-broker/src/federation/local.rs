//! What federation uses of this broker: the shared services (store, event
//! bus, shutdown) and the registry of this host's agents (to wake the ones
//! a remote delivery is for). Never the `Local` facade: federation sits
//! below it.

use std::sync::Arc;

use courier_store::Store;

use crate::agents::registry::Registry;
use crate::bus::EventBus;
use crate::services::Services;
use crate::shutdown::Shutdown;

/// This host, as federation sees it.
#[derive(Clone)]
pub struct Local {
    pub services: Services,
    pub registry: Arc<Registry>,
}

impl Local {
    pub fn store(&self) -> &Store {
        &self.services.store
    }

    /// The store, owned, for work moved off the runtime.
    pub fn store_handle(&self) -> Arc<Store> {
        self.services.store.clone()
    }

    pub fn bus(&self) -> &EventBus {
        &self.services.bus
    }

    pub fn shutdown_signal(&self) -> &Shutdown {
        &self.services.shutdown
    }

    /// Wakes the delivery loops of these agents (those of this host).
    pub async fn wake_agents(&self, names: &[String]) {
        self.registry.wake(names).await;
    }
}
