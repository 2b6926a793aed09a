#!/usr/bin/env bash
# The black-box suite and the cross-tenant soak through PgBouncer in
# transaction pooling mode: a private pgbouncer on a free port in front of
# the PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# with diesel's prepared-statement cache off (PgBouncer < 1.21 cannot keep
# prepared statements across transactions). Removes everything it made.
#
# Needs: pgbouncer (Debian: apt install pgbouncer), cargo. Runs as root or
# not; pgbouncer itself refuses root, so it runs as `postgres` then.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { echo "pgbouncer is not installed"; exit 1; }
pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
upstream=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
upstream_host=$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432)' "$upstream")
read -r host port <<<"$upstream_host"
listen=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
chmod 755 "$work"

cat >"$work/pgbouncer.ini" <<INI
[databases]
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir =
auth_type = trust
auth_file = $work/users.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
max_db_connections = 80
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
echo '"postgres" ""' >"$work/users.txt"

as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$work"
  as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$pgbouncer_bin" -d "$work/pgbouncer.ini"
cleanup() {
  [ -f "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p "$listen" -q && break; sleep 0.1; done

echo "== through PgBouncer $(${pgbouncer_bin} --version | head -1) (transaction pooling) on 127.0.0.1:$listen"
export DATABASE_URL="postgres://postgres@127.0.0.1:$listen/postgres"
export TASKFORCE__DATABASE__STATEMENT_CACHE=false
# LISTEN needs a session of its own, which transaction pooling does not keep
export TASKFORCE__CACHE__LISTEN=false
unset TASKFORCE__DATABASE__URL
cargo test -p taskforce-tests --test api --test soak "$@"
