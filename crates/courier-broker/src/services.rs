//! What every component of the broker shares, and nothing else: the
//! configuration, the store, the live event bus, the metrics and the
//! shutdown signal. Components take a [`Services`] (cheap to clone) plus
//! the parts they own, never the [`crate::Broker`] facade.

use std::sync::Arc;

use courier_store::Store;

use crate::bus::EventBus;
use crate::config::BrokerConfig;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// The broker's shared services.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<BrokerConfig>,
    pub store: Arc<Store>,
    pub bus: EventBus,
    pub metrics: Arc<Metrics>,
    pub shutdown: Shutdown,
}

impl Services {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, owned: for tasks that outlive a borrow of the broker.
    pub fn store_handle(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub fn shutdown_signal(&self) -> &Shutdown {
        &self.shutdown
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }
}
