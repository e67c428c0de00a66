#!/bin/sh
# Times `sanbao import` of N unsorted rows (default 1,000,000) against a raw
# sorted bbolt load of the same rows, ROUNDS times alternately (default 2),
# and prints the best time of each and their ratio (target: <= 1.5) and the
# file sizes. The machine is shared: compare the ratio, not the seconds.
#
#   bench/import/run.sh            N=200000 ROUNDS=3 bench/import/run.sh
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
	how="registry.Import via importbench (cmd/sanbao not built)"
fi
echo "generating $N unsorted rows"
"$OUT/importbench" gen -n "$N" >"$OUT/rows.csv"

best() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b < a) print b; else print a }'; }
raw_best= import_best=
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	rm -f "$OUT/raw.db" "$OUT/sanbao.db"
	raw=$("$OUT/importbench" raw --db "$OUT/raw.db" "$OUT/rows.csv")
	"$OUT/importbench" models --db "$OUT/sanbao.db"
	if [ -x "$OUT/sanbao" ]; then
		start=$(date +%s.%N)
		"$OUT/sanbao" import --db "$OUT/sanbao.db" "$OUT/rows.csv" >/dev/null 2>"$OUT/import.log"
		end=$(date +%s.%N)
		imp=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
	else
		imp=$("$OUT/importbench" import --db "$OUT/sanbao.db" "$OUT/rows.csv" 2>"$OUT/import.log")
	fi
	echo "round $i: raw bbolt load ${raw}s, $how ${imp}s"
	raw_best=$(best "$raw_best" "$raw")
	import_best=$(best "$import_best" "$imp")
done
size() { du -m --apparent-size "$1" | cut -f1; }
awk -v r="$raw_best" -v i="$import_best" -v n="$N" -v rs="$(size "$OUT/raw.db")" -v is="$(size "$OUT/sanbao.db")" 'BEGIN {
	printf "best of each: raw %.2fs, import %.2fs (%.0f rows/s), ratio %.2f (target <= 1.5)\n", r, i, n / i, i / r
	printf "file size: raw %d MiB, sanbao %d MiB\n", rs, is
}'
