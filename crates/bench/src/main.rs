//! `taskforce-bench`: reproducible figures for TaskForce on this machine.
//! Every scenario sets up its own data in a fresh database (on
//! `DATABASE_URL`, or an ephemeral cluster) and prints its results.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

mod api;
mod auth;
mod cache;
mod chart;
mod fixture;
mod fleet;
mod stats;
mod tenants;
mod transfer;
mod work;

use clap::{Parser, Subcommand};

/// TaskForce benchmarks.
#[derive(Debug, Parser)]
#[command(name = "taskforce-bench", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Tenant creation, no-op migrate and one-migration migrate over many tenants.
    Tenants {
        /// Tenants to create, building their schemas.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Spare schemas to make, then tenants to create from them.
        #[arg(long, default_value_t = 200)]
        spares: usize,
        /// Parallel jobs to try for migrate (comma-separated).
        #[arg(long, default_value = "1,2,4", value_delimiter = ',')]
        jobs: Vec<usize>,
    },
    /// Authenticated project and task lists under load (wrk and an
    /// open-loop generator), with PostgreSQL round trips per request.
    Api {
        /// Tasks to seed in the tenant.
        #[arg(long, default_value_t = 100_000)]
        tasks: u64,
        /// wrk connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Admission cost and an authenticated list under load with Redis, the
    /// in-process cache, no cache, and Redis frozen.
    Cache {
        /// Admissions timed in process per mode.
        #[arg(long, default_value_t = 5000)]
        requests: usize,
        /// wrk connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds per load measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Attachment upload and download throughput, with the server's
    /// resident memory and peak (the server runs as a child process).
    Files {
        /// File size in MiB.
        #[arg(long, default_value_t = 50)]
        size_mib: u64,
        /// Uploads and downloads each.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Notification fan-out: open streams on two instances sharing Redis,
    /// one comment mentioning every streaming member per round.
    Notify {
        /// Members with an open stream.
        #[arg(long, default_value_t = 500)]
        streams: usize,
        /// Comments.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
    },
    /// Report latency on a tenant with many tasks.
    Reports {
        /// Tasks to seed.
        #[arg(long, default_value_t = 100_000)]
        tasks: u64,
        /// Requests per report.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// The fleet: health, project list, filtered task list, task create,
    /// task update with If-Match and a mixed 80/20 profile under wrk, with
    /// requests spread over 10, 1,000 and 10,000 tenants; pgbench replaying
    /// the same statements; memory, connections, round trips, tenant
    /// creation and `migrate` over the whole fleet.
    Fleet {
        /// Fleet sizes to measure at, growing (comma-separated).
        #[arg(long, default_value = "10,1000,10000", value_delimiter = ',')]
        tenants: Vec<usize>,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// wrk and pgbench connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Put a private Redis (redis-server) in front instead of the in-process cache.
        #[arg(long)]
        redis: bool,
        /// The server's `database.tenant_shards` (its pool is 16 connections);
        /// several (comma-separated) measure each size once per value, each on
        /// a server started afresh.
        #[arg(long, default_value = "16", value_delimiter = ',')]
        shards: Vec<u32>,
        /// Seconds of unmeasured load before each server's measurements, which
        /// visits every tenant in turn (0: measure a server's first visits).
        #[arg(long, default_value_t = 60)]
        warm_up: u64,
        /// `migrate` jobs to time over the largest fleet (comma-separated;
        /// `--jobs` with no value skips it).
        #[arg(long, default_value = "1,2,4", value_delimiter = ',', num_args = 0..)]
        jobs: Vec<usize>,
        /// Write the chart of throughput against tenant count here, and the
        /// chart of the share kept at the largest size beside it (`x-kept.svg`).
        #[arg(long)]
        svg: Option<std::path::PathBuf>,
    },
    /// Draws the chart of a saved `fleet` output again.
    FleetChart {
        /// The output of a `fleet` run.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Where to write the SVG (and the share kept at the largest size
        /// beside it, `x-kept.svg`).
        #[arg(long)]
        svg: std::path::PathBuf,
    },
    /// Tenant export and import at size, by the `tenant-admin` binary built
    /// beside this one: wall time, file size and peak resident memory.
    Transfer {
        /// Tasks to seed (with as many comments and activity rows).
        #[arg(long, default_value_t = 200_000)]
        tasks: u64,
    },
    /// Runs `tenant-admin` with the arguments that follow (used by `transfer`).
    #[command(hide = true)]
    TenantAdmin {
        /// `tenant-admin`'s arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Serves the configuration in the environment (used by `files` and `fleet`).
    #[command(hide = true)]
    Serve,
    /// Password hashing rate, logins next to health checks, and the cost of
    /// authenticating a request.
    Auth {
        /// Concurrent logins.
        #[arg(long, default_value_t = 50)]
        logins: usize,
        /// Requests per measurement.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Tenants { count, spares, jobs } => tenants::run(count, spares, &jobs),
        Scenario::Api { tasks, connections, seconds } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(api::run(tasks, connections, seconds)),
        Scenario::Cache { requests, connections, seconds } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(cache::run(requests, connections, seconds)),
        Scenario::Files { size_mib, rounds } => runtime()?.block_on(work::files(size_mib, rounds)),
        Scenario::Notify { streams, rounds } => runtime()?.block_on(work::notify(streams, rounds)),
        Scenario::Reports { tasks, requests } => runtime()?.block_on(work::reports(tasks, requests)),
        Scenario::Fleet { tenants, seconds, connections, redis, shards, warm_up, jobs, svg } => {
            runtime()?.block_on(fleet::run(fleet::Options {
                sizes: tenants,
                seconds,
                connections,
                redis,
                shards,
                warm_up,
                jobs,
                svg,
            }))
        }
        Scenario::FleetChart { from, svg } => {
            let results = fleet::parse_output(&std::fs::read_to_string(&from)?);
            anyhow::ensure!(!results.is_empty(), "no fleet measurements in {}", from.display());
            let kept = chart::write_charts(&svg, &results)?;
            println!("{} measurements drawn in {}", results.len(), svg.display());
            if let Some(kept) = kept {
                println!("the share kept at the largest size drawn in {}", kept.display());
            }
            Ok(())
        }
        Scenario::Transfer { tasks } => transfer::run(tasks),
        Scenario::TenantAdmin { args } => std::process::exit(transfer::tenant_admin(args)),
        Scenario::Serve => runtime()?.block_on(work::serve()),
        Scenario::Auth { logins, requests } => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(auth::run(logins, requests))
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}
