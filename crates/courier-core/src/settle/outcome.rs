//! How an injection ended: the report every settlement starts from.

use serde::{Deserialize, Serialize};

use crate::pacing;

/// How an injection ended, as the terminal judged it. The same variants
/// and wire form as the terminal's `DeliveryOutcome`, so that type can
/// become this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum InjectionOutcome {
    /// The echo was seen and the text was submitted.
    Verified,
    /// No proof either way; typing it again would risk a double.
    Unverified { reason: String },
    /// Nothing (provably) reached a live agent.
    Failed { reason: String },
}

impl InjectionOutcome {
    /// The outcome as pacing sees it: only a proof speeds pacing up, and
    /// only a failure backs it off.
    pub fn pacing(&self) -> pacing::Outcome {
        match self {
            InjectionOutcome::Verified => pacing::Outcome::Verified,
            InjectionOutcome::Unverified { .. } => pacing::Outcome::Unverified,
            InjectionOutcome::Failed { .. } => pacing::Outcome::Failed,
        }
    }
}
