#!/usr/bin/env bash
# Stops the cluster bench/pg/start.sh started in DIR and removes DIR.
set -euo pipefail
dir=${1:?usage: stop.sh DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
as=()
[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
rm -rf "$dir"
