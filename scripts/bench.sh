#!/usr/bin/env bash
# bench.sh: `nats bench` against the reference nats-server and ours, side by side.
#
# `make bench` runs it after `make build`. It installs, once, the reference server and
# the nats CLI from the Go module proxy into a cache directory (never this module's
# go.mod), then for each case runs the reference and ours alternately, each on a fresh
# server with its own free 127.0.0.1 port and JetStream in a temporary store directory,
# and prints msgs/s side by side with the ratio, then the servers' resident memory.
#
# Cases (natscli v0.5.0 subcommands, one client each):
#   pub 16B             nats bench pub: the publisher's rate.
#   pub/sub 16B, 128B   nats bench sub, then nats bench pub on the same subject: the
#                       subscriber's rate, i.e. messages delivered end to end.
#   request/reply 128B  nats bench service serve, then service request: the
#                       requester's rate (one request in flight).
# Each case runs BENCH_ROUNDS times per server and the best rate counts, which filters
# out noise from other work on the machine better than a mean.
#
# Environment:
#   NATSIM_BENCH_CACHE  tool cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/natsim-bench)
#   BENCH_OURS          our server binary (default bin/nats-server)
#   BENCH_ROUNDS        runs per server and case (default 3)
#   BENCH_CASES         the cases to run, by key (default "pub16 pubsub16 pubsub128 reqrep128")
#   BENCH_TIMEOUT       seconds one nats bench command may take (default 30)
#   BENCH_PUB_MSGS, BENCH_PUBSUB_MSGS, BENCH_REQREP_MSGS   message counts per run
#   BENCH_KEEP=1        keep the work directory (server and client logs)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REFERENCE_MODULE=github.com/nats-io/nats-server/v2
REFERENCE_VERSION=v2.15.2
CLI_MODULE=github.com/nats-io/natscli/nats
CLI_VERSION=v0.5.0
CACHE=${NATSIM_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/natsim-bench}
REFERENCE_BIN=$CACHE/nats-server-$REFERENCE_VERSION/nats-server
CLI_BIN=$CACHE/natscli-$CLI_VERSION/nats
OURS_BIN=${BENCH_OURS:-$ROOT/bin/nats-server}
ROUNDS=${BENCH_ROUNDS:-3}
CASES=${BENCH_CASES:-pub16 pubsub16 pubsub128 reqrep128}
TIMEOUT=${BENCH_TIMEOUT:-30}
# 500,000 messages keep a subscriber that falls behind under nats.go's client-side
# pending limit (512Ki messages), so a pub/sub run never loses messages to it.
PUB_MSGS=${BENCH_PUB_MSGS:-1000000}
PUBSUB_MSGS=${BENCH_PUBSUB_MSGS:-500000}
REQREP_MSGS=${BENCH_REQREP_MSGS:-20000}
# Seconds a server gets to open its client port.
START_WAIT_MAX=10

WORK=$(mktemp -d "${TMPDIR:-/tmp}/natsim-bench.XXXXXX")
BACKGROUND_PIDS=()

