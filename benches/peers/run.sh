#!/usr/bin/env bash
# Real peers, side by side, in one run (issue 31): the same wrk load, the
# same pre-signed Standard Webhooks deliveries and the same secret against
#   hookforge-pg      hookforge serve --database-url (PostgreSQL)
#   hookforge-sqlite  hookforge serve --db (SQLite, --sync full)
#   node              benches/peers/node: standardwebhooks + pg, node:cluster
#   python            benches/peers/python: standardwebhooks + psycopg pool,
#                     gunicorn with uvicorn workers
#   svix              Svix's server, message create (only when
#                     benches/peers/svix.sh exists and has built it; see there)
# each on loopback with a fresh database, and reports accepted deliveries/s,
# p50/p99, CPU per delivery (server process tree, and PostgreSQL's/Redis's),
# and the deliveries stored against those answered 2xx.
#
#   scripts/with-postgres benches/peers/run.sh [SECONDS]
#
# Needs wrk (apt-get install wrk), node and python3. Environment:
#   PEERS_TARGETS   which targets, in order (default: all of the above)
#   PEERS_WARMUP    seconds of load before each measured run (default 5),
#                   with ids of their own; not counted
#   PEERS_MAX_RATE  the most deliveries/s any target is expected to take
#                   (default 60000): the signed stream holds
#                   MAX_RATE x SECONDS x 1.2 deliveries; a target that goes
#                   faster would resend ids, and its run is marked invalid
#   HOOKFORGE_BIN   a hookforge binary to use instead of building
#                   target/release/hookforge (cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-30}"
URL="${HOOKFORGE_TEST_DATABASE_URL:?run through scripts/with-postgres}"
THREADS=2
CONNECTIONS=32
SECRET="whsec_aG9va2ZvcmdlLXBlZXJzLWJlbmNoLXNlY3JldC0zMmI="
MAX_RATE="${PEERS_MAX_RATE:-60000}"
WARMUP="${PEERS_WARMUP:-5}"
TARGETS="${PEERS_TARGETS:-hookforge-pg hookforge-sqlite node python svix}"
PEERS=benches/peers
PSQL=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
# Every delivery must still be inside Standard Webhooks' 5-minute tolerance
# when it is sent: each target's stream is signed right before it starts.
if [ $(( DURATION + WARMUP )) -gt 240 ]; then
  echo "SECONDS + PEERS_WARMUP must stay under 240: the signatures' timestamps would go stale" >&2; exit 2
fi

if [ -n "${HOOKFORGE_BIN:-}" ]; then
  HOOKFORGE="$HOOKFORGE_BIN"
else
  cargo build --release --quiet --bin hookforge
  HOOKFORGE=target/release/hookforge
fi
"$PEERS/install.sh"
VENV="${PEERS_VENV:-$PEERS/.venv}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac

TMP="$(mktemp -d)"
SERVER_PIDS=""
cleanup() {
  # Only what this script started: each server's process tree.
  if [ -n "$SERVER_PIDS" ]; then
    for pid in $(python3 "$PEERS/cpu.py" tree $SERVER_PIDS); do kill "$pid" 2>/dev/null || true; done
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PG_PORT="$(echo "$URL" | sed -E 's#.*:([0-9]+)/.*#\1#')"
PG_PID="$(python3 "$PEERS/cpu.py" listener "$PG_PORT" || true)"
[ -n "$PG_PID" ] || echo "peers: no local PostgreSQL process for port $PG_PORT: database CPU is not counted" >&2
COUNT=$(( MAX_RATE * DURATION * 12 / 10 ))
RUN_TAG="$(date +%s)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
db_url() { echo "${URL%/*}/peers_${1//-/_}"; }
fresh_db() { # target: drops and creates its own database
  local db="peers_${1//-/_}"
  PGOPTIONS="-c client_min_messages=warning" "$PSQL" -q "$URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
}
wait_for() { # name, pid, address regex or port: until the server answers
  local name="$1" pid="$2" port="$3"
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { echo "!! $name exited while starting:" >&2; cat "$TMP/$name.err" >&2; return 1; }
    if [ "$port" = "stdout" ]; then
      ADDR="$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/$name.out" | head -1 || true)"
      [ -n "$ADDR" ] && return 0
    elif curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/health-probe"; then
      ADDR="http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  echo "!! $name did not start in 30 s" >&2
  return 1
}

