#!/usr/bin/env bash
# bench.sh: time `chload run` against clickhouse-client Native inserts of the
# same rows into the same kind of table, and check every table holds exactly
# the source rows.
#
#   bash internal/bench/bench.sh [-rows N]
#
# Runs, each into a fresh MergeTree table with merges stopped:
#   chload          bin/chload run JOB (Parquet files -> bench.events_chload)
#   native source   clickhouse-client INSERT ... FORMAT Native, rows in source order
#   native sorted   the same rows pre-sorted by (month, event_type, user_id, event_time)
#
# With BENCH_CLUSTER=1 the cluster section follows (internal/bench/cluster.sh
# tells what it runs and checks, and its own settings): the same rows into a
# Distributed table over a sharded, replicated cluster, chload against
# clickhouse-client's Distributed insert, summed up in a `bench-cluster:` line.
#
# Environment (all optional):
#   BENCH_ROWS          rows (default 5000000; -rows N overrides)
#   BENCH_SCALE         when > 1, also load BENCH_SCALE x rows with chload and
#                       report peak RSS growth (e.g. BENCH_SCALE=4)
#   BENCH_FILES         Parquet files (default 8)
#   BENCH_ROW_GROUP_ROWS rows per row group (default 250000)
#   BENCH_BASELINE_ONLY=1  skip the chload runs (exit 0 without bin/chload)
#   BENCH_CLUSTER=1     also run the cluster section (needs the cluster:
#                       bash internal/testenv/chenv.sh start cluster)
#   BENCH_SINGLE=0      skip the single-node section (with BENCH_CLUSTER=1)
#   CHLOAD              chload binary (default bin/chload)
#   CHLOAD_BENCH_DIR    data cache (default /tmp/chload-bench); data is keyed by
#                       generator version and parameters and reused
#   BENCH_MEMORY=0      skip the memory section: chload's peak RSS at each
#                       budget in BENCH_BUDGETS (default "128MiB 256MiB 1GiB")
#                       for the events set and for the wide set (rows of a
#                       2 KB string, internal/cmd/genwide)
#   BENCH_MEMORY_ONLY=1 run only the memory section
#   BENCH_WIDE_ROWS     rows of the wide set (default 524288, 1 GiB of strings)
#   BENCH_WIDE_ROW_GROUP_ROWS rows per row group of the wide set (default
#                       65536: row groups of 128 MiB)
#   CH_HOST CH_PORT CH_USER CH_PASSWORD  server (default 127.0.0.1:19000, default user)
#
# Exit status: 0 when every run loaded exactly the source rows, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${BENCH_ROWS:-5000000}
while [[ $# -gt 0 ]]; do
	case $1 in
	-rows | --rows)
		rows=${2:?-rows needs a value}
		shift 2
		;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench: unknown argument $1 (use -rows N)" >&2
		exit 2
		;;
	esac
done
scale=${BENCH_SCALE:-1}
files=${BENCH_FILES:-8}
rg_rows=${BENCH_ROW_GROUP_ROWS:-250000}
months=6
seed=1
baseline_only=${BENCH_BASELINE_ONLY:-0}
single=${BENCH_SINGLE:-1}
cluster=${BENCH_CLUSTER:-0}
memory_only=${BENCH_MEMORY_ONLY:-0}
# The memory section goes with the single-node section by default, and never
# with a baseline-only run (it times chload).
memory_default=$single
[[ $baseline_only == 1 ]] && memory_default=0
memory=${BENCH_MEMORY:-$memory_default}
budgets=${BENCH_BUDGETS:-128MiB 256MiB 1GiB}
wide_rows=${BENCH_WIDE_ROWS:-524288}
wide_rg_rows=${BENCH_WIDE_ROW_GROUP_ROWS:-65536}
if [[ $memory_only == 1 ]]; then
	memory=1 single=0 cluster=0
fi
chload=${CHLOAD:-$root/bin/chload}
cache=${CHLOAD_BENCH_DIR:-/tmp/chload-bench}
export CH_HOST=${CH_HOST:-127.0.0.1}
export CH_PORT=${CH_PORT:-19000}
export CH_USER=${CH_USER:-default}
export CH_PASSWORD=${CH_PASSWORD:-}

for n in "$rows" "$scale" "$files" "$rg_rows" "$wide_rows" "$wide_rg_rows"; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
		echo "bench: $n is not a positive integer (rows, BENCH_SCALE, BENCH_FILES, BENCH_ROW_GROUP_ROWS)" >&2
		exit 2
	fi
done

client=(clickhouse-client --host "$CH_HOST" --port "$CH_PORT" --user "$CH_USER")
if [[ -n $CH_PASSWORD ]]; then
	client+=(--password "$CH_PASSWORD")
fi
ch() { "${client[@]}" --query "$1"; }

log() { echo "bench: $*" >&2; }
die() {
	echo "bench: FAIL: $*" >&2
	exit 1
}

if [[ $single != 0 || $memory == 1 ]] && ! server_version=$(ch "SELECT version()" 2>&1); then
	die "clickhouse at $CH_HOST:$CH_PORT does not answer ($server_version); start it with: bash internal/testenv/chenv.sh start single"
fi
if [[ $single == 0 && $cluster != 1 && $memory != 1 ]]; then
	die "BENCH_SINGLE=0 leaves nothing to run without BENCH_CLUSTER=1"
fi
if [[ $cluster == 1 ]]; then
	# shellcheck source=internal/bench/cluster.sh
	source "$root/internal/bench/cluster.sh"
fi

mkdir -p "$cache/bin" "$cache/run"
gen=$cache/bin/genevents
(cd "$root" && go build -o "$gen" ./internal/cmd/genevents) || die "build genevents"
version=$("$gen" -version)

# dataset ROWS FILES: makes sure the data set for ROWS rows in FILES files is
# in the cache (Parquet files, source-order Native file unless NO_NATIVE=1,
# checksum read back from the Parquet files) and prints its directory.
dataset() {
	local n=$1 nfiles=$2 dir
	dir=$cache/data/$version-r$n-f$nfiles-g$rg_rows-m$months-s$seed
	if [[ ! -e $dir/generated.ok ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		local native=(-native "$dir/source.native")
		if [[ ${NO_NATIVE:-0} == 1 ]]; then
			native=()
		fi
		log "generating $n rows into $dir"
		"$gen" -rows "$n" -files "$nfiles" -row-group-rows "$rg_rows" -months "$months" -seed "$seed" \
			-out "$dir/parquet" "${native[@]}" -checksum-out "$dir/generated.checksum" >&2 || die "generate $dir"
		"$gen" -checksum -out "$dir/parquet" >"$dir/source.checksum" || die "checksum parquet files in $dir"
		cmp -s "$dir/generated.checksum" "$dir/source.checksum" || die "parquet files in $dir do not hold the generated rows"
		touch "$dir/generated.ok"
	else
		log "reusing data in $dir"
	fi
	echo "$dir"
}

# fresh_table T: drops and creates the events table T with merges stopped.
fresh_table() {
	ch "CREATE DATABASE IF NOT EXISTS bench"
	ch "DROP TABLE IF EXISTS $1"
	ch "$("$gen" -ddl "$1")"
	ch "SYSTEM STOP MERGES $1"
}

# timed OUT CMD...: runs CMD under /usr/bin/time; OUT gets "seconds maxrss_kb
# cpu_seconds" (user plus system).
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M %U %S' -o "$out" "$@" &&
		awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
}

# verify T SUMFILE: prints "rows parts check" for table T.
verify() {
	local t=$1 want=$2 got rows parts check=ok
	got=$(ch "$("$gen" -checksum-query "$t")")
	rows=$(cut -f1 <<<"$got")
	parts=$(ch "SELECT count() FROM system.parts WHERE active AND database = '${t%%.*}' AND table = '${t#*.}'")
	if [[ $got != "$(cat "$want")" ]]; then
		check=MISMATCH
		{
			echo "bench: $t does not hold the source rows (count, then per-column hash sums)"
			echo "  table:  $got"
			echo "  source: $(cat "$want")"
		} >&2
	fi
	echo "$rows $parts $check"
}

# write_job DIR TABLE FILE: writes a job file loading DIR's Parquet files into TABLE.
write_job() {
	cat >"$3" <<EOF
version: 1
name: bench_events
source:
  type: parquet
  paths: ["$1/parquet/*.parquet"]
target:
  clickhouse:
    hosts: ["\${CH_HOST}:\${CH_PORT}"]
    user: \${CH_USER:-default}
    password: \${CH_PASSWORD:-}
  table: $2
write:
  mode: append
  batch_rows: 1000000
EOF
}

# run_chload DIR: loads DIR's Parquet files with chload into a fresh
# bench.events_chload; sets secs, rss_mib, rows_loaded, parts, check.
run_chload() {
	local dir=$1 job=$cache/run/job.yaml t=bench.events_chload
	write_job "$dir" "$t" "$job"
	fresh_table "$t"
	log "chload run ($(cut -f1 "$dir/source.checksum") rows)"
	if ! timed "$cache/run/chload.time" "$chload" run "$job" >"$cache/run/chload.log" 2>&1; then
		tail -n 20 "$cache/run/chload.log" >&2
		die "chload run failed (log: $cache/run/chload.log)"
	fi
	read -r secs rss_kb cpu_secs <"$cache/run/chload.time"
	rss_mib=$((rss_kb / 1024))
	local v
	v=$(verify "$t" "$dir/source.checksum") || die "check $t"
	read -r rows_loaded parts check <<<"$v"
}

# run_native FILE LABEL: loads a Native file into a fresh bench.events_native;
# sets secs, rows_loaded, parts, check.
run_native() {
	local t=bench.events_native rss_kb
	fresh_table "$t"
	log "native insert: $2"
	timed "$cache/run/native.time" "${client[@]}" --query "INSERT INTO $t FORMAT Native" <"$1" ||
		die "native insert of $1 failed"
	read -r secs rss_kb _ <"$cache/run/native.time"
	local v
	v=$(verify "$t" "$data/source.checksum") || die "check $t"
	read -r rows_loaded parts check <<<"$v"
}

failed=0
row_format='%-34s %8s %10s %6s %13s  %s\n'
row() { # label secs rows parts rss check
	# shellcheck disable=SC2059
	printf "$row_format" "$@"
	if [[ $6 != ok ]]; then
		failed=1
	fi
}

data=$(dataset "$rows" "$files")

if [[ $single != 0 ]]; then
	# (b) native, source order.
	run_native "$data/source.native" "source order"
	nat_secs=$secs nat_rows=$rows_loaded nat_parts=$parts nat_check=$check

	# (c) native, pre-sorted; the sorted file is made once from the loaded table.
	if [[ ! -e $data/sorted.ok ]]; then
		log "writing the sorted Native file"
		"${client[@]}" --max_block_size=1048576 --query "SELECT * FROM bench.events_native
			ORDER BY toYYYYMM(event_date), event_type, user_id, event_time FORMAT Native" >"$data/sorted.native.tmp" ||
			die "write sorted native file"
		mv "$data/sorted.native.tmp" "$data/sorted.native"
		touch "$data/sorted.ok"
	fi
	run_native "$data/sorted.native" "sorted"
	srt_secs=$secs srt_rows=$rows_loaded srt_parts=$parts srt_check=$check

	# (a) chload.
	have_chload=1
	if [[ $baseline_only == 1 ]]; then
		have_chload=0
	elif [[ ! -x $chload ]]; then
		echo "bench: FAIL: $chload is missing; build it first (or BENCH_BASELINE_ONLY=1)" >&2
		have_chload=0
		failed=1
	else
		run_chload "$data"
		chl_secs=$secs chl_cpu=$cpu_secs chl_rss=$rss_mib chl_rows=$rows_loaded chl_parts=$parts chl_check=$check
	fi

	echo
	echo "bench: $rows rows in $files Parquet files ($rg_rows-row groups, $months months, seed $seed), data $data"
	echo "bench: server $CH_HOST:$CH_PORT ClickHouse $server_version; tables MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_type, user_id, event_time), merges stopped"
	echo
	# shellcheck disable=SC2059
	printf "$row_format" "run" "time_s" "rows" "parts" "peak_rss_MiB" "check"
	if [[ $have_chload == 1 ]]; then
		row "chload run" "$chl_secs" "$chl_rows" "$chl_parts" "$chl_rss" "$chl_check"
	else
		printf '%-34s %8s\n' "chload run" "skipped"
	fi
	row "native, source order" "$nat_secs" "$nat_rows" "$nat_parts" "-" "$nat_check"
	row "native, sorted (month, key)" "$srt_secs" "$srt_rows" "$srt_parts" "-" "$srt_check"
	echo

	if [[ $have_chload == 1 ]]; then
		ratio=$(awk -v a="$chl_secs" -v b="$nat_secs" 'BEGIN { printf "%.2f", a / b }')
		ratio_sorted=$(awk -v a="$chl_secs" -v b="$srt_secs" 'BEGIN { printf "%.2f", a / b }')
		echo "chload / native source order: $ratio"
		echo "chload / native sorted:       $ratio_sorted"

		if ((scale > 1)); then
			big=$((rows * scale))
			big_data=$(NO_NATIVE=1 dataset "$big" "$files")
			run_chload "$big_data"
			row "chload run x$scale" "$secs" "$rows_loaded" "$parts" "$rss_mib" "$check"
			growth=$(awk -v a="$chl_rss" -v b="$rss_mib" 'BEGIN { printf "%+.0f", (b - a) * 100 / a }')
			echo "chload peak RSS: ${chl_rss} MiB at $rows rows, ${rss_mib} MiB at $big rows (x$scale): ${growth}%"
		fi
		echo "chload CPU: ${chl_cpu} s (user + system) for $rows rows"
		echo "bench: chload ${chl_secs}s native ${nat_secs}s ratio $ratio peak_rss ${chl_rss}MiB cpu ${chl_cpu}s native_sorted ${srt_secs}s ratio_sorted $ratio_sorted"
	else
		echo "bench: chload skipped native ${nat_secs}s native_sorted ${srt_secs}s"
	fi
fi

if [[ $cluster == 1 ]]; then
	cluster_bench
fi

# wide_dataset: makes sure the wide set is in the cache and prints its
# directory (Parquet files and the checksum line of their rows).
wide_dataset() {
	local dir=$cache/data/wide-v1-r$wide_rows-g$wide_rg_rows
	if [[ ! -e $dir/generated.ok ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		log "generating $wide_rows wide rows into $dir"
		"$genwide" -rows "$wide_rows" -files 2 -row-group-rows "$wide_rg_rows" -out "$dir/parquet" || die "generate $dir"
		touch "$dir/generated.ok"
	fi
	"$genwide" -checksum -rows "$wide_rows" >"$dir/source.checksum"
	echo "$dir"
}

# run_memory SET DIR BUDGET: loads SET (events or wide) from DIR with
# chload at write.max_buffer_bytes BUDGET into a fresh table; sets secs,
# rss_mib, check.
run_memory() {
	local set=$1 dir=$2 budget=$3 t=bench.mem_$1 job=$cache/run/mem.yaml got query
	ch "CREATE DATABASE IF NOT EXISTS bench"
	ch "DROP TABLE IF EXISTS $t"
	if [[ $set == wide ]]; then
		ch "$("$genwide" -ddl "$t")"
		query=$("$genwide" -check-query "$t")
	else
		ch "$("$gen" -ddl "$t")"
		query=$("$gen" -checksum-query "$t")
	fi
	ch "SYSTEM STOP MERGES $t"
	write_job "$dir" "$t" "$job"
	echo "  max_buffer_bytes: $budget" >>"$job"
	log "chload run: $set set, budget $budget"
	if ! timed "$cache/run/mem.time" "$chload" run "$job" >"$cache/run/mem.log" 2>&1; then
		tail -n 20 "$cache/run/mem.log" >&2
		die "chload run failed (log: $cache/run/mem.log)"
	fi
	read -r secs rss_kb _ <"$cache/run/mem.time"
	rss_mib=$((rss_kb / 1024))
	got=$(ch "$query") || die "check $t"
	check=ok
	if [[ $got != "$(cat "$dir/source.checksum")" ]]; then
		check=MISMATCH
		echo "bench: $t does not hold the source rows: table $got, source $(cat "$dir/source.checksum")" >&2
	fi
	ch "DROP TABLE $t"
}

# The memory section: peak RSS against write.max_buffer_bytes, which the
# README promises holds within 100 MiB.
if [[ $memory == 1 ]]; then
	if [[ ! -x $chload ]]; then
		die "$chload is missing; build it first (or BENCH_MEMORY=0)"
	fi
	genwide=$cache/bin/genwide
	(cd "$root" && go build -o "$genwide" ./internal/cmd/genwide) || die "build genwide"
	wide=$(wide_dataset)
	echo
	echo "bench: peak RSS by write.max_buffer_bytes: events set $data; wide set (2 KB strings, $wide_rg_rows-row groups of 128 MiB) $wide"
	mem_format='%-8s %-8s %8s %13s %13s  %s\n'
	# shellcheck disable=SC2059
	printf "$mem_format" "set" "budget" "time_s" "peak_rss_MiB" "allowed_MiB" "check"
	for set in events wide; do
		dir=$data
		if [[ $set == wide ]]; then
			dir=$wide
		fi
		for budget in $budgets; do
			run_memory "$set" "$dir" "$budget"
			budget_mib=$(numfmt --from=iec-i --to-unit=Mi "${budget%B}")
			allowed=$((budget_mib + 100))
			if ((rss_mib > allowed)); then
				check="$check OVER"
			fi
			# shellcheck disable=SC2059
			printf "$mem_format" "$set" "$budget" "$secs" "$rss_mib" "$allowed" "$check"
			echo "bench-memory: set $set budget $budget peak_rss ${rss_mib}MiB allowed ${allowed}MiB time ${secs}s check $check"
			if [[ $check != ok ]]; then
				failed=1
			fi
		done
	done
fi

if ((failed)); then
	echo "bench: FAIL" >&2
	exit 1
fi
