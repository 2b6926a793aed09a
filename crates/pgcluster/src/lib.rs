//! A private PostgreSQL cluster, started from the server binaries installed on
//! the machine.
//!
//! Two users: `taskforce serve` with no database configured runs on a
//! persistent cluster under `.data/postgres` (the *embedded default*), and the
//! test suite, with no database URL in the environment, runs on an
//! *ephemeral* cluster that disappears when the test process ends. Both need
//! only `initdb`, `pg_ctl` and `postgres` on the machine; nothing has to be
//! running beforehand.

mod binaries;
mod cluster;
mod test_db;
mod url;

pub use binaries::PgBinaries;
pub use cluster::{Cluster, ClusterError, Durability, Released, RunningCluster, StopHandle, free_port};
pub use test_db::{TestDatabase, TestDbError, skip_unless_required, start_ephemeral, test_server_url};
pub use url::{with_database, without_tls_on_loopback};
