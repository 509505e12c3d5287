#!/usr/bin/env bash
# Loopback HTTP benchmark, one run: a bare axum route (the ceiling), a route
# that reads the body, a hand-written minimal in-memory receiver (plain axum,
# see benches/wrk/ceiling.rs), then the receiver with the in-memory inbox,
# and with the SQLite inbox (synced commits, then --sync normal).
# Needs wrk (Debian: apt-get install wrk). Usage: benches/wrk/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
THREADS=2
CONNECTIONS=32
source benches/wrk/common.sh
cargo build --release --quiet --bin hookforge --example wrk-ceiling

start() { # name, command...: starts a server, waits for its address line
  local name="$1"; shift
  "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  for _ in $(seq 100); do
    if grep -qo 'http://127.0.0.1:[0-9]*' "$TMP/$name.out"; then break; fi
    sleep 0.1
  done
  PID=$!
  ADDR="$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/$name.out" | head -1)"
}

run() { # name
  echo "== $1: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $ADDR/hooks/prets"
  QUOTES=each wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s benches/wrk/post.lua "$ADDR/hooks/prets" | tee "$TMP/$1.wrk"
  # A refused delivery is not a delivery received: such a figure means nothing.
  if grep -q 'Non-2xx' "$TMP/$1.wrk"; then echo "!! $1: answers other than 2xx; this figure is not valid" >&2; fi
  kill "$PID"; wait "$PID" 2>/dev/null || true
}

start ceiling target/release/examples/wrk-ceiling 127.0.0.1:0 bare
run ceiling
start read target/release/examples/wrk-ceiling 127.0.0.1:0 read
run read
start minimal target/release/examples/wrk-ceiling 127.0.0.1:0 minimal
run minimal
RUST_LOG=warn start memory target/release/hookforge serve --addr 127.0.0.1:0 --vendor prets --secret "prets=$PRETS_SECRET" --memory-capacity 50000000
run memory
RUST_LOG=warn start sqlite target/release/hookforge serve --addr 127.0.0.1:0 --vendor prets --secret "prets=$PRETS_SECRET" --db "$TMP/inbox.db"
run sqlite
echo "== stored in the SQLite inbox: $(target/release/hookforge inbox --db "$TMP/inbox.db" list --json --limit 100000000 | grep -c '"id"') deliveries"
# The same without a sync per commit: what --sync full (the default) costs.
RUST_LOG=warn start sqlite-normal target/release/hookforge serve --addr 127.0.0.1:0 --vendor prets --secret "prets=$PRETS_SECRET" --db "$TMP/inbox-normal.db" --sync normal
run sqlite-normal
