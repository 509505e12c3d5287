#!/usr/bin/env bash
# What per-entity ordering costs across entities: `hookforge serve --db` for
# Prets (whose manifest orders by /data/quoteId and /timestamp) against the
# same vendor without `ordering` (a vendor-dir copy, `prets_plain`), each
# delivery its own quote. One wrk run each (-t2 -c32); then how many were
# handled by the end of the run and how long the rest took to drain.
# Needs wrk. Usage: benches/wrk/ordering.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
source benches/wrk/common.sh
cargo build --release --quiet --bin hookforge
HF=target/release/hookforge

# The same vendor without ordering.
cp -r schemas/prets "$TMP/prets_plain"
python3 - "$TMP/prets_plain/manifest.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["id"], m["name"] = "prets_plain", "Prets (unordered)"
del m["ordering"]
json.dump(m, open(p, "w"), indent=2)
PY

count() { # db status: the rows in that status (asked again while the receiver holds the lock)
  local out
  until out="$("$HF" inbox --db "$1" list --status "$2" --json --limit 100000000 2>/dev/null)"; do sleep 0.2; done
  echo "$out" | grep -c '"id"' || true
}

run() { # name vendor-args... ; HOOK_PATH set by the caller
  local name="$1"; shift
  RUST_LOG=warn "$HF" serve --addr 127.0.0.1:0 "$@" --db "$TMP/$name.db" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  local pid=$!
  for _ in $(seq 100); do grep -qo 'http://127.0.0.1:[0-9]*' "$TMP/$name.out" && break; sleep 0.1; done
  local addr; addr="$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/$name.out" | head -1)"
  echo "== $name: wrk -t2 -c32 -d${DURATION}s $addr$HOOK_PATH"
  QUOTES=each HOOK_PATH="$HOOK_PATH" wrk -t2 -c32 -d"${DURATION}s" --latency -s benches/wrk/post.lua "$addr$HOOK_PATH" | tee "$TMP/$name.wrk"
  if grep -q 'Non-2xx' "$TMP/$name.wrk"; then echo "!! $name: answers other than 2xx; not valid" >&2; fi
  local done_at_end; done_at_end="$(count "$TMP/$name.db" done)"
  local start; start=$(date +%s.%N)
  while [ "$(count "$TMP/$name.db" pending)" != "0" ]; do sleep 0.2; done
  local drain; drain=$(echo "$(date +%s.%N) - $start" | bc)
  echo "$name: done when wrk stopped: $done_at_end; drained the rest in ${drain}s; stored: $(count "$TMP/$name.db" done)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

HOOK_PATH=/hooks/prets run ordered --vendor prets --secret "prets=$PRETS_SECRET"
HOOK_PATH=/hooks/prets_plain run plain --vendor-dir "$TMP/prets_plain" --vendor prets_plain --secret "prets_plain=$PRETS_SECRET"
