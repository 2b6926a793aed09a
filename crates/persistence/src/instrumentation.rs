//! Counting the statements sent to PostgreSQL, for benchmarks: each counted
//! statement is one round trip (prepared statements are cached per
//! connection, so preparing happens once per connection and query).

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

static STATEMENTS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Counter;

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts every statement of connections made from now on. Costs one
/// atomic increment per statement; off unless called.
pub fn count_statements() -> diesel::QueryResult<()> {
    set_default_instrumentation(|| Some(Box::new(Counter)))
}

/// Statements sent so far (since [`count_statements`]).
pub fn statements_sent() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}
