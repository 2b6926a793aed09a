//! [`FakeBus`]: records what is published, for tests to read.

use std::sync::Mutex;

use taskforce_domain::{Bus, Handler};

/// A bus that keeps every published message and delivers none.
#[derive(Debug, Default)]
pub struct FakeBus {
    published: Mutex<Vec<(String, String)>>,
}

impl FakeBus {
    /// Every `(topic, payload)` published so far, in order.
    pub fn published(&self) -> Vec<(String, String)> {
        self.published.lock().map(|list| list.clone()).unwrap_or_default()
    }
}

impl Bus for FakeBus {
    fn publish(&self, topic: &str, payload: &str) {
        if let Ok(mut list) = self.published.lock() {
            list.push((topic.to_owned(), payload.to_owned()));
        }
    }

    fn subscribe(&self, _: &str, _: Handler) {}
}
