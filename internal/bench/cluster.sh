# cluster.sh: the cluster section of bench.sh, sourced by it when
# BENCH_CLUSTER=1; not meant to be run on its own.
#
# Loads the same rows as the single-node section into a sharded, replicated
# cluster two ways and checks both:
#   chload               bin/chload run JOB, target the Distributed table
#                        DB.events_chload, hosts = every node of the cluster
#                        (chload writes straight to the shards' local tables)
#   native distributed   clickhouse-client --insert_distributed_sync=1
#                        INSERT INTO DB.events_native FORMAT Native on the
#                        entry node, rows in source order
# Tables, made ON CLUSTER at the start (dropped first), merges stopped on
# every node so parts can be counted:
#   DB.events_local_{chload,native}  ReplicatedMergeTree('/clickhouse/tables/{shard}/DB.NAME', '{replica}')
#   DB.events_{chload,native}        Distributed(CLUSTER, DB, events_local_*, cityHash64(user_id))
# Checks after each load (every replica synced first): the first replicas of
# the shards together hold exactly the source rows (count and per-column hash
# sums), every replica of a shard holds what its first replica holds, and each
# shard holds the same rows under chload as under the server's own
# Distributed routing.
#
# Environment (all optional):
#   BENCH_CLUSTER_ENTRY          node that takes the native insert and is asked
#                                for the topology [127.0.0.1:19101]
#   BENCH_CLUSTER_NAME           cluster in remote_servers [chload_cluster]
#   BENCH_CLUSTER_DB             database [bench_cluster]
#   BENCH_CLUSTER_CONCURRENCY    write.concurrency of the chload job [auto]
#   BENCH_CLUSTER_BASELINE_ONLY=1  skip the chload run [BENCH_BASELINE_ONLY]
#
# Uses from bench.sh: gen chload cache data rows CH_USER CH_PASSWORD, and the
# functions log die timed row; sets failed=1 on any mismatch.

cl_entry=${BENCH_CLUSTER_ENTRY:-127.0.0.1:19101}
cl_name=${BENCH_CLUSTER_NAME:-chload_cluster}
cl_db=${BENCH_CLUSTER_DB:-bench_cluster}
cl_concurrency=${BENCH_CLUSTER_CONCURRENCY:-auto}
cl_baseline_only=${BENCH_CLUSTER_BASELINE_ONLY:-${BENCH_BASELINE_ONLY:-0}}

# Topology, filled by cl_topology: one entry per node, ordered by shard then
# replica; cl_shards lists the shard numbers.
cl_addrs=()
cl_node_shard=()
cl_node_replica=()
cl_shards=()

# cl_client HOST:PORT: sets cl_cmd to the clickhouse-client command for one node.
cl_client() {
	cl_cmd=(clickhouse-client --host "${1%:*}" --port "${1##*:}" --user "$CH_USER")
	if [[ -n $CH_PASSWORD ]]; then
		cl_cmd+=(--password "$CH_PASSWORD")
	fi
}

# chn HOST:PORT QUERY: runs QUERY on one node.
chn() {
	local cl_cmd
	cl_client "$1"
	"${cl_cmd[@]}" --query "$2"
}

