#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for tests and benchmarks and prints
# its DSN (export it as SANBAO_TEST_POSTGRES). The cluster lives in DIR
# (default: a new temporary folder), listens on a unix socket in DIR only
# (no TCP port to collide with), and runs as the postgres user when started
# by root: PostgreSQL refuses to run as root.
#
#   eval "$(bench/pg/start.sh)"        # exports SANBAO_TEST_POSTGRES and SANBAO_PG_DIR
#   bench/pg/stop.sh "$SANBAO_PG_DIR"
#
# Given a DIR holding a cluster already (stopped with stop.sh --keep), it
# starts that cluster again.
#
# fsync stays on (the tests check that nothing acknowledged is lost);
# synchronous_commit too.
set -euo pipefail
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "start.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi
dir=${1:-$(mktemp -d /tmp/sanbao-pg.XXXXXX)}
mkdir -p "$dir"
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as=(runuser -u postgres --)
fi
fresh=
if [ ! -d "$dir/data" ]; then
  fresh=1
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U sanbao --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
fi
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
  -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200 -c shared_buffers=128MB" >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
[ -z "$fresh" ] || "${as[@]}" "$bin/createdb" -h "$dir" -U sanbao sanbao
echo "export SANBAO_PG_DIR='$dir'"
echo "export SANBAO_TEST_POSTGRES='postgres://sanbao@/sanbao?host=$dir'"
