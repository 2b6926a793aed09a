//! Server-Sent Events: each instance keeps the open notification streams of
//! its clients, and the bus tells every instance which notification was
//! written for whom.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::web::Bytes;
use taskforce_application::{Actor, Announcement, NOTIFICATIONS_TOPIC, Notifications};
use taskforce_domain::{Bus, Notification};
use tokio::sync::mpsc;

/// How often an idle stream sends a comment so proxies keep it open, by default.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

type Key = (i64, i64);

/// The open streams of this instance, by (tenant, user).
#[derive(Default)]
pub struct NotificationHub {
    streams: Mutex<HashMap<Key, Vec<mpsc::UnboundedSender<i64>>>>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for NotificationHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationHub").finish_non_exhaustive()
    }
}

impl NotificationHub {
    /// A hub that hears every instance's announcements on the bus.
    pub fn attach(bus: &dyn Bus) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        let listener = hub.clone();
        bus.subscribe(
            NOTIFICATIONS_TOPIC,
            Arc::new(move |payload: &str| {
                if let Ok(announcement) = serde_json::from_str::<Announcement>(payload) {
                    listener.deliver(&announcement);
                }
            }),
        );
        hub
    }

    fn deliver(&self, announcement: &Announcement) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(senders) = streams.get_mut(&(announcement.tenant_id, announcement.recipient_id)) {
            senders.retain(|sender| sender.send(announcement.id).is_ok());
        }
    }

    fn register(&self, key: Key) -> mpsc::UnboundedReceiver<i64> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|_, senders| {
            senders.retain(|s| !s.is_closed());
            !senders.is_empty()
        });
        streams.entry(key).or_default().push(sender);
        receiver
    }

    /// Ends every open stream (the server is stopping).
    pub fn close_all(&self) {
        let _ = self.closing.send(true);
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How many streams are open on this instance.
    pub fn open_streams(&self) -> usize {
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).values().map(Vec::len).sum()
    }
}

/// One notification as an SSE event.
fn event(notification: &Notification) -> Bytes {
    let data = serde_json::to_string(&crate::routes::notifications::notification_out(notification.clone()))
        .unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("id: {}\nevent: notification\ndata: {data}\n\n", notification.id))
}

/// How many of the newest ids a stream sent it remembers, to send none
/// twice when it reads again below the newest.
const REMEMBERED: usize = 256;
/// How far back, in the stream's own notifications, a heartbeat reads
/// again: a notification whose announcement was lost (Redis away, the
/// subscriber reconnecting) reaches the stream at the next heartbeat.
const REREAD: usize = 16;

/// The body of a stream: first what was missed after `last_seen` (or nothing
/// when the client starts fresh), then each new notification as the bus
/// announces it, with a heartbeat when idle. Subscribing comes before
/// catching up, so nothing written in between is lost.
///
/// Ids are taken in insert order but become visible in commit order: a
/// notification can commit after one with a higher id was sent. So the
/// stream does not stop at the highest id it sent: an announced id it has
/// not sent is read whatever its place, and each heartbeat reads again from
/// a little below the newest it sent; the ids it sent are remembered, so
/// none goes out twice.
pub fn notification_stream(
    hub: Arc<NotificationHub>,
    notifications: Notifications,
    actor: Actor,
    last_seen: Option<i64>,
    heartbeat_every: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    let mut announcements = hub.register((actor.tenant.id.0, actor.user.0));
    let mut closing = hub.closing.subscribe();
    let (out, body) = mpsc::channel::<Bytes>(64);
    // the task keeps the request's span: its work's lines carry the request id
    actix_web::rt::spawn(tracing::Instrument::instrument(
        async move {
            let fetch = |after: i64| {
                let (notifications, actor) = (notifications.clone(), actor.clone());
                crate::block(move || notifications.after(&actor, after, 100))
            };
            // a logout, removal or deactivation ends the stream at the next
            // delivery or heartbeat, as it refuses the next request
            let admitted = || {
                let (notifications, actor) = (notifications.clone(), actor.clone());
                async move { matches!(crate::block(move || notifications.still_admitted(&actor)).await, Ok(Ok(true))) }
            };
            let newest = match crate::block({
                let (notifications, actor) = (notifications.clone(), actor.clone());
                move || notifications.latest_id(&actor)
            })
            .await
            {
                Ok(Ok(id)) => id,
                _ => return,
            };
            // a last event past the newest (from another database, or made up)
            // would keep the stream silent until ids caught up: start fresh
            let (start, mut wanted) = match last_seen {
                Some(id) if id <= newest => (id, true),
                _ => (newest, false),
            };
            let resumed = wanted;
            // what the client has (at or below `start`), what it was sent,
            // and where the next reading begins
            let mut sent = BTreeSet::new();
            let mut from = start;
            // ids at or below `start` announced to a fresh stream (committed
            // late): of what lies below `start`, only these are sent
            let mut late = BTreeSet::new();
            // a comment first, so clients and proxies see the stream is open
            if out.send(Bytes::from_static(b": stream open\n\n")).await.is_err() {
                return;
            }
            let mut heartbeat = tokio::time::interval(heartbeat_every);
            heartbeat.reset();
            loop {
                if wanted {
                    wanted = false;
                    if !admitted().await {
                        return;
                    }
                    loop {
                        let Ok(Ok(batch)) = fetch(from).await else { return };
                        for notification in &batch {
                            from = from.max(notification.id);
                            if notification.id <= start && !late.remove(&notification.id) {
                                continue;
                            }
                            if !sent.insert(notification.id) {
                                continue;
                            }
                            if out.send(event(notification)).await.is_err() {
                                return;
                            }
                        }
                        // a long catch-up remembers no more than the newest
                        while sent.len() > REMEMBERED {
                            sent.pop_first();
                        }
                        if batch.len() < 100 {
                            break;
                        }
                        // a long catch-up is judged again before each batch:
                        // a member removed meanwhile gets nothing more
                        if !admitted().await {
                            return;
                        }
                    }
                }
                tokio::select! {
                    announced = announcements.recv() => match announced {
                        // below `start` only for a fresh stream: a resumed one's
                        // client had everything up to its last event
                        Some(id) if (id > start || !resumed) && !sent.contains(&id) => {
                            if id <= start {
                                late.insert(id);
                            }
                            from = from.min(id - 1);
                            wanted = true;
                        }
                        Some(_) => {}
                        None => return,
                    },
                    _ = heartbeat.tick() => {
                        if out.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                            return;
                        }
                        // reading again checks the caller is still admitted
                        let below = sent.iter().rev().nth(REREAD - 1).map_or(start, |id| id - 1);
                        from = from.min(below.max(start));
                        wanted = true;
                    }
                    _ = closing.changed() => return,
                    _ = out.closed() => return,
                }
            }
        },
        tracing::Span::current(),
    ));
    futures_util::stream::unfold(body, |mut body| async move { body.recv().await.map(|bytes| (Ok(bytes), body)) })
}
