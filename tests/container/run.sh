#!/usr/bin/env bash
# Builds the image from the Dockerfile and checks it end to end against the
# PostgreSQL at DATABASE_URL and the Redis at REDIS_URL (host network):
# refusals without a secret or a database URL, `migrate`, `serve`, a signup,
# a login on the new tenant's host, a project created and listed through
# Redis, and a clean exit on `stop` (SIGTERM). Removes what it made (the
# image stays, as a build cache).
#
#   tests/container/run.sh                       # docker
#   ENGINE=podman tests/container/run.sh
#   BUILD_ARGS="--build-arg RUNTIME_IMAGE=…" tests/container/run.sh
#
# Not part of .ci/run: it builds the release binaries a second time, inside
# the image (several minutes on two cores), and needs a container engine.
set -euo pipefail
cd "$(dirname "$0")/../.."

engine=${ENGINE:-docker}
command -v "$engine" >/dev/null || { echo "$engine is not installed (ENGINE=podman to use podman)"; exit 1; }
admin_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
image=taskforce:check
database="tf_container_check_$$"
url="${admin_url%/*}/$database"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$(head -c 48 /dev/urandom | base64)
name="taskforce-check-$$"

cleanup() {
  "$engine" rm -f "$name" >/dev/null 2>&1 || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*"; exit 1; }

step "build"
# shellcheck disable=SC2086 # BUILD_ARGS is a list of arguments
"$engine" build --network host ${BUILD_ARGS:-} -t "$image" .

run() { "$engine" run --rm --network host "$@"; }

step "refusals"
# each must exit at once; an image that served anyway is stopped after 60 s and fails
out=$(timeout 60 "$engine" run --rm --network host -e TASKFORCE__DATABASE__URL="$url" "$image" serve 2>&1) \
  && fail "served without a JWT secret"
grep -q "TASKFORCE__AUTH__JWT_SECRET" <<<"$out" || fail "no reason given: $out"
out=$(timeout 60 "$engine" run --rm --network host -e TASKFORCE__AUTH__JWT_SECRET="$secret" "$image" serve 2>&1) \
  && fail "served without a database URL"
grep -q "production needs TASKFORCE__DATABASE__URL" <<<"$out" || fail "no reason given: $out"
echo "refused without a secret and without a database URL"

step "migrate"
psql "$admin_url" -qc "CREATE DATABASE \"$database\""
env=(-e TASKFORCE__DATABASE__URL="$url" -e TASKFORCE__REDIS__URL="$redis_url" -e TASKFORCE__AUTH__JWT_SECRET="$secret"
  -e TASKFORCE__MAIL__TRANSPORT=file)
run "${env[@]}" "$image" migrate

step "serve"
"$engine" run -d --name "$name" --network host "${env[@]}" "$image" serve --port "$port" >/dev/null
api="http://127.0.0.1:$port"
for _ in $(seq 1 50); do
  curl -fsS "$api/api/health/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$api/api/health/ready/" | tee /dev/stderr | grep -q '"status":"ready"' || fail "not ready"
echo

step "signup, login, a project"
json='Content-Type: application/json'
curl -fsS -H "$json" "$api/api/signup/" -d '{"tenant_name": "Boxed", "slug": "boxed", "username": "cora",
  "email": "cora@boxed.example", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"}' >/dev/null
token=$(curl -fsS -H "$json" -H 'Host: boxed.localhost' "$api/api/auth/login/" \
  -d '{"username": "cora", "password": "Sturdy-passphrase-42"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $token"
curl -fsS -H "$json" -H "$auth" -H 'Host: boxed.localhost' "$api/api/projects/" -d '{"name": "Shipping"}' >/dev/null
listed=$(curl -fsS -H "$auth" -H 'Host: boxed.localhost' "$api/api/projects/")
python3 -c 'import json, sys; page = json.loads(sys.argv[1]); assert page["count"] == 1 and page["results"][0]["name"] == "Shipping", page' "$listed" \
  || fail "the project list is $listed"
echo "signed up, logged in on boxed.localhost, created and listed a project"

step "stop (SIGTERM)"
"$engine" stop -t 40 "$name" >/dev/null
code=$("$engine" inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
echo "exited 0"

step "done"
