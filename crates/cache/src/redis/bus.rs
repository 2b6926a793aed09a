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
pub struct RedisBus {
    redis: Arc<Redis>,
    subscribers: Subscribers,
    started: Mutex<bool>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A bus over a shared Redis pool.
    pub fn new(redis: Arc<Redis>) -> Self {
        Self { redis, subscribers: Arc::default(), started: Mutex::new(false) }
    }

    fn start(&self) {
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        if *started {
            return;
        }
        let Some(handle) = self.redis.handle() else { return };
        *started = true;
        let (url, subscribers) = (self.redis.url().to_owned(), self.subscribers.clone());
        handle.spawn(async move {
            loop {
                if let Err(error) = listen(&url, &subscribers).await {
                    tracing::debug!(%error, "bus subscription lost; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}

async fn listen(url: &str, subscribers: &Subscribers) -> redis::RedisResult<()> {
    use futures_util::StreamExt;
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe("tf:bus:*").await?;
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Some(topic) = message.get_channel_name().strip_prefix("tf:bus:").map(str::to_owned) else { continue };
        let Ok(payload) = message.get_payload::<String>() else { continue };
        let handlers = subscribers.lock().unwrap_or_else(|p| p.into_inner()).get(&topic).cloned().unwrap_or_default();
        for handler in handlers {
            handler(&payload);
        }
    }
    Ok(())
}

impl Bus for RedisBus {
    fn publish(&self, topic: &str, payload: &str) {
        let (channel, payload) = (channel(topic), payload.to_owned());
        let _ = self.redis.call("PUBLISH", |mut conn| async move {
            cmd("PUBLISH").arg(&channel).arg(&payload).query_async::<i64>(&mut conn).await
        });
    }

    fn subscribe(&self, topic: &str, handler: Handler) {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner()).entry(topic.to_owned()).or_default().push(handler);
        self.start();
    }
}
