#!/usr/bin/env bash
# HTTP load benchmark of search-service, all-in-one, on the demo catalog.
#
# usage: bench/search.sh [duration=30s] [connections=32]
#
# Builds the release binary, starts `ota serve` on a fresh data directory (which seeds
# the demo catalog), then runs wrk with varied flight and hotel queries that miss the
# answer cache. Prints the time to ready, p50/p90/p99 latency and throughput for each,
# and the server's resident memory; stops the server.
#
# With DATABASE_URL set, the server runs on that PostgreSQL database instead (its
# catalog as it is: seed or import one first, e.g. `ota seed --size world --export DIR`
# then `ota catalog import`); OTA_BENCH_MODES picks the scenarios (default
# "flights hotels").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${1:-30s}
connections=${2:-32}
port=${OTA_BENCH_PORT:-18480}
mgmt=$((port + 1))

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
echo "building the release binary..." >&2
cargo build --release --locked -p ota >&2

data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
# The answer cache is off (OTA_ANSWER_CACHE_TTL=0s) so every request is a real search.
bin="${CARGO_TARGET_DIR:-target}/release/ota"
started=$(date +%s.%N)
RUST_LOG=warn OTA_ANSWER_CACHE_TTL=0s DB_SSLMODE=${DB_SSLMODE:-disable} "$bin" serve --port "$port" --management-port "$mgmt" \
  --bind 127.0.0.1 --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
echo "seeding and loading the demo catalog..." >&2
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$mgmt/actuator/health/readiness" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$mgmt/actuator/health/readiness" >/dev/null
ready=$(date +%s.%N)
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$server/status"; }
echo "ready in $(awk -v a="$ready" -v b="$started" 'BEGIN { printf "%.2f", a - b }') s (seeding included on a fresh data directory), resident $(rss)"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$connections -d$duration" >&2
for mode in ${OTA_BENCH_MODES:-flights hotels}; do
  # A short warm-up so connection set-up is not measured.
  OTA_BENCH_MODE=$mode wrk -t2 -c"$connections" -d3s -s bench/search.lua "http://127.0.0.1:$port" >/dev/null
  OTA_BENCH_MODE=$mode wrk -t2 -c"$connections" -d"$duration" --latency -s bench/search.lua \
    "http://127.0.0.1:$port" | grep -E "^(flights|hotels):|^latency|Requests/sec|Non-2xx"
done
echo "resident after the load: $(rss)"
