#!/bin/sh
# Times `sanbao import` of N unsorted rows (default 1,000,000) against a raw
# sorted bbolt load of the same rows (parse, sort, put serial -> row in
# transactions of 250,000), ROUNDS times alternately (default 2). Prints the
# best wall and CPU seconds of each, their ratios (target: <= 1.5) and the
# file sizes. The machine is shared: trust ratios over seconds, and CPU
# over wall when others are busy.
#
#   bench/import/run.sh            N=200000 ROUNDS=3 bench/import/run.sh
#
# PostgreSQL mode, PG=postgres://… (e.g. "$SANBAO_TEST_POSTGRES" after
# eval "$(bench/pg/start.sh)"): `sanbao import --db` that database (schema
# bench_import, emptied each round) against a raw COPY of the same CSV into
# a table keyed by serial (schema bench_import_raw). Target: <= 2.
#
#   PG="$SANBAO_TEST_POSTGRES" bench/import/run.sh
set -eu
cd "$(dirname "$0")/../.."
N=${N:-1000000}
ROUNDS=${ROUNDS:-2}
OUT=bench/out/import
mkdir -p "$OUT"

go build -o "$OUT/importbench" ./bench/import/importbench
if [ -f cmd/sanbao/main.go ]; then
	go build -o "$OUT/sanbao" ./cmd/sanbao
	how="sanbao import (CLI)"
else
	how="bolt.DB.Import via importbench (cmd/sanbao not there)"
fi
echo "generating $N unsorted rows"
"$OUT/importbench" gen -n "$N" >"$OUT/rows.csv"

min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
raw_wall= raw_cpu= imp_wall= imp_cpu=
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	rm -f "$OUT/raw.db" "$OUT/sanbao.db"
	if [ -n "${PG:-}" ]; then
		psql -q "$PG" -c "DROP SCHEMA IF EXISTS bench_import_raw CASCADE" -c "CREATE SCHEMA bench_import_raw" \
			-c "DROP SCHEMA IF EXISTS bench_import CASCADE" -c "CREATE SCHEMA bench_import"
		case "$PG" in *\?*) sep='&' ;; *) sep='?' ;; esac
		set -- $("$OUT/importbench" rawpg --db "$PG${sep}search_path=bench_import_raw" "$OUT/rows.csv")
		rw=$1 rc=$2
		target="$PG${sep}search_path=bench_import"
		how="sanbao import (CLI) into PostgreSQL" raw_how="raw COPY"
	else
		set -- $("$OUT/importbench" raw --db "$OUT/raw.db" "$OUT/rows.csv")
		rw=$1 rc=$2
		target="$OUT/sanbao.db" raw_how="raw bbolt load"
	fi
	"$OUT/importbench" models --db "$target"
	if [ -x "$OUT/sanbao" ]; then
		set -- $("$OUT/importbench" time "$OUT/sanbao" import --db "$target" "$OUT/rows.csv" 2>"$OUT/import.log")
	else
		set -- $("$OUT/importbench" import --db "$OUT/sanbao.db" "$OUT/rows.csv" 2>"$OUT/import.log")
	fi
	iw=$1 ic=$2
	echo "round $i: $raw_how ${rw}s (cpu ${rc}s), $how ${iw}s (cpu ${ic}s)"
	raw_wall=$(min "$raw_wall" "$rw") raw_cpu=$(min "$raw_cpu" "$rc")
	imp_wall=$(min "$imp_wall" "$iw") imp_cpu=$(min "$imp_cpu" "$ic")
done
if [ -n "${PG:-}" ]; then
	# CPU is the client's only (the server's is PostgreSQL's): compare walls.
	awk -v rw="$raw_wall" -v iw="$imp_wall" -v n="$N" 'BEGIN {
		printf "best wall: raw COPY %.2fs, sanbao import %.2fs (%.0f rows/s), ratio %.2f (target <= 2)\n", rw, iw, n / iw, iw / rw
	}'
	exit 0
fi
size() { du -m --apparent-size "$1" | cut -f1; }
awk -v rw="$raw_wall" -v rc="$raw_cpu" -v iw="$imp_wall" -v ic="$imp_cpu" -v n="$N" \
	-v rs="$(size "$OUT/raw.db")" -v is="$(size "$OUT/sanbao.db")" 'BEGIN {
	printf "best wall: raw %.2fs, import %.2fs (%.0f rows/s), ratio %.2f (target <= 1.5)\n", rw, iw, n / iw, iw / rw
	printf "best cpu:  raw %.2fs, import %.2fs, ratio %.2f\n", rc, ic, ic / rc
	printf "file size: raw %d MiB, sanbao %d MiB\n", rs, is
}'
