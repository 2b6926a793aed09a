//! [`RedisBus`]: publish/subscribe across instances over Redis.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use deadpool_redis::redis::{self, cmd};
use taskforce_domain::{Bus, Handler};

use super::Redis;

/// Channel name of a topic.
fn channel(topic: &str) -> String {
    format!("tf:bus:{topic}")
}

type Subscribers = Arc<Mutex<HashMap<String, Vec<Handler>>>>;

/// Messages through Redis channels `tf:bus:<topic>`. One background task per
/// instance holds the subscription and reconnects when Redis comes back;
/// messages published while an instance is disconnected do not reach it
/// (what matters is stored elsewhere first).
///
/// A message reaches this instance's own subscribers directly, before and
/// whatever Redis does; on the channel it carries the instance's id, so the
/// copy that comes back is skipped. A single instance therefore keeps
/// delivering while Redis is down.
pub struct RedisBus {
    redis: Arc<Redis>,
    subscribers: Subscribers,
    started: Mutex<bool>,
    instance: String,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A bus over a shared Redis pool.
    pub fn new(redis: Arc<Redis>) -> Self {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        Self { redis, subscribers: Arc::default(), started: Mutex::new(false), instance }
    }

    fn start(&self) {
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        if *started {
            return;
        }
        let Some(handle) = self.redis.handle() else { return };
        *started = true;
        let (url, subscribers, instance) =
            (self.redis.url().to_owned(), self.subscribers.clone(), self.instance.clone());
        handle.spawn(async move {
            loop {
                if let Err(error) = listen(&url, &subscribers, &instance).await {
                    tracing::debug!(%error, "bus subscription lost; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}

/// Calls the topic's subscribers.
fn deliver(subscribers: &Subscribers, topic: &str, payload: &str) {
    let handlers = subscribers.lock().unwrap_or_else(|p| p.into_inner()).get(topic).cloned().unwrap_or_default();
    for handler in handlers {
        handler(payload);
    }
}

async fn listen(url: &str, subscribers: &Subscribers, instance: &str) -> redis::RedisResult<()> {
    use futures_util::StreamExt;
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe("tf:bus:*").await?;
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Some(topic) = message.get_channel_name().strip_prefix("tf:bus:").map(str::to_owned) else { continue };
        let Ok(message) = message.get_payload::<String>() else { continue };
        let Some((sender, payload)) = message.split_once(' ') else { continue };
        // this instance's own messages were delivered when published
        if sender != instance {
            deliver(subscribers, &topic, payload);
        }
    }
    Ok(())
}

impl Bus for RedisBus {
    fn publish(&self, topic: &str, payload: &str) {
        deliver(&self.subscribers, topic, payload);
        let (channel, payload) = (channel(topic), format!("{} {payload}", self.instance));
        let _ = self.redis.call("PUBLISH", |mut conn| async move {
            cmd("PUBLISH").arg(&channel).arg(&payload).query_async::<i64>(&mut conn).await
        });
    }

    fn subscribe(&self, topic: &str, handler: Handler) {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner()).entry(topic.to_owned()).or_default().push(handler);
        self.start();
    }
}
