#!/usr/bin/env bash
# Throughput of one vs two `hookforge serve` processes sharing one
# PostgreSQL inbox, on loopback. Run through scripts/with-postgres, which
# provides the throwaway server:
#   scripts/with-postgres benches/wrk/postgres.sh [SECONDS]
# One process: one wrk (-t2 -c32). Two processes: one wrk per process
# (-t1 -c16 each) at the same time; their rates are added.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
URL="${HOOKFORGE_TEST_DATABASE_URL:?run through scripts/with-postgres}"
source benches/wrk/common.sh
PSQL=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
cargo build --release --quiet --bin hookforge

reset_db() { "$PSQL" -q "$URL" -c 'DROP TABLE IF EXISTS deliveries, hookforge_migrations'; }
start() { # name: a receiver on the database; sets ADDR and PID
  RUST_LOG=warn HOOKFORGE_DATABASE_URL="$URL" target/release/hookforge serve --addr 127.0.0.1:0 \
    --vendor prets --secret "prets=$PRETS_SECRET" > "$TMP/$1.out" 2> "$TMP/$1.err" &
  PID=$!
  for _ in $(seq 100); do
    if grep -qo 'http://127.0.0.1:[0-9]*' "$TMP/$1.out"; then break; fi
    sleep 0.1
  done
  ADDR="$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/$1.out" | head -1)"
}
rate() { grep 'Requests/sec' "$1" | awk '{print $2}'; }
check() { if grep -q 'Non-2xx' "$1"; then echo "!! $1: answers other than 2xx; this figure is not valid" >&2; fi; }
stored() { "$PSQL" -tA "$URL" -c 'SELECT count(*) FROM deliveries'; }

reset_db
start one; P1=$PID
echo "== one process: wrk -t2 -c32 -d${DURATION}s $ADDR/hooks/prets"
wrk -t2 -c32 -d"${DURATION}s" --latency -s benches/wrk/post.lua "$ADDR/hooks/prets" | tee "$TMP/one.wrk"
check "$TMP/one.wrk"
echo "stored: $(stored)"
kill $P1; wait $P1 2>/dev/null || true

reset_db
start a; PA=$PID; A=$ADDR
start b; PB=$PID; B=$ADDR
echo "== two processes: wrk -t1 -c16 -d${DURATION}s against each, at once"
WRK_THREAD_OFFSET=0 wrk -t1 -c16 -d"${DURATION}s" --latency -s benches/wrk/post.lua "$A/hooks/prets" > "$TMP/a.wrk" &
W1=$!
WRK_THREAD_OFFSET=50 wrk -t1 -c16 -d"${DURATION}s" --latency -s benches/wrk/post.lua "$B/hooks/prets" > "$TMP/b.wrk" &
W2=$!
wait $W1 $W2
cat "$TMP/a.wrk" "$TMP/b.wrk"
check "$TMP/a.wrk"; check "$TMP/b.wrk"
echo "stored: $(stored)"
kill $PA $PB; wait $PA $PB 2>/dev/null || true
one=$(rate "$TMP/one.wrk"); a=$(rate "$TMP/a.wrk"); b=$(rate "$TMP/b.wrk")
# A failed batch falls back to row-by-row inserts with a warning; say so.
fallbacks=$(cat "$TMP"/*.err | grep -c 'batch insert failed' || true)
echo "batch inserts that fell back to one by one: $fallbacks"
python3 -c "one=$one; two=$a+$b; print(f'one process: {one:,.0f}/s; two processes: {two:,.0f}/s ({$a:,.0f} + {$b:,.0f}); ratio {two/one:.2f}x')"
