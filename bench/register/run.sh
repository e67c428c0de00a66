#!/bin/sh
# Peak memory of a server process for one registration request: starts
# `sanbao serve` on a fresh database (the models of bench/import's rows),
# POSTs N generated rows (default 100,000) as text/csv — or as JSON with
# FORMAT=json — to /api/v1/items, and reads the process's peak RSS (VmHWM)
# before and after. ROUNDS times (default 3), a new process each; prints each
# round and the lowest, as multiples of the body size: the whole peak, and
# the growth over the idle server's peak. Target: growth <= 10x the body.
#
# PostgreSQL mode, PG=postgres://… (e.g. "$SANBAO_TEST_POSTGRES" after
# eval "$(bench/pg/start.sh)"): the same against the PostgreSQL store, in a
# schema bench_register made afresh each round; the RSS is serve's only
# (PostgreSQL's own processes are not counted).
#
#   bench/register/run.sh      N=200000 FORMAT=json ROUNDS=5 bench/register/run.sh
#   PG="$SANBAO_TEST_POSTGRES" bench/register/run.sh
set -eu
cd "$(dirname "$0")/../.."
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
FORMAT=${FORMAT:-csv}
PORT=${PORT:-18971}
OUT=bench/out/register
mkdir -p "$OUT"

go build -o "$OUT/importbench" ./bench/import/importbench
go build -o "$OUT/sanbao" ./cmd/sanbao
"$OUT/importbench" gen -n "$N" >"$OUT/rows.csv"
body="$OUT/rows.csv" type=text/csv
if [ "$FORMAT" = json ]; then
	# The same rows as {"items": [...]}, accessories as objects.
	awk -F, 'NR == 1 { printf "{\"items\": ["; next }
	{
		if (NR > 2) printf ","
		printf "{\"serial\":\"%s\",\"sku\":\"%s\",\"batch\":\"%s\",\"produced_on\":\"%s\"", $1, $2, $3, $4
		if ($5 != "") { split($5, a, ":"); printf ",\"accessories\":[{\"sku\":\"%s\",\"batch\":\"%s\"}]", a[1], a[2] }
		printf "}"
	}
	END { print "]}" }' "$OUT/rows.csv" >"$OUT/rows.json"
	body="$OUT/rows.json" type=application/json
fi
size=$(wc -c <"$body")
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

best_peak= best_growth=
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	db="$OUT/sanbao.db"
	if [ -n "${PG:-}" ]; then
		psql -q "$PG" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS bench_register CASCADE" -c "CREATE SCHEMA bench_register"
		case "$PG" in *\?*) db="$PG&search_path=bench_register" ;; *) db="$PG?search_path=bench_register" ;; esac
	else
		rm -f "$db"
	fi
	"$OUT/importbench" models --db "$db"
	key=$("$OUT/sanbao" keys create --db "$db" --role admin --name bench 2>/dev/null)
	"$OUT/sanbao" serve --db "$db" --addr "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
	pid=$!
	up=0
	while [ "$up" -lt 50 ] && ! curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null; do up=$((up + 1)); sleep 0.1; done
	idle=$(hwm "$pid")
	status=$(curl -s -o "$OUT/answer.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
		-H "Content-Type: $type" --data-binary "@$body" "http://127.0.0.1:$PORT/api/v1/items")
	peak=$(hwm "$pid")
	kill "$pid"
	wait "$pid" || true
	if [ "$status" != 201 ]; then
		echo "round $i: status $status: $(head -c 300 "$OUT/answer.json")" >&2
		exit 1
	fi
	growth=$((peak - idle))
	awk -v i="$i" -v idle="$idle" -v peak="$peak" -v g="$growth" -v s="$size" 'BEGIN {
		printf "round %d: idle %.1f MB, peak %.1f MB (%.1fx the body), growth %.1f MB (%.1fx)\n", i, idle / 1024, peak / 1024, peak * 1024 / s, g / 1024, g * 1024 / s }'
	if [ -z "$best_peak" ] || [ "$peak" -lt "$best_peak" ]; then best_peak=$peak; fi
	if [ -z "$best_growth" ] || [ "$growth" -lt "$best_growth" ]; then best_growth=$growth; fi
done
awk -v n="$N" -v f="$FORMAT" -v pg="${PG:+ (PostgreSQL)}" -v s="$size" -v p="$best_peak" -v g="$best_growth" 'BEGIN {
	printf "%d rows as %s%s, body %.2f MB: lowest peak RSS %.1f MB = %.1fx the body; lowest growth %.1f MB = %.1fx (target <= 10x)\n",
		n, f, pg, s / 1048576, p / 1024, p * 1024 / s, g / 1024, g * 1024 / s }'
