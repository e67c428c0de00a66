#!/usr/bin/env bash
# Stops the cluster bench/pg/start.sh started in DIR (at once, as a crash
# or a lost database host would) and removes DIR, unless --keep.
#   bench/pg/stop.sh [--keep] DIR
set -euo pipefail
keep=
if [ "${1:-}" = --keep ]; then keep=1; shift; fi
dir=${1:?usage: stop.sh [--keep] DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
as=()
[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
[ -n "$keep" ] || rm -rf "$dir"