# cl_topology: reads the nodes of the cluster from the entry node.
cl_topology() {
	local out shard replica host port last=""
	out=$(chn "$cl_entry" "SELECT shard_num, replica_num, host_address, port FROM system.clusters
		WHERE cluster = '$cl_name' ORDER BY shard_num, replica_num") ||
		die "read cluster $cl_name from $cl_entry (is it running? bash internal/testenv/chenv.sh start cluster)"
	[[ -n $out ]] || die "cluster $cl_name is not in system.clusters on $cl_entry"
	while read -r shard replica host port; do
		cl_addrs+=("$host:$port")
		cl_node_shard+=("$shard")
		cl_node_replica+=("$replica")
		if [[ $shard != "$last" ]]; then
			cl_shards+=("$shard")
			last=$shard
		fi
	done <<<"$out"
	local a
	for a in "${cl_addrs[@]}"; do
		chn "$a" "SELECT 1" >/dev/null 2>&1 || die "cluster node $a does not answer"
	done
}

# cl_first_replica SHARD: prints the address of the shard's first replica.
cl_first_replica() {
	local i
	for i in "${!cl_addrs[@]}"; do
		if [[ ${cl_node_shard[i]} == "$1" ]]; then
			echo "${cl_addrs[i]}"
			return
		fi
	done
	die "cluster $cl_name has no shard $1"
}

# cl_local_ddl NAME: prints CREATE TABLE ... ON CLUSTER for the replicated
# local events table NAME, built from genevents' MergeTree DDL.
cl_local_ddl() {
	local t=$cl_db.$1 ddl engine
	ddl=$("$gen" -ddl "$t") || die "events DDL for $t"
	engine="ReplicatedMergeTree('/clickhouse/tables/{shard}/$t', '{replica}')"
	[[ $ddl == "CREATE TABLE $t ("*") ENGINE = MergeTree PARTITION BY "* ]] ||
		die "unexpected events DDL from genevents: $ddl"
	ddl=${ddl/#"CREATE TABLE $t ("/"CREATE TABLE $t ON CLUSTER $cl_name ("}
	ddl=${ddl/") ENGINE = MergeTree PARTITION BY "/") ENGINE = $engine PARTITION BY "}
	echo "$ddl"
}

# cl_on_cluster QUERY: runs ON CLUSTER DDL from the entry node; the client
# waits until every node has run it and fails when one did not.
cl_on_cluster() {
	chn "$cl_entry" "$1" >/dev/null || die "on cluster $cl_name: $1"
}

# cl_setup: drops and recreates the database and its four tables on every
# node, waits until every node has them, and stops merges of the local tables.
cl_setup() {
	local m a i n
	log "cluster: recreating $cl_db on $cl_name (${#cl_addrs[@]} nodes, ${#cl_shards[@]} shards)"
	cl_on_cluster "DROP DATABASE IF EXISTS $cl_db ON CLUSTER $cl_name"
	cl_on_cluster "CREATE DATABASE $cl_db ON CLUSTER $cl_name"
	for m in chload native; do
		cl_on_cluster "$(cl_local_ddl "events_local_$m")"
		cl_on_cluster "CREATE TABLE $cl_db.events_$m ON CLUSTER $cl_name AS $cl_db.events_local_$m
			ENGINE = Distributed($cl_name, $cl_db, events_local_$m, cityHash64(user_id))"
	done
	for a in "${cl_addrs[@]}"; do
		for ((i = 0; ; i++)); do
			n=$(chn "$a" "SELECT count() FROM system.tables WHERE database = '$cl_db'
				AND name IN ('events_local_chload', 'events_local_native', 'events_chload', 'events_native')") ||
				die "list tables of $cl_db on $a"
			[[ $n == 4 ]] && break
			((i < 600)) || die "$a has $n of the 4 tables of $cl_db after 60s"
			sleep 0.1
		done
		for m in chload native; do
			chn "$a" "SYSTEM STOP MERGES $cl_db.events_local_$m" || die "stop merges of $cl_db.events_local_$m on $a"
		done
	done
}

# cl_write_job FILE: writes the chload job loading $data's Parquet files into
# the Distributed table, every node listed.
cl_write_job() {
	local hosts="" a
	for a in "${cl_addrs[@]}"; do
		hosts+=${hosts:+, }\"$a\"
	done
	cat >"$1" <<EOF
version: 1
name: bench_events_cluster
source:
  type: parquet
  paths: ["$data/parquet/*.parquet"]
target:
  clickhouse:
    hosts: [$hosts]
    user: \${CH_USER:-default}
    password: \${CH_PASSWORD:-}
  table: $cl_db.events_chload
write:
  mode: append
  batch_rows: 1000000
  concurrency: $cl_concurrency
EOF
}

# Results of cl_verify, keyed by "METHOD" or "METHOD:SHARD".
declare -A cl_rows cl_parts cl_check cl_shard_sum cl_shard_rows

# cl_verify METHOD: syncs every replica of events_local_METHOD and checks it;
# fills cl_rows, cl_parts, cl_check (ok or MISMATCH), cl_shard_sum and
# cl_shard_rows for METHOD.
cl_verify() {
	local m=$1 t=$cl_db.events_local_$1 i a s first sum got want remote="" parts=0 p check=ok try
	want=$(cat "$data/source.checksum")
	for a in "${cl_addrs[@]}"; do
		chn "$a" "SYSTEM SYNC REPLICA $t" || die "sync replica $t on $a"
	done
	for s in "${cl_shards[@]}"; do
		first=$(cl_first_replica "$s")
		remote+=${remote:+,}$first
		sum=$(chn "$first" "$("$gen" -checksum-query "$t")") || die "checksum $t on $first"
		cl_shard_sum[$m:$s]=$sum
		cl_shard_rows[$m:$s]=$(cut -f1 <<<"$sum")
		p=$(chn "$first" "SELECT count() FROM system.parts WHERE active AND database = '$cl_db' AND table = 'events_local_$m'") ||
			die "count parts of $t on $first"
		parts=$((parts + p))
		for i in "${!cl_addrs[@]}"; do
			a=${cl_addrs[i]}
			[[ ${cl_node_shard[i]} == "$s" && $a != "$first" ]] || continue
			# A replica that has just fetched its last part can still be
			# behind on a part announced after the sync began: sync again.
			for ((try = 0; ; try++)); do
				got=$(chn "$a" "$("$gen" -checksum-query "$t")") || die "checksum $t on $a"
				[[ $got == "$sum" ]] && break
				if ((try == 5)); then
					check=MISMATCH
					{
						echo "bench: $t: replica $a of shard $s differs from $first (count, then per-column hash sums)"
						echo "  $a: $got"
						echo "  $first: $sum"
					} >&2
					break
				fi
				sleep 1
				chn "$a" "SYSTEM SYNC REPLICA $t" || die "sync replica $t on $a"
			done
		done
	done
	# Hash sums are additive: one query over the first replicas of all shards.
	sum=$(chn "$cl_entry" "$("$gen" -checksum-query "remote('$remote', $cl_db, events_local_$m)")") ||
		die "checksum $t over $remote"
	if [[ $sum != "$want" ]]; then
		check=MISMATCH
		{
			echo "bench: $t over shards $remote does not hold the source rows (count, then per-column hash sums)"
			echo "  shards: $sum"
			echo "  source: $want"
		} >&2
	fi
	cl_rows[$m]=$(cut -f1 <<<"$sum")
	cl_parts[$m]=$parts
	cl_check[$m]=$check
}

# cl_run_native: times the Distributed insert of the source-order Native
# file on the entry node; sets cl_nat_secs.
cl_run_native() {
	local t=$cl_db.events_native rss_kb cl_cmd
	cl_client "$cl_entry"
	log "cluster: native insert into $t via $cl_entry (insert_distributed_sync=1)"
	timed "$cache/run/cluster-native.time" "${cl_cmd[@]}" --insert_distributed_sync=1 \
		--query "INSERT INTO $t FORMAT Native" <"$data/source.native" ||
		die "native insert into $t failed"
	read -r cl_nat_secs rss_kb _ <"$cache/run/cluster-native.time"
	cl_verify native
}

# cl_run_chload: times chload loading the Parquet files into the Distributed
# table; sets cl_chl_secs and cl_chl_rss.
cl_run_chload() {
	local job=$cache/run/cluster-job.yaml rss_kb
	cl_write_job "$job"
	log "cluster: chload run into $cl_db.events_chload"
	if ! timed "$cache/run/cluster-chload.time" "$chload" run "$job" >"$cache/run/cluster-chload.log" 2>&1; then
		tail -n 20 "$cache/run/cluster-chload.log" >&2
		die "chload run into $cl_db.events_chload failed (job: $job, log: $cache/run/cluster-chload.log)"
	fi
	read -r cl_chl_secs rss_kb cl_chl_cpu <"$cache/run/cluster-chload.time"
	cl_chl_rss=$((rss_kb / 1024))
	cl_verify chload
}

# cl_compare_shards: checks that every shard holds the same rows under chload
# as under the server's Distributed routing; prints one line per shard.
cl_compare_shards() {
	local s ok
	for s in "${cl_shards[@]}"; do
		ok=same
		if [[ ${cl_shard_sum[chload:$s]} != "${cl_shard_sum[native:$s]}" ]]; then
			ok=DIFFERENT
			cl_check[chload]=MISMATCH
			{
				echo "bench: shard $s holds other rows under chload than under Distributed routing (count, then per-column hash sums)"
				echo "  chload: ${cl_shard_sum[chload:$s]}"
				echo "  native: ${cl_shard_sum[native:$s]}"
			} >&2
		fi
		echo "shard $s: chload ${cl_shard_rows[chload:$s]} rows, native ${cl_shard_rows[native:$s]} rows: $ok"
	done
}

# cluster_bench: the whole cluster section; prints its table and the
# bench-cluster summary line, and sets failed=1 on any mismatch.
cluster_bench() {
	local have=1 version
	cl_topology
	version=$(chn "$cl_entry" "SELECT version()") || die "ask $cl_entry for its version"
	cl_setup
	cl_run_native
	if [[ $cl_baseline_only == 1 ]]; then
		have=0
	elif [[ ! -x $chload ]]; then
		echo "bench: FAIL: $chload is missing; build it first (or BENCH_CLUSTER_BASELINE_ONLY=1)" >&2
		have=0
		failed=1
	else
		cl_run_chload
	fi

	echo
	echo "bench-cluster: $rows rows, data $data"
	echo "bench-cluster: cluster $cl_name, ${#cl_shards[@]} shards, nodes ${cl_addrs[*]}, ClickHouse $version;" \
		"local tables ReplicatedMergeTree, Distributed sharding key cityHash64(user_id), merges stopped"
	echo
	# shellcheck disable=SC2059
	printf "$row_format" "cluster run" "time_s" "rows" "parts" "peak_rss_MiB" "check"
	if ((have)); then
		cl_compare_shards >"$cache/run/cluster-shards.txt"
		row "chload run (Distributed target)" "$cl_chl_secs" "${cl_rows[chload]}" "${cl_parts[chload]}" "$cl_chl_rss" "${cl_check[chload]}"
	else
		printf '%-34s %8s\n' "chload run (Distributed target)" "skipped"
	fi
	row "native, Distributed insert" "$cl_nat_secs" "${cl_rows[native]}" "${cl_parts[native]}" "-" "${cl_check[native]}"
	echo
	local s
	if ((have)); then
		cat "$cache/run/cluster-shards.txt"
		local speedup
		speedup=$(awk -v a="$cl_nat_secs" -v b="$cl_chl_secs" 'BEGIN { printf "%.2f", a / b }')
		echo "native_distributed / chload: $speedup (target 1.50: $(awk -v s="$speedup" 'BEGIN { print (s >= 1.5 ? "met" : "not met") }'))"
		echo "bench-cluster: chload ${cl_chl_secs}s native_distributed ${cl_nat_secs}s speedup $speedup parts_chload ${cl_parts[chload]} parts_native ${cl_parts[native]} chload_cpu ${cl_chl_cpu}s"
	else
		for s in "${cl_shards[@]}"; do
			echo "shard $s: native ${cl_shard_rows[native:$s]} rows"
		done
		echo "bench-cluster: chload skipped native_distributed ${cl_nat_secs}s parts_native ${cl_parts[native]}"
	fi
}