start_target() { # target: sets PID, ADDR, ROUTE, EXTRA_PIDS (databases/queues it alone uses)
  local t="$1" port
  EXTRA_PIDS=""
  MODE=""
  case "$t" in
    hookforge-pg)
      fresh_db "$t"
      RUST_LOG=warn HOOKFORGE_DATABASE_URL="$(db_url "$t")" "$HOOKFORGE" serve --addr 127.0.0.1:0 \
        --vendor standard_webhooks --secret "standard_webhooks=$SECRET" > "$TMP/$t.out" 2> "$TMP/$t.err" &
      PID=$!; wait_for "$t" "$PID" stdout; ROUTE=/hooks/standard_webhooks ;;
    hookforge-sqlite)
      RUST_LOG=warn "$HOOKFORGE" serve --addr 127.0.0.1:0 --vendor standard_webhooks \
        --secret "standard_webhooks=$SECRET" --db "$TMP/inbox.db" > "$TMP/$t.out" 2> "$TMP/$t.err" &
      PID=$!; wait_for "$t" "$PID" stdout; ROUTE=/hooks/standard_webhooks ;;
    node)
      fresh_db "$t"; "$PSQL" -q "$(db_url "$t")" -f "$PEERS/schema.sql"
      port=$(free_port)
      (cd "$PEERS/node" && PORT=$port WEBHOOK_SECRET="$SECRET" DATABASE_URL="$(db_url "$t")" \
        exec node receiver.mjs) > "$TMP/$t.out" 2> "$TMP/$t.err" &
      PID=$!; wait_for "$t" "$PID" stdout; ROUTE=/webhooks/standard_webhooks ;;
    python)
      fresh_db "$t"; "$PSQL" -q "$(db_url "$t")" -f "$PEERS/schema.sql"
      port=$(free_port)
      (cd "$PEERS/python" && WEBHOOK_SECRET="$SECRET" DATABASE_URL="$(db_url "$t")" \
        exec "$VENV/bin/gunicorn" -c gunicorn.conf.py --bind "127.0.0.1:$port" receiver:app) \
        > "$TMP/$t.out" 2> "$TMP/$t.err" &
      PID=$!; wait_for "$t" "$PID" "$port"; ROUTE=/webhooks/standard_webhooks ;;
    svix)
      fresh_db "$t"
      # svix.sh starts Redis and the server, creates the app, and writes
      # PID=, REDIS_PID=, ADDR=, TOKEN= lines.
      "$PEERS/svix.sh" start "$(db_url "$t")" "$TMP/svix" > "$TMP/$t.env" 2> "$TMP/$t.err" \
        || { cat "$TMP/$t.err" >&2; return 1; }
      PID=$(sed -n 's/^PID=//p' "$TMP/$t.env"); ADDR=$(sed -n 's/^ADDR=//p' "$TMP/$t.env")
      EXTRA_PIDS=$(sed -n 's/^REDIS_PID=//p' "$TMP/$t.env")
      export PEERS_TOKEN; PEERS_TOKEN=$(sed -n 's/^TOKEN=//p' "$TMP/$t.env")
      MODE=svix; ROUTE=/api/v1/app/bench/msg/ ;;
    *) echo "unknown target $t" >&2; return 1 ;;
  esac
  SERVER_PIDS="$SERVER_PIDS $PID $EXTRA_PIDS"
}

