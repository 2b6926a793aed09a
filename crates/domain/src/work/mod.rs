//! The work inside a tenant: projects, tasks, comments and their activity.

mod activity;

pub use activity::{Activity, Changes, NewActivity, TargetType, Verb, record_change};
