#!/usr/bin/env bash
# chenv.sh starts and stops the local ClickHouse test servers for chload.
#
# Usage: bash internal/testenv/chenv.sh install|start|stop|restart|status [single|cluster|all]
#
#   install TARGET   install what TARGET needs, only what is missing (Debian 12):
#                    single:  clickhouse-server, clickhouse-client, openssl (apt-get), and
#                             checks Go against go.mod (what `make demo` needs)
#                    cluster: single's, plus zookeeper (and its Java)
#                    all:     cluster's, plus what `make test` needs: gcc and
#                             libc6-dev (-race), time, nodejs, npm, and the DuckDB
#                             reader's npm package into internal/duckread
#                    Debian's clickhouse-server package enables a system service;
#                    where systemd runs, install keeps it from starting and
#                    disables it (saying so). CHLOAD_INSTALL_DRY_RUN=1 prints
#                    what would be installed and changes nothing.
#   start  TARGET    start the servers of TARGET; a running server is left alone
#   stop   TARGET    SIGTERM, wait up to CHLOAD_STOP_TIMEOUT s, then SIGKILL
#   restart TARGET   stop then start (regenerates configs)
#   clean  TARGET    stop, then delete the data, so the next start is empty
#   status           print every instance with its pid, ports and state
#
# TARGET is single (one node), cluster (ZooKeeper + 2 shards x 2 replicas) or all;
# default all. Everything listens on 127.0.0.1 only.
#
# Environment (defaults in brackets):
#   CHLOAD_TESTENV_DIR           state: configs, data, logs, pids [/tmp/chload-testenv]
#   CHLOAD_SINGLE_TCP_PORT       single node native port [19000]
#   CHLOAD_SINGLE_HTTP_PORT      single node http port [18123]
#   CHLOAD_SINGLE_INTERSERVER_PORT                     [19009]
#   CHLOAD_SINGLE_TLS_PORT       single node native port over TLS [19440]; its
#                                self-signed CA, server and client certificates
#                                are made once in $CHLOAD_TESTENV_DIR/single/tls
#   CHLOAD_CLUSTER_TCP_PORTS     4 native ports, s1r1 s1r2 s2r1 s2r2 [19101 19102 19103 19104]
#   CHLOAD_CLUSTER_HTTP_PORTS    4 http ports [18101 18102 18103 18104]
#   CHLOAD_CLUSTER_INTERSERVER_PORTS [19201 19202 19203 19204]
#   CHLOAD_ZK_PORT               ZooKeeper client port [12181]
#   CHLOAD_START_TIMEOUT         seconds to wait for readiness [30]
#   CHLOAD_STOP_TIMEOUT          seconds to wait after SIGTERM [20]
set -euo pipefail

DIR="${CHLOAD_TESTENV_DIR:-/tmp/chload-testenv}"
SINGLE_TCP="${CHLOAD_SINGLE_TCP_PORT:-19000}"
SINGLE_HTTP="${CHLOAD_SINGLE_HTTP_PORT:-18123}"
SINGLE_INTER="${CHLOAD_SINGLE_INTERSERVER_PORT:-19009}"
SINGLE_TLS="${CHLOAD_SINGLE_TLS_PORT:-19440}"
read -r -a CL_TCP <<<"${CHLOAD_CLUSTER_TCP_PORTS:-19101 19102 19103 19104}"
read -r -a CL_HTTP <<<"${CHLOAD_CLUSTER_HTTP_PORTS:-18101 18102 18103 18104}"
read -r -a CL_INTER <<<"${CHLOAD_CLUSTER_INTERSERVER_PORTS:-19201 19202 19203 19204}"
ZK_PORT="${CHLOAD_ZK_PORT:-12181}"
START_TIMEOUT="${CHLOAD_START_TIMEOUT:-30}"
STOP_TIMEOUT="${CHLOAD_STOP_TIMEOUT:-20}"

# Cluster instances in order: name shard replica.
CL_NAMES=(s1r1 s1r2 s2r1 s2r2)
CL_SHARDS=(1 1 2 2)
CL_REPLICAS=(r1 r2 r1 r2)