stored() { # target, id prefix: rows stored whose webhook-id starts with it
  local p="$2" # [A-Za-z0-9_] only: safe inside quotes
  case "$1" in
    hookforge-sqlite) python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM deliveries WHERE substr(event_id, 1, length(?1)) = ?1",
      (sys.argv[2],)).fetchone()[0])' "$TMP/inbox.db" "$p" ;;
    hookforge-pg) "$PSQL" -tA "$(db_url "$1")" -c "SELECT count(*) FROM deliveries WHERE left(event_id, ${#p}) = '$p'" ;;
    svix) "$PSQL" -tA "$(db_url "$1")" -c "SELECT count(*) FROM message WHERE left(uid, ${#p}) = '$p'" ;;
    *) "$PSQL" -tA "$(db_url "$1")" -c "SELECT count(*) FROM deliveries WHERE left(webhook_id, ${#p}) = '$p'" ;;
  esac
}

stop_target() {
  local pids; pids=$(python3 "$PEERS/cpu.py" tree $PID $EXTRA_PIDS)
  kill $pids 2>/dev/null || true
  for pid in $pids; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  SERVER_PIDS=""
}

echo "peers: $THREADS wrk threads, $CONNECTIONS connections, ${DURATION}s a target after ${WARMUP}s of warm-up; $COUNT pre-signed deliveries a target"
echo "peers: this machine has $(nproc) cores, shared by wrk, the server under test and its database, the same for every target"
echo "peers: PostgreSQL as scripts/with-postgres starts it (fsync=off) for every PostgreSQL target; hookforge-sqlite syncs every commit (--sync full)"
printf 'target\trps\taccepted\trequests\tnon2xx\terrors\tp50_us\tp99_us\tcpu_server_s\tcpu_db_s\tstored\tvalid\n' > "$TMP/results.tsv"

for t in $TARGETS; do
  if [ "$t" = svix ] && { [ ! -x "$PEERS/svix.sh" ] || ! "$PEERS/svix.sh" built; }; then
    echo "== svix: skipped (not built: benches/peers/svix.sh build; see there)"; continue
  fi
  # Signed just before the target starts: the Standard Webhooks tolerance
  # is 5 minutes. Same ids, bodies and secret for every target.
  python3 "$PEERS/sign.py" --secret "$SECRET" --count "$COUNT" --threads "$THREADS" --run "$RUN_TAG" --out "$TMP/stream"
  if [ "$WARMUP" -gt 0 ]; then
    python3 "$PEERS/sign.py" --secret "$SECRET" --count $(( MAX_RATE * WARMUP * 12 / 10 )) --threads "$THREADS" \
      --run "${RUN_TAG}w" --out "$TMP/warm"
  fi
  start_target "$t" || { echo "!! $t: did not start; skipped" >&2; stop_target; continue; }
  if [ "$WARMUP" -gt 0 ]; then
    # Warm-up (JIT, pools, caches) with ids of its own; its rows are not counted.
    PEERS_STREAM="$TMP/warm" PEERS_MODE="$MODE" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
      -s "$PEERS/signed.lua" "$ADDR$ROUTE" > "$TMP/$t.warm"
    sleep 0.5
    echo "== $t: warmed up for ${WARMUP}s ($(stored "$t" "msg_bench${RUN_TAG}w_") deliveries, not counted)"
  fi
  echo "== $t: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $ADDR$ROUTE"
  db_pids="$PG_PID $EXTRA_PIDS"
  [ "$t" = hookforge-sqlite ] && db_pids=""
  cpu0=$(python3 "$PEERS/cpu.py" seconds $PID); db0=$(python3 "$PEERS/cpu.py" seconds $db_pids)
  PEERS_STREAM="$TMP/stream" PEERS_MODE="$MODE" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$PEERS/signed.lua" "$ADDR$ROUTE" | tee "$TMP/$t.wrk"
  cpu1=$(python3 "$PEERS/cpu.py" seconds $PID); db1=$(python3 "$PEERS/cpu.py" seconds $db_pids)
  sleep 0.5 # requests wrk left in flight finish (they count as stored, not as 2xx)
  stop_target
  n=$(stored "$t" "msg_bench${RUN_TAG}_" || echo 0); n=${n:-0}
  line=$(grep '^PEERS ' "$TMP/$t.wrk")
  get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  req=$(get requests); non2xx=$(get non2xx); dur=$(get duration_us)
  errs=$(( $(get connect) + $(get read) + $(get write) + $(get timeout) ))
  ok=$(( req - non2xx ))
  valid=yes
  if [ "$non2xx" -gt 0 ]; then valid=no; echo "!! $t: $non2xx answers other than 2xx; this run is not valid" >&2; fi
  if grep -q 'STREAM EXHAUSTED' "$TMP/$t.wrk"; then valid=no; echo "!! $t: the signed stream ran out (raise PEERS_MAX_RATE); not valid" >&2; fi
  if [ "$n" -lt "$ok" ]; then valid=no; echo "!! $t: stored $n < $ok answered 2xx: acknowledged deliveries were lost" >&2; fi
  if [ "$ok" -eq 0 ]; then valid=no; fi
  echo "stored: $n (2xx: $ok); server CPU $(python3 -c "print(f'{$cpu1-$cpu0:.2f}')") s, database CPU $(python3 -c "print(f'{$db1-$db0:.2f}')") s"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" \
    "$(python3 -c "print(f'{$ok / ($dur / 1e6):.0f}')")" "$ok" "$req" "$non2xx" "$errs" \
    "$(get p50_us)" "$(get p99_us)" "$(python3 -c "print(f'{$cpu1-$cpu0:.2f}')")" \
    "$(python3 -c "print(f'{$db1-$db0:.2f}')")" "$n" "$valid" >> "$TMP/results.tsv"
