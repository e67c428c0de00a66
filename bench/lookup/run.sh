#!/usr/bin/env bash
# Lookup benchmark: GET /api/v1/items/{serial} on a registry of 1,000,000
# serials, against a floor of one bbolt Get behind a bare echo route on the
# same file (bench/lookup/baseline), in the same run on the same machine, so
# the ratio means something on a shared 2-core box. Target: ratio >= 0.8 and
# sanbao p99 <= 10 ms at 64 connections.
#
# Everything listens on 127.0.0.1 only and every load is bounded by DURATION.
#
#   bench/lookup/run.sh                 # build, seed once (cached), measure
#   FRESH=1 bench/lookup/run.sh         # rebuild the database
#   N=100000 DURATION=5s bench/lookup/run.sh
#
# Variables: N (serials, 1000000), CONNS (64), THREADS (2), DURATION (15s),
# WARMUP (5s), WORK (/tmp/sanbao-bench-lookup: binaries, CSV, database, logs).
set -euo pipefail

N=${N:-1000000}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-5s}
WORK=${WORK:-/tmp/sanbao-bench-lookup}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

command -v wrk >/dev/null || { echo "run.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
mkdir -p "$WORK"
DB="$WORK/bench-$N.db"
KEYFILE="$DB.key"

echo "== building"
(cd "$ROOT" && go build -o "$WORK/sanbao" ./cmd/sanbao \
  && go build -o "$WORK/seed" ./bench/lookup/seed \
  && go build -o "$WORK/baseline" ./bench/lookup/baseline)

if [[ "${FRESH:-0}" == 1 || ! -s "$DB" || ! -s "$KEYFILE" ]]; then
  echo "== seeding $N serials into $DB"
  rm -f "$DB" "$KEYFILE"
  "$WORK/seed" --db "$DB" --sku BENCH-1
  awk -v n="$N" 'BEGIN {
    print "serial,sku,batch,produced_on"
    for (i = 0; i < n; i++) printf "SN%08d,BENCH-1,B%05d,2026-01-%02d\n", i, int(i / 1000), 1 + i % 28
  }' >"$WORK/items.csv"
  start=$(date +%s)
  "$WORK/sanbao" import --db "$DB" "$WORK/items.csv" 2>"$WORK/import.log"
  echo "   imported in $(( $(date +%s) - start )) s; file $(du -h "$DB" | cut -f1)"
  "$WORK/sanbao" keys create --db "$DB" --role service --name bench 2>/dev/null >"$KEYFILE"
fi
export BENCH_N=$N BENCH_KEY
BENCH_KEY=$(cat "$KEYFILE")

PID=""
cleanup() { if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# start NAME CMD... runs a server logging to $WORK/NAME.log and sets PID and
# URL from its "listening on" line.
start() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PID=$!
  URL=""
  for _ in $(seq 100); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/$name.log" | head -1 | sed 's/listening on //') || true
    [[ -n "$URL" ]] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "run.sh: $name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1
}

# measure NAME: warm up (page cache, connections), then the measured run.
measure() {
  local name=$1 probe
  probe=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_KEY" "$URL/api/v1/items/SN00000000")
  [[ "$probe" == 200 ]] || { echo "run.sh: $name answers $probe for a registered serial" >&2; exit 1; }
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$HERE/lookup.lua" "$URL" >/dev/null
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$HERE/lookup.lua" "$URL" | tee "$WORK/$name.wrk" | grep RESULT
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

field() { grep -o "$2=[0-9.]*" "$WORK/$1.wrk" | cut -d= -f2; }

echo "== baseline: one bbolt Get behind echo ($THREADS threads, $CONNS connections, $DURATION)"
start baseline "$WORK/baseline" --db "$DB" --addr 127.0.0.1:0
measure baseline

echo "== sanbao serve: GET /api/v1/items/{serial} with a bearer key"
start sanbao "$WORK/sanbao" serve --db "$DB" --addr 127.0.0.1:0
measure sanbao

b_rps=$(field baseline rps); s_rps=$(field sanbao rps)
b_p99=$(field baseline p99_ms); s_p99=$(field sanbao p99_ms)
for name in baseline sanbao; do
  if [[ "$(field $name non2xx)" != 0 || "$(field $name socket_errors)" != 0 ]]; then
    echo "WARNING: $name had errors: $(grep RESULT "$WORK/$name.wrk")"
  fi
done
awk -v br="$b_rps" -v sr="$s_rps" -v bp="$b_p99" -v sp="$s_p99" -v c="$CONNS" 'BEGIN {
  ratio = sr / br
  printf "\n%-10s %12s %10s\n", "", "req/s", "p99 ms"
  printf "%-10s %12.0f %10.2f\n", "baseline", br, bp
  printf "%-10s %12.0f %10.2f\n", "sanbao", sr, sp
  printf "ratio sanbao/baseline = %.2f (target >= 0.80); sanbao p99 %.2f ms at %d connections (target <= 10)\n", ratio, sp, c
  if (ratio < 0.8 || sp > 10) { print "TARGET MISSED"; exit 3 }
  print "TARGET MET"
}'
