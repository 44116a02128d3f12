#!/usr/bin/env bash
# The quickstart behind `make demo`: generate event rows as Parquet, create
# quickstart.events, then validate, dry-run and run examples/quickstart/job.yaml
# and show what landed.
#
#   CH_PORT=9000 bash examples/quickstart/demo.sh
#
# Environment: ROWS (default 200000), DATA_DIR (default: a new directory under
# /tmp), CH_HOST, CH_PORT, CH_USER, CH_PASSWORD (as in job.yaml), CHLOAD (the
# chload binary, default bin/chload).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export DATA_DIR=${DATA_DIR:-$(mktemp -d /tmp/chload-quickstart.XXXXXX)}
export CH_HOST=${CH_HOST:-127.0.0.1}
export CH_PORT=${CH_PORT:-9000}
export CH_USER=${CH_USER:-default}
export CH_PASSWORD=${CH_PASSWORD:-}
rows=${ROWS:-200000}
chload=${CHLOAD:-$root/bin/chload}

client=(clickhouse-client --host "$CH_HOST" --port "$CH_PORT" --user "$CH_USER")
if [[ -n $CH_PASSWORD ]]; then
	client+=(--password "$CH_PASSWORD")
fi
step() { printf '\n== %s\n' "$*"; }

step "generating $rows event rows as Parquet in $DATA_DIR/events"
(cd "$root" && go run ./internal/cmd/genevents -rows "$rows" -files 4 -row-group-rows 25000 \
	-months 6 -seed 1 -out "$DATA_DIR/events")

step "creating quickstart.events (examples/quickstart/schema.sql)"
"${client[@]}" --query "DROP TABLE IF EXISTS quickstart.events"
"${client[@]}" --multiquery < "$here/schema.sql"

step "chload validate examples/quickstart/job.yaml"
"$chload" validate "$here/job.yaml"

step "chload dry-run examples/quickstart/job.yaml"
"$chload" dry-run "$here/job.yaml"

step "chload run examples/quickstart/job.yaml"
"$chload" run "$here/job.yaml"

step "what landed: parts and rows per partition"
"${client[@]}" --query "SELECT partition, count() AS parts, sum(rows) AS rows FROM system.parts WHERE database = 'quickstart' AND table = 'events' AND active GROUP BY partition ORDER BY partition FORMAT PrettyCompact"
"${client[@]}" --query "SELECT event_type, count() AS events, uniqExact(user_id) AS users FROM quickstart.events GROUP BY event_type ORDER BY events DESC LIMIT 5 FORMAT PrettyCompact"