# zookeeper.jar's manifest Class-Path brings jute, slf4j-api, netty and the rest;
# slf4j-simple only makes ZooKeeper write its log.
ZK_JARS=(/usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar)

die() {
	echo "chenv: $*" >&2
	exit 1
}
log() { echo "chenv: $*" >&2; }

ch_server_bin() {
	local b
	for b in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
		if command -v "$b" >/dev/null 2>&1; then
			command -v "$b"
			return
		fi
	done
	die "clickhouse-server not found; run: bash $0 install"
}

# ---------- install ----------

DRY_RUN="${CHLOAD_INSTALL_DRY_RUN:-0}"

cmd_install() { # target
	local target="$1"
	check_go
	install_apt "$target"
	[[ "$target" != all ]] || install_duckread
}

# check_go: Go at least go.mod's version. Debian 12's golang-go (1.19) is too
# old and too old to fetch a newer toolchain itself, so a missing or old Go
# is an error saying how to get one. A Go from 1.21 on fetches go.mod's
# version through the module proxy by itself (GOTOOLCHAIN=auto, its default):
# `go version` in the module does that here, once.
check_go() {
	local root want have
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
	want="$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$root/go.mod" | head -n 1)"
	[[ -n "$want" ]] || die "install: no go directive in $root/go.mod"
	local arch tgz how
	arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
	tgz="go$want.linux-$arch.tar.gz"
	how="install Go $want or later from https://go.dev/dl/ (as root: curl -fsSLO https://go.dev/dl/$tgz && rm -rf /usr/local/go && tar -C /usr/local -xzf $tgz && export PATH=/usr/local/go/bin:\$PATH); Debian 12's golang-go package (1.19) is too old"
	if ! command -v go >/dev/null 2>&1; then
		go_problem "install: go not found: $how"
		return
	fi
	have="$(cd "$root" && go env GOVERSION 2>/dev/null | sed 's/^go//')" || true
	if [[ -z "$have" ]]; then
		have="$(go version 2>/dev/null | sed -n 's/^go version go\([0-9][0-9.]*\).*/\1/p')"
	fi
	if ! version_at_least "$have" "$want"; then
		if version_at_least "$have" 1.21; then
			how="let this go fetch Go $want through the module proxy (GOTOOLCHAIN=auto; it is $(go env GOTOOLCHAIN 2>/dev/null || echo unknown) now), or $how"
		fi
		go_problem "install: go.mod needs Go $want, this go is ${have:-of unknown version}: $how"
	fi
	log "install: Go $have present (go.mod needs $want)"
}

# go_problem message: fatal, except in a dry run, which reports it and goes
# on to list the rest.
go_problem() {
	[[ "$DRY_RUN" == 1 ]] || die "$1"
	log "install (dry run): would fail: ${1#install: }"
}

