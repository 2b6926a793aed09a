# Everyday recipes. `just` is optional: install it with `cargo install just`.
# Every recipe is a plain cargo command you can also type yourself.

set dotenv-load := false
# arguments reach the commands as they were given ("$@", written ${1+"$@"} for old shells under -u), so a quoted `--name "Acme Corp"` stays one
set positional-arguments := true

# list the recipes
default:
    @just --list

# serve the API on 127.0.0.1:8001 (embedded PostgreSQL when no URL is set)
dev:
    cargo run --bin taskforce -- serve

# the README's test command
test:
    cargo test --workspace

# formatting and lints, as CI checks them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# migrate the shared schema and every tenant schema
migrate *ARGS:
    cargo run --bin tenant-admin -- migrate ${1+"$@"}

# run tenant-admin with arguments, e.g. `just admin tenant list`
admin *ARGS:
    cargo run --bin tenant-admin -- ${1+"$@"}

# benchmark: create COUNT tenants, then SPARES more from spare schemas, then migrate them all (a fresh database of its own)
bench-tenants COUNT="1000" SPARES="200":
    cargo run --release -p taskforce-bench -- tenants --count {{COUNT}} --spares {{SPARES}}

# benchmark: password hashing, authenticated requests, concurrent logins (a fresh database of its own)
bench-auth *ARGS:
    cargo run --release -p taskforce-bench -- auth ${1+"$@"}

# benchmark: attachment throughput and the server's peak memory
bench-files:
    cargo run --release -p taskforce-bench -- files

# benchmark: notification fan-out over 500 streams on two instances (needs redis-server)
bench-notify:
    cargo run --release -p taskforce-bench -- notify

# benchmark: reports on a tenant with 100,000 tasks
bench-reports:
    cargo run --release -p taskforce-bench -- reports

# benchmark: export and import of a tenant with TASKS tasks (and as many comments and activity rows): time and peak memory
bench-transfer TASKS="200000":
    cargo run --release -p taskforce-bench -- transfer --tasks {{TASKS}}

# benchmark: the fleet at 10, 1,000 and 10,000 tenants under wrk, next to pgbench (needs wrk and pgbench)
bench *ARGS:
    cargo run --release -p taskforce-bench -- fleet --svg docs/fleet-throughput.svg ${1+"$@"}

# what CI runs
ci:
    .ci/run