cleanup() {
	local pid
	for pid in "${BACKGROUND_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# install_tool DIRECTORY BINARY MODULE@VERSION installs a tool into its own versioned
# directory unless it is there already.
install_tool() {
	local directory=$1 binary=$2 module=$3
	[ -x "$directory/$binary" ] && return 0
	log "installing $module into $directory (once; a minute or two)"
	mkdir -p "$directory" || return 1
	# Run from the cache directory with GOWORK off, so that no go.mod or go.work of
	# this checkout is consulted or changed.
	(cd "$directory" && GOWORK=off GOBIN="$directory" go install "$module") || {
		log "could not install $module"
		return 1
	}
}

install_tool "$(dirname "$REFERENCE_BIN")" nats-server "$REFERENCE_MODULE@$REFERENCE_VERSION" || exit 1
install_tool "$(dirname "$CLI_BIN")" nats "$CLI_MODULE@$CLI_VERSION" || exit 1

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a 127.0.0.1 port nobody listens on.
free_port() {
	local port attempt
	for attempt in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		if ! port_open "$port"; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# rss_kib PID prints the process's resident set size in KiB (empty if it is gone).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# start_server SIDE RUN starts a fresh server and sets SERVER_PID, SERVER_URL,
# SERVER_LOG and SERVER_STORE; on failure it sets FAILURE and returns 1.
start_server() {
	local side=$1 run=$2 binary port waited
	binary=$REFERENCE_BIN
	[ "$side" = ours ] && binary=$OURS_BIN
	if [ ! -x "$binary" ]; then
		FAILURE="$binary does not exist (make build did not produce it)"
		return 1
	fi
	port=$(free_port) || {
		FAILURE="no free port"
		return 1
	}
	SERVER_STORE=$(mktemp -d "$WORK/store-$side-$run.XXXXXX")
	SERVER_LOG=$WORK/server-$side-$run.log
	SERVER_URL=nats://127.0.0.1:$port
	"$binary" -a 127.0.0.1 -p "$port" -js -sd "$SERVER_STORE" >"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	BACKGROUND_PIDS+=("$SERVER_PID")
	for waited in $(seq $((START_WAIT_MAX * 10))); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			FAILURE="server exited at start: $(last_line "$SERVER_LOG")"
			return 1
		fi
		port_open "$port" && return 0
		sleep 0.1
	done
	FAILURE="server did not open port $port within ${START_WAIT_MAX}s: $(last_line "$SERVER_LOG")"
	stop_server
	return 1
}

stop_server() {
	local waited
	kill -TERM "$SERVER_PID" 2>/dev/null
	for waited in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	rm -rf "$SERVER_STORE"
}

last_line() {
	local line
	line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)
	echo "${line:-(no output)}" | cut -c 1-160
}

# nats_bench runs the CLI against SERVER_URL under the timeout.
nats_bench() {
	timeout "$TIMEOUT" "$CLI_BIN" --no-context -s "$SERVER_URL" bench "$@" --no-progress
}

# rate FILE KIND prints the msgs/sec of the "KIND stats:" line of nats bench output.
rate() {
	grep "$2 stats:" "$1" 2>/dev/null | head -n 1 |
		sed -n 's/.*stats: \([0-9,.]*\) msgs\/sec.*/\1/p' | tr -d ,
}

# wait_for FILE TEXT waits (up to TIMEOUT) until FILE contains TEXT.
wait_for() {
	local waited
	for waited in $(seq $((TIMEOUT * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# run_case CASE OUTPUT runs one case against SERVER_URL and prints its msgs/s; on
# failure it prints nothing and leaves the reason in OUTPUT.
run_case() {
	local case=$1 output=$2 size helper
	case $case in
	pub16)
		nats_bench pub --size 16B --msgs "$PUB_MSGS" bench.pub >"$output" 2>&1
		rate "$output" publisher
		;;
	pubsub16 | pubsub128)
		size=${case#pubsub}B
		nats_bench sub --size "$size" --msgs "$PUBSUB_MSGS" bench.pubsub >"$output" 2>&1 &
		helper=$!
		BACKGROUND_PIDS+=("$helper")
		# The subscriber announces itself once connected; give its SUB a moment to
		# reach the server before publishing.
		wait_for "$output" "Starting Core NATS subscriber," && sleep 0.3
		nats_bench pub --size "$size" --msgs "$PUBSUB_MSGS" bench.pubsub >"$output.pub" 2>&1
		wait "$helper" 2>/dev/null
		rate "$output" subscriber
		;;
	reqrep128)
		nats_bench service serve --size 128B --msgs "$REQREP_MSGS" bench.service >"$output.serve" 2>&1 &
		helper=$!
		BACKGROUND_PIDS+=("$helper")
		wait_for "$output.serve" "Starting Core NATS service server," && sleep 0.3
		nats_bench service request --size 128B --msgs "$REQREP_MSGS" bench.service >"$output" 2>&1
		# The service server runs until interrupted.
		kill -TERM "$helper" 2>/dev/null
		wait "$helper" 2>/dev/null
		rate "$output" requester
		;;
	*)
		echo "unknown case $case" >"$output"
		;;
	esac
}

case_label() {
	case $1 in
	pub16) echo "pub 16B" ;;
	pubsub16) echo "pub/sub 16B" ;;
	pubsub128) echo "pub/sub 128B" ;;
	reqrep128) echo "request/reply 128B" ;;
	*) echo "$1" ;;
	esac
}