done

python3 - "$TMP/results.tsv" "$(nproc)" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
peers = [r for r in rows if not r["target"].startswith("hookforge") and r["valid"] == "yes"]
best = max(peers, key=lambda r: float(r["rps"]), default=None)
print()
print(f"== summary ({sys.argv[2]} cores shared by wrk, server and database, for every target alike;"
      " CPU ms per accepted delivery; db = PostgreSQL (+ Redis for svix))")
head = ["target", "accepted/s", "p50 ms", "p99 ms", "cpu ms/dlv", "+db ms/dlv", "stored/2xx", "valid",
        "x best peer/s", "p99 / best peer"]
w = [16, 10, 8, 8, 10, 10, 17, 5, 13, 15]
print("  ".join(f"{h:>{n}}" for h, n in zip(head, w)))
for r in rows:
    ok = int(r["accepted"])
    cpu = float(r["cpu_server_s"]) * 1000 / ok if ok else float("nan")
    db = float(r["cpu_db_s"]) * 1000 / ok if ok else float("nan")
    ratio = p99r = "-"
    if best and r["valid"] == "yes":
        ratio = f"{float(r['rps']) / float(best['rps']):.2f}x"
        p99r = f"{int(r['p99_us']) / int(best['p99_us']):.2f}x"
    cells = [r["target"], r["rps"], f"{int(r['p50_us'])/1000:.2f}", f"{int(r['p99_us'])/1000:.2f}",
             f"{cpu:.3f}", f"{db:.3f}", f"{r['stored']}/{ok}", r["valid"], ratio, p99r]
    print("  ".join(f"{c:>{n}}" for c, n in zip(cells, w)))
if best:
    print(f"best peer: {best['target']} ({best['rps']}/s, p99 {int(best['p99_us'])/1000:.2f} ms)."
          " Goal: hookforge >= 3x the best peer's durable throughput at a lower p99.")
    for r in rows:
        if r["target"].startswith("hookforge") and r["valid"] == "yes":
            x = float(r["rps"]) / float(best["rps"])
            lower = int(r["p99_us"]) < int(best["p99_us"])
            print(f"  {r['target']}: {x:.2f}x ({'meets' if x >= 3 and lower else 'misses'} the goal;"
                  f" p99 {'lower' if lower else 'not lower'})")
else:
    print("no valid peer run: no ratios")
EOF