# version_at_least have want: dotted versions, numerically.
version_at_least() {
	[[ -n "$1" ]] || return 1
	[[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

# missing_packages target: the apt packages target needs that are absent.
missing_packages() {
	local target="$1" missing=()
	command -v clickhouse-server >/dev/null 2>&1 || [[ -x /usr/sbin/clickhouse-server ]] || missing+=(clickhouse-server)
	command -v clickhouse-client >/dev/null 2>&1 || missing+=(clickhouse-client)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl) # the single node's TLS port certificates
	if [[ "$target" != single ]]; then
		[[ -f /usr/share/java/zookeeper.jar ]] || missing+=(zookeeper)
	fi
	if [[ "$target" == all ]]; then
		command -v gcc >/dev/null 2>&1 || missing+=(gcc)
		[[ -f /usr/include/stdlib.h ]] || missing+=(libc6-dev)
		[[ -x /usr/bin/time ]] || missing+=(time)
		command -v node >/dev/null 2>&1 || missing+=(nodejs)
		command -v npm >/dev/null 2>&1 || missing+=(npm)
	fi
	echo "${missing[*]}"
}

install_apt() { # target
	local target="$1" missing=()
	read -r -a missing <<<"$(missing_packages "$target")"
	if ((${#missing[@]} == 0)); then
		log "install: every apt package $target needs is present"
		return
	fi
	if [[ "$DRY_RUN" == 1 ]]; then
		log "install (dry run): would apt-get install ${missing[*]}"
		if [[ " ${missing[*]} " == *" clickhouse-server "* ]] && systemd_running; then
			log "install (dry run): would keep Debian's clickhouse-server service from starting and disable it (systemd runs here)"
		fi
		return
	fi
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	# Debian's clickhouse-server package enables a system service and starts
	# it (on 9000/8123, data in /var/lib/clickhouse). A policy-rc.d that
	# refuses every start keeps it from starting during the install; the
	# unit is disabled afterwards (below). An existing policy-rc.d is left
	# as it is.
	local policy=/usr/sbin/policy-rc.d ours=0
	if [[ " ${missing[*]} " == *" clickhouse-server "* && ! -e "$policy" ]]; then
		printf '#!/bin/sh\n# chenv.sh: no service starts during its apt-get install\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
		ours=1
		# Removed below, and here if apt-get is interrupted.
		trap "${sudo[*]} rm -f $policy" EXIT
	fi
	# apt-get update once: only when the package lists are empty.
	if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
		"${sudo[@]}" apt-get update
	fi
	log "install: ${missing[*]}"
	local rc=0
	if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
		# Stale package lists: refresh them once and try again.
		"${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?
	fi
	if ((ours == 1)); then
		"${sudo[@]}" rm -f "$policy"
		trap - EXIT
	fi
	((rc == 0)) || die "install: apt-get install ${missing[*]} failed"
	if [[ " ${missing[*]} " == *" clickhouse-server "* ]]; then
		quiet_system_clickhouse "${sudo[@]}"
	fi
}

# systemd_running: systemd is the init system here (not the case in most
# containers).
systemd_running() { [[ -d /run/systemd/system ]]; }

# quiet_system_clickhouse [sudo]: after installing clickhouse-server, stop
# and disable the system service the package enabled, and say so. The test
# servers are started by this script on their own ports; a system server
# would hold 9000 and 8123 and start at every boot.
quiet_system_clickhouse() {
	if ! systemd_running; then
		log "install: Debian's clickhouse-server package ships a system service (clickhouse-server); systemd does not run here, so it was not started"
		return
	fi
	if "$@" systemctl disable --now clickhouse-server.service >/dev/null 2>&1; then
		log "install: Debian's clickhouse-server package enabled a system service (clickhouse-server.service, ports 9000 and 8123); chenv.sh stopped and disabled it. To use it: systemctl enable --now clickhouse-server"
	else
		log "install: could not disable the system service clickhouse-server.service that Debian's package enabled; check: systemctl status clickhouse-server"
	fi
}

# install_duckread: the npm package internal/duckread's DuckDB reader runs
# (the exact version pinned in its package.json), only when it is missing or
# another version is installed.
install_duckread() {
	local d want have start
	d="$(cd "$(dirname "${BASH_SOURCE[0]}")/../duckread" && pwd)"
	want="$(sed -n 's/.*"@duckdb\/node-api": "\([^"]*\)".*/\1/p' "$d/package.json" | head -n 1)"
	have="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$d/node_modules/@duckdb/node-api/package.json" 2>/dev/null | head -n 1 || true)"
	if [[ -n "$want" && "$have" == "$want" ]]; then
		log "install: @duckdb/node-api $have present"
		return
	fi
	if [[ "$DRY_RUN" == 1 ]]; then
		log "install (dry run): would npm ci @duckdb/node-api ${want:-?} into $d/node_modules (have ${have:-none})"
		return
	fi
	log "install: @duckdb/node-api ${want:-?} into $d/node_modules (have ${have:-none})"
	start=$SECONDS
	(cd "$d" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $d failed"
	log "install: @duckdb/node-api took $((SECONDS - start)) s"
}

# ---------- process helpers ----------

pid_alive() { # pidfile
	local pid
	[[ -f "$1" ]] || return 1
	pid="$(cat "$1" 2>/dev/null || true)"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

http_ping() { # port
	if command -v curl >/dev/null 2>&1; then
		[[ "$(curl -fsS --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null)" == "Ok." ]]
		return
	fi
	local reply
	reply="$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		timeout 2 cat <&3
	)" || return 1
	[[ "$reply" == *"Ok."* ]]
}

# zk_cmd word: send a four-letter command to ZooKeeper and print the reply.
zk_cmd() {
	(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" || exit 1
		printf '%s' "$1" >&3
		timeout 2 cat <&3
	)
}

# zk_serving: ZooKeeper answers ruok before it serves sessions; srvr says
# "Mode: ..." only once it does.
zk_serving() {
	local reply
	reply="$(zk_cmd srvr)" || return 1
	[[ "$reply" == *"Mode:"* ]]
}

zk_ruok() {
	local reply
	reply="$(zk_cmd ruok)" || return 1
	[[ "$reply" == "imok" ]]
}

stop_pidfile() { # name pidfile
	local name="$1" pf="$2" pid i
	if ! pid_alive "$pf"; then
		rm -f "$pf"
		return
	fi
	pid="$(cat "$pf")"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "stop $name: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$pf"
	log "stopped $name (pid $pid)"
}

# wait_ready name pidfile logfile check-command...
wait_ready() {
	local name="$1" pf="$2" logf="$3" i
	shift 3
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if "$@"; then
			return 0
		fi
		if ! pid_alive "$pf"; then
			echo "chenv: $name exited during startup; last lines of $logf:" >&2
			tail -n 30 "$logf" >&2 || true
			rm -f "$pf"
			return 2
		fi
		sleep 0.1
	done
	echo "chenv: $name not ready after ${START_TIMEOUT}s; last lines of $logf:" >&2
	tail -n 30 "$logf" >&2 || true
	exit 1
}

# ---------- ClickHouse config ----------

# write_ch_config dir tcp http inter extra-xml
write_ch_config() {
	local d="$1" tcp="$2" http="$3" inter="$4" extra="$5"
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas" "$d/log"
	cat >"$d/config.xml.new" <<EOF
<?xml version="1.0"?>
<!-- generated by chenv.sh; regenerated on every start -->
<yandex>
    <logger>
        <level>information</level>
        <log>$d/log/clickhouse-server.log</log>
        <errorlog>$d/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
    <interserver_http_port>$inter</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>4096</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>8589934592</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
$extra
</yandex>
EOF
	mv "$d/config.xml.new" "$d/config.xml"
}

cluster_xml() { # shard replica
	local shard="$1" replica="$2" i
	local rs="" ws=""
	for s in 1 2; do
		local reps=""
		for i in 0 1 2 3; do
			[[ "${CL_SHARDS[$i]}" == "$s" ]] || continue
			reps+="
                <replica><host>127.0.0.1</host><port>${CL_TCP[$i]}</port></replica>"
		done
		rs+="
            <shard>
                <internal_replication>true</internal_replication>$reps
            </shard>"
		local w=1
		[[ "$s" == 2 ]] && w=3
		ws+="
            <shard>
                <weight>$w</weight>
                <internal_replication>true</internal_replication>$reps
            </shard>"
	done
	cat <<EOF
    <remote_servers>
        <chload_cluster>$rs
        </chload_cluster>
        <chload_weighted>$ws
        </chload_weighted>
    </remote_servers>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$ZK_PORT</port></node>
        <session_timeout_ms>30000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <macros>
        <shard>$shard</shard>
        <replica>$replica</replica>
    </macros>
EOF
}

# start_ch name dir tcp http inter extra-xml
start_ch() {
	local name="$1" d="$2" tcp="$3" http="$4" inter="$5" extra="$6"
	local pf="$d/clickhouse.pid" logf="$d/log/stdout.log"
	if pid_alive "$pf" && http_ping "$http"; then
		log "$name already running (pid $(cat "$pf"), tcp $tcp)"
		return
	fi
	if pid_alive "$pf"; then
		log "$name has a live pid but does not answer; restarting it"
		stop_pidfile "$name" "$pf"
	fi
	rm -f "$pf"
	if http_ping "$http"; then
		die "$name: something else already answers on http port $http; stop it or set the port env vars"
	fi
	write_ch_config "$d" "$tcp" "$http" "$inter" "$extra"
	local bin
	bin="$(ch_server_bin)"
	# setsid detaches the server from this shell's process group and terminal.
	# A server that exits during startup (say, ZooKeeper not yet taking
	# sessions while it loads tables) is started again, up to 3 times.
	local try rc
	for try in 1 2 3; do
		(cd "$d" && exec setsid "$bin" --config-file="$d/config.xml" >>"$logf" 2>&1 </dev/null) &
		echo $! >"$pf"
		rc=0
		wait_ready "$name" "$pf" "$d/log/clickhouse-server.err.log" http_ping "$http" || rc=$?
		((rc == 0)) && break
		((try < 3)) || die "$name: failed to start 3 times"
		log "$name: starting again (try $((try + 1)) of 3)"
		sleep 1
	done
	log "$name ready (pid $(cat "$pf"), tcp $tcp, http $http)"
}

# ---------- ZooKeeper ----------

start_zk() {
	local d="$DIR/zookeeper" pf="$DIR/zookeeper/zookeeper.pid" logf="$DIR/zookeeper/zookeeper.log"
	if pid_alive "$pf" && zk_ruok; then
		log "zookeeper already running (pid $(cat "$pf"), port $ZK_PORT)"
		return
	fi
	if pid_alive "$pf"; then
		stop_pidfile zookeeper "$pf"
	fi
	rm -f "$pf"
	if zk_ruok; then
		die "zookeeper: something else already answers on port $ZK_PORT"
	fi
	local j
	for j in "${ZK_JARS[@]}"; do
		[[ -f "$j" ]] || die "zookeeper: missing $j; run: bash $0 install"
	done
	command -v java >/dev/null 2>&1 || die "zookeeper: java not found; run: bash $0 install"
	mkdir -p "$d/data"
	cat >"$d/zoo.cfg" <<EOF
# generated by chenv.sh
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$d/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,srvr,mntr
autopurge.purgeInterval=1
EOF
	local cp
	cp="$(
		IFS=:
		echo "${ZK_JARS[*]}"
	)"
	(cd "$d" && exec setsid java -Xmx256m -cp "$cp" \
		-Dzookeeper.log.dir="$d" \
		org.apache.zookeeper.server.ZooKeeperServerMain "$d/zoo.cfg" >>"$logf" 2>&1 </dev/null) &
	echo $! >"$pf"
	wait_ready zookeeper "$pf" "$logf" zk_serving || die "zookeeper failed to start"
	log "zookeeper ready (pid $(cat "$pf"), port $ZK_PORT)"
}

# ---------- targets ----------

start_single() {
	make_tls "$DIR/single/tls"
	start_ch single "$DIR/single" "$SINGLE_TCP" "$SINGLE_HTTP" "$SINGLE_INTER" "$(tls_xml "$DIR/single/tls")"
}

# make_tls dir: a self-signed CA, a server certificate for 127.0.0.1 and
# localhost, and a client certificate, all signed by the CA; made once (the
# tests read ca.pem, client.pem and client.key from dir).
make_tls() {
	local d="$1"
	[[ -f "$d/server.pem" && -f "$d/client.pem" ]] && return
	command -v openssl >/dev/null 2>&1 || die "tls: openssl not found; run: apt-get install -y openssl"
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		exec 2>tls.log
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem -subj "/CN=chload test CA"
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out server.pem
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=chload test client"
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext -out client.pem
		chmod 644 ./*.key
	) || die "tls: making the test certificates in $d failed; see $d/tls.log"
	log "tls: test CA and certificates made in $d"
}

# tls_xml dir: the secure native port and the server's certificate; client
# certificates are checked when sent, not required (verificationMode relaxed).
tls_xml() {
	cat <<EOF
    <tcp_port_secure>$SINGLE_TLS</tcp_port_secure>
    <openSSL>
        <server>
            <certificateFile>$1/server.pem</certificateFile>
            <privateKeyFile>$1/server.key</privateKeyFile>
            <caConfig>$1/ca.pem</caConfig>
            <verificationMode>relaxed</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
EOF
}

start_cluster() {
	((${#CL_TCP[@]} == 4 && ${#CL_HTTP[@]} == 4 && ${#CL_INTER[@]} == 4)) ||
		die "CHLOAD_CLUSTER_*_PORTS must each list 4 ports"
	start_zk
	local i
	for i in 0 1 2 3; do
		start_ch "${CL_NAMES[$i]}" "$DIR/cluster/${CL_NAMES[$i]}" \
			"${CL_TCP[$i]}" "${CL_HTTP[$i]}" "${CL_INTER[$i]}" \
			"$(cluster_xml "${CL_SHARDS[$i]}" "${CL_REPLICAS[$i]}")"
	done
}

stop_single() { stop_pidfile single "$DIR/single/clickhouse.pid"; }

stop_cluster() {
	local i pids=()
	# Stop the four nodes in parallel (each SIGTERM takes a few seconds), then ZooKeeper.
	for i in 0 1 2 3; do
		stop_pidfile "${CL_NAMES[$i]}" "$DIR/cluster/${CL_NAMES[$i]}/clickhouse.pid" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	stop_pidfile zookeeper "$DIR/zookeeper/zookeeper.pid"
}

status_line() { # name pidfile check...
	local name="$1" pf="$2" state pid="-"
	shift 2
	if pid_alive "$pf"; then
		pid="$(cat "$pf")"
		if "$@"; then state=running; else state="not answering"; fi
	else
		state=stopped
	fi
	printf '%-10s %-8s %s\n' "$name" "$pid" "$state"
}

cmd_status() {
	printf '%-10s %-8s %s\n' INSTANCE PID STATE
	status_line "single" "$DIR/single/clickhouse.pid" http_ping "$SINGLE_HTTP"
	echo "           tcp 127.0.0.1:$SINGLE_TCP http $SINGLE_HTTP tls $SINGLE_TLS"
	status_line zookeeper "$DIR/zookeeper/zookeeper.pid" zk_ruok
	echo "           port 127.0.0.1:$ZK_PORT"
	local i
	for i in 0 1 2 3; do
		status_line "${CL_NAMES[$i]}" "$DIR/cluster/${CL_NAMES[$i]}/clickhouse.pid" http_ping "${CL_HTTP[$i]}"
		echo "           tcp 127.0.0.1:${CL_TCP[$i]} http ${CL_HTTP[$i]} shard ${CL_SHARDS[$i]} replica ${CL_REPLICAS[$i]}"
	done
	echo "state dir: $DIR"
}

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local cmd="${1:-}" target="${2:-all}"
	case "$target" in single | cluster | all) ;; *) usage ;; esac
	case "$cmd" in
	install) cmd_install "$target" ;;
	start)
		[[ "$target" == cluster ]] || start_single
		[[ "$target" == single ]] || start_cluster
		;;
	stop)
		[[ "$target" == cluster ]] || stop_single
		[[ "$target" == single ]] || stop_cluster
		;;
	restart)
		main stop "$target"
		main start "$target"
		;;
	clean)
		# Stop and forget: the next start begins with empty servers.
		main stop "$target"
		[[ "$target" == cluster ]] || rm -rf "$DIR/single"
		[[ "$target" == single ]] || rm -rf "$DIR/cluster" "$DIR/zookeeper"
		log "removed the state of $target"
		;;
	status) cmd_status ;;
	*) usage ;;
	esac
}

main "$@"