declare -A BEST FAILED
declare -A RSS_IDLE_MAX RSS_AFTER_MAX

# measure SIDE CASE RUN runs CASE once on a fresh server of SIDE and records the rate,
# the resident memory idle (after start) and after the run, or why it failed.
measure() {
	local side=$1 case=$2 run=$3 output value idle after
	FAILURE=
	if ! start_server "$side" "$run"; then
		FAILED[$side,$case]=$FAILURE
		log "$side $(case_label "$case"): $FAILURE"
		return
	fi
	sleep 0.5
	idle=$(rss_kib "$SERVER_PID")
	output=$WORK/client-$side-$case-$run.log
	value=$(run_case "$case" "$output")
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		after=$(rss_kib "$SERVER_PID")
	else
		after=
		value=
		echo "server died during the run: $(last_line "$SERVER_LOG")" >>"$output"
	fi
	stop_server
	[ -n "$idle" ] && [ "$idle" -gt "${RSS_IDLE_MAX[$side]:-0}" ] && RSS_IDLE_MAX[$side]=$idle
	[ -n "$after" ] && [ "$after" -gt "${RSS_AFTER_MAX[$side]:-0}" ] && RSS_AFTER_MAX[$side]=$after
	if [ -z "$value" ]; then
		FAILED[$side,$case]="bench failed: $(last_line "$output")"
		log "$side $(case_label "$case") run $run: ${FAILED[$side,$case]}"
		return
	fi
	log "$side $(case_label "$case") run $run: $value msgs/s"
	if awk -v v="$value" -v b="${BEST[$side,$case]:-0}" 'BEGIN { exit !(v > b) }'; then
		BEST[$side,$case]=$value
	fi
}

if [ ! -x "$OURS_BIN" ]; then
	log "NOTE: $OURS_BIN does not exist; only the reference will be measured"
fi
log "reference $("$REFERENCE_BIN" --version), natscli $CLI_VERSION, $ROUNDS rounds per case, logs in $WORK"

for case in $CASES; do
	for run in $(seq "$ROUNDS"); do
		measure ref "$case" "$run"
		measure ours "$case" "$run"
	done
done

# with_commas 1234567.8 prints 1,234,568.
with_commas() {
	printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}

cell() {
	local side=$1 case=$2
	if [ -n "${BEST[$side,$case]:-}" ]; then
		with_commas "${BEST[$side,$case]}"
	else
		echo "FAILED"
	fi
}

echo
printf '%-20s | %14s | %14s | %8s\n' "case" "ref msgs/s" "ours msgs/s" "ours/ref"
printf '%-20s-|-%14s-|-%14s-|-%8s\n' "--------------------" "--------------" "--------------" "--------"
for case in $CASES; do
	ratio=-
	if [ -n "${BEST[ref,$case]:-}" ] && [ -n "${BEST[ours,$case]:-}" ]; then
		ratio=$(awk -v o="${BEST[ours,$case]}" -v r="${BEST[ref,$case]}" 'BEGIN { printf "%.2f", o / r }')
	fi
	printf '%-20s | %14s | %14s | %8s\n' "$(case_label "$case")" "$(cell ref "$case")" "$(cell ours "$case")" "$ratio"
done

mib() {
	if [ -n "${1:-}" ]; then
		awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
	else
		echo "-"
	fi
}
echo
printf '%-20s | %14s | %14s\n' "resident memory" "ref" "ours"
printf '%-20s-|-%14s-|-%14s\n' "--------------------" "--------------" "--------------"
printf '%-20s | %14s | %14s\n' "idle (max)" "$(mib "${RSS_IDLE_MAX[ref]:-}")" "$(mib "${RSS_IDLE_MAX[ours]:-}")"
printf '%-20s | %14s | %14s\n' "after a run (max)" "$(mib "${RSS_AFTER_MAX[ref]:-}")" "$(mib "${RSS_AFTER_MAX[ours]:-}")"

failures=0
for case in $CASES; do
	for side in ref ours; do
		if [ -z "${BEST[$side,$case]:-}" ]; then
			failures=1
			echo "$side $(case_label "$case"): ${FAILED[$side,$case]:-no result}"
		fi
	done
done
if [ "$failures" = 1 ]; then
	BENCH_KEEP=1
	exit 1
fi
