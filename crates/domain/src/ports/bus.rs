//! [`Bus`]: messages to every server instance (publish/subscribe).

use std::sync::Arc;

/// What a subscriber does with a message's payload.
pub type Handler = Arc<dyn Fn(&str) + Send + Sync>;

/// Delivers messages to every running instance, this one included: through
/// Redis when configured, within the process otherwise. Delivery is best
/// effort and fast; whatever must not be lost is stored elsewhere first (a
/// notification is written to its tenant's schema before it is published).
pub trait Bus: Send + Sync + 'static {
    /// Publishes a message on a topic.
    fn publish(&self, topic: &str, payload: &str);
    /// Calls `handler` for every message published on `topic` from now on.
    fn subscribe(&self, topic: &str, handler: Handler);
}
