//! [`MemoryBus`]: publish/subscribe within one process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use taskforce_domain::{Bus, Handler};

/// Delivers each message to this process's subscribers, synchronously.
#[derive(Default, Clone)]
pub struct MemoryBus {
    subscribers: Arc<Mutex<HashMap<String, Vec<Handler>>>>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus").finish_non_exhaustive()
    }
}

impl Bus for MemoryBus {
    fn publish(&self, topic: &str, payload: &str) {
        let handlers =
            self.subscribers.lock().unwrap_or_else(|p| p.into_inner()).get(topic).cloned().unwrap_or_default();
        for handler in handlers {
            handler(payload);
        }
    }

    fn subscribe(&self, topic: &str, handler: Handler) {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner()).entry(topic.to_owned()).or_default().push(handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_to_the_subscribers_of_its_topic_only() {
        let bus = MemoryBus::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        bus.subscribe(
            "a",
            Arc::new(move |payload| sink.lock().unwrap_or_else(|p| p.into_inner()).push(payload.to_owned())),
        );
        bus.publish("a", "one");
        bus.publish("b", "other");
        bus.publish("a", "two");
        assert_eq!(*seen.lock().unwrap_or_else(|p| p.into_inner()), vec!["one", "two"]);
    }
}
