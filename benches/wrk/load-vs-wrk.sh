#!/usr/bin/env bash
# One run against one receiver (hookforge serve, in-memory inbox, Prets):
# wrk's closed-loop maximum, then `hookforge load` open-loop at rising rates
# until it no longer keeps up. Prints the ratio of the highest sustained load
# rate to wrk's rate. Needs wrk. Usage: benches/wrk/load-vs-wrk.sh [STEP_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
STEP="${1:-5}"
source benches/wrk/common.sh
cargo build --release --quiet --bin hookforge
RUST_LOG=warn target/release/hookforge serve --addr 127.0.0.1:0 --vendor prets --secret "prets=$PRETS_SECRET" --memory-capacity 50000000 > "$TMP/serve.out" 2> "$TMP/serve.err" &
for _ in $(seq 100); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/serve.out" | head -1)/hooks/prets"

echo "== wrk -t2 -c32 -d${STEP}s --latency (closed loop, as fast as the receiver answers)"
wrk -t2 -c32 -d"${STEP}s" --latency -s benches/wrk/post.lua "$URL" | tee "$TMP/wrk.txt"
if grep -q 'Non-2xx' "$TMP/wrk.txt"; then echo "!! wrk saw answers other than 2xx; this figure is not valid" >&2; fi
WRK_RPS="$(awk '/Requests\/sec/ {print int($2)}' "$TMP/wrk.txt")"

best=0
for rate in 1000 2000 4000 6000 8000 10000 12000 14000 16000 18000 20000 22000 24000 26000 28000 30000 34000 38000; do
  [ "$rate" -gt $((WRK_RPS * 3 / 2)) ] && break
  echo "== hookforge load --rate $rate --duration $STEP"
  out="$(target/release/hookforge load --vendor prets --url "$URL" --secret "$PRETS_SECRET" --rate "$rate" --duration "$STEP" --json)" || true
  echo "$out" | tr -d '\n' | sed 's/  */ /g'; echo
  sustained="$(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(int(r["failed"]==0 and r["achieved_rate"]>=0.98*r["target_rate"]))' 2>/dev/null || echo 0)"
  if [ "$sustained" = 1 ]; then best="$rate"; else break; fi
done
echo "== wrk: $WRK_RPS deliveries/s; highest rate hookforge load sustained: $best/s; ratio $(python3 -c "print(round($best/$WRK_RPS, 2))")"
