//! A field that is either absent or present, possibly `null` (the agent
//! view's `preset` of a local agent, a done agent's `result`): serde alone
//! reads a `null` as absent, which would write it back absent.

use serde::{Deserialize, Deserializer};

/// `#[serde(default, deserialize_with = "present::or_null", skip_serializing_if = "Option::is_none")]`
/// on an `Option<Option<T>>`: absent → `None`, `null` → `Some(None)`.
pub fn or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
