#!/usr/bin/env bash
# bench.sh: `nats bench` against the reference nats-server and ours, side by side.
#
# `make bench` runs it after `make build`. It installs, once, the reference server and
# the nats CLI from the Go module proxy into a cache directory (never this module's
# go.mod), then for each case runs the servers alternately, each on a fresh server with
# its own free 127.0.0.1 port and JetStream in a temporary store directory, and prints
# msgs/s side by side with the ratios, then the servers' resident memory.
#
# Servers ("sides"):
#   ref      the reference in its default mode (JetStream fsyncs every 2 minutes).
#   always   the reference with `jetstream { sync_interval: always }`: an fsync per
#            write, the durability ours gives by default. JetStream cases only, since
#            the setting changes nothing for Core NATS.
#   ours     bin/nats-server in its durable default (a PubAck leaves after the fsync).
#
# Cases (natscli v0.5.0 subcommands, one client each):
#   pub16               nats bench pub 16B: the publisher's rate.
#   pubsub16, pubsub128 nats bench sub, then nats bench pub on the same subject: the
#                       subscriber's rate, i.e. messages delivered end to end.
#   reqrep128           nats bench service serve, then service request: the
#                       requester's rate (one request in flight).
#   jspubsync           nats bench js pub sync 128B into a new file R1 stream: one
#                       publish in flight, each waiting for its PubAck.
#   jspubasync          nats bench js pub async 128B into a new file R1 stream: up to
#                       --batch (500) publishes in flight.
#   jsordered           nats bench js ordered: an ephemeral ordered consumer reads a
#                       stream of BENCH_JS_CONSUME_MSGS 128B messages.
#   jsconsume           nats bench js consume --acks explicit: a durable pull consumer
#                       driven by Consume (callback), each message acked.
#   jsfetch             nats bench js fetch --acks explicit: a durable pull consumer
#                       driven by Fetch batches, each message acked.
# The consume cases first fill the stream with an untimed js pub async. For "always"
# the fill runs with the default sync interval and the server then restarts on the
# same store with sync_interval: always (a fill at an fsync per message would take
# minutes); the timed part runs with sync_interval: always.
# Each case runs BENCH_ROUNDS times per server and the best rate counts, which filters
# out noise from other work on the machine better than a mean.
#
# Environment:
#   NATSIM_BENCH_CACHE  tool cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/natsim-bench)
#   BENCH_OURS          our server binary (default bin/nats-server)
#   BENCH_ROUNDS        runs per server and case (default 3)
#   BENCH_CASES         the cases to run, by key (default: all of the above)
#   BENCH_SIDES         the servers to run, by key (default "ref always ours")
#   BENCH_TIMEOUT       seconds one timed nats bench command may take (default 60)
#   BENCH_PUB_MSGS, BENCH_PUBSUB_MSGS, BENCH_REQREP_MSGS   message counts per run
#   BENCH_JS_PUB_SYNC_MSGS, BENCH_JS_PUB_ASYNC_MSGS, BENCH_JS_CONSUME_MSGS
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
CASES=${BENCH_CASES:-pub16 pubsub16 pubsub128 reqrep128 jspubsync jspubasync jsordered jsconsume jsfetch}
SIDES=${BENCH_SIDES:-ref always ours}
# 60 s: the reference with sync_interval: always publishes asynchronously at about
# 1,500 msgs/s on a loaded machine, so js pub async there takes close to 30 s.
TIMEOUT=${BENCH_TIMEOUT:-60}
# Filling a stream for a consume case is untimed and may take longer.
FILL_TIMEOUT=$((TIMEOUT * 4))
# 500,000 messages keep a subscriber that falls behind under nats.go's client-side
# pending limit (512Ki messages), so a pub/sub run never loses messages to it.
PUB_MSGS=${BENCH_PUB_MSGS:-1000000}
PUBSUB_MSGS=${BENCH_PUBSUB_MSGS:-500000}
REQREP_MSGS=${BENCH_REQREP_MSGS:-20000}
# Sized so that the slowest server (an fsync per message: the reference with
# sync_interval: always, ours) spends a few seconds per run, not minutes.
JS_PUB_SYNC_MSGS=${BENCH_JS_PUB_SYNC_MSGS:-5000}
JS_PUB_ASYNC_MSGS=${BENCH_JS_PUB_ASYNC_MSGS:-40000}
JS_CONSUME_MSGS=${BENCH_JS_CONSUME_MSGS:-200000}
JS_STREAM=benchstream
JS_SUBJECT=bench.js
# Seconds a server gets to open its client port.
START_WAIT_MAX=10

WORK=$(mktemp -d "${TMPDIR:-/tmp}/natsim-bench.XXXXXX")
# The reference spells the key sync_interval inside the jetstream block; "always"
# fsyncs after every write. Store directory and port still come from the flags.
ALWAYS_CONFIG=$WORK/sync-always.conf
printf 'jetstream {\n\tsync_interval: always\n}\n' >"$ALWAYS_CONFIG"
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

# start_server SIDE RUN [MODE] starts a fresh server and sets SERVER_PID, SERVER_URL,
# SERVER_LOG and SERVER_STORE; on failure it sets FAILURE and returns 1. MODE "fill"
# starts the "always" side with the default sync interval; MODE "restart" starts
# SIDE again on the SERVER_STORE and SERVER_URL of the previous start.
start_server() {
	local side=$1 run=$2 mode=${3:-} binary port waited arguments
	binary=$REFERENCE_BIN
	[ "$side" = ours ] && binary=$OURS_BIN
	if [ ! -x "$binary" ]; then
		FAILURE="$binary does not exist (make build did not produce it)"
		return 1
	fi
	if [ "$mode" = restart ]; then
		port=${SERVER_URL##*:}
		SERVER_LOG=$WORK/server-$side-$run-restarted.log
	else
		port=$(free_port) || {
			FAILURE="no free port"
			return 1
		}
		SERVER_STORE=$(mktemp -d "$WORK/store-$side-$run.XXXXXX")
		SERVER_LOG=$WORK/server-$side-$run.log
		SERVER_URL=nats://127.0.0.1:$port
	fi
	arguments=(-a 127.0.0.1 -p "$port" -js -sd "$SERVER_STORE")
	[ "$side" = always ] && [ "$mode" != fill ] && arguments+=(-c "$ALWAYS_CONFIG")
	"$binary" "${arguments[@]}" >"$SERVER_LOG" 2>&1 &
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

# stop_server [keep] stops the server and removes its store unless told to keep it.
stop_server() {
	local waited
	kill -TERM "$SERVER_PID" 2>/dev/null
	for waited in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	[ "${1:-}" = keep ] || rm -rf "$SERVER_STORE"
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

# js_stream_flags are the stream settings of every JetStream case: a file stream with
# one replica, created by the publisher.
js_stream_flags=(--create --storage file --replicas 1 --stream "$JS_STREAM")

# fill_stream OUTPUT publishes JS_CONSUME_MSGS 128B messages into the bench stream,
# untimed, for the consume cases to read.
fill_stream() {
	timeout "$FILL_TIMEOUT" "$CLI_BIN" --no-context -s "$SERVER_URL" bench js pub async \
		"${js_stream_flags[@]}" --size 128B --msgs "$JS_CONSUME_MSGS" "$JS_SUBJECT" --no-progress \
		>"$1" 2>&1 && [ -n "$(rate "$1" "asynchronous publisher")" ]
}

is_consume_case() {
	case $1 in
	jsordered | jsconsume | jsfetch) return 0 ;;
	*) return 1 ;;
	esac
}

is_js_case() {
	case $1 in
	js*) return 0 ;;
	*) return 1 ;;
	esac
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
	jspubsync)
		nats_bench js pub sync "${js_stream_flags[@]}" --size 128B --msgs "$JS_PUB_SYNC_MSGS" \
			"$JS_SUBJECT" >"$output" 2>&1
		rate "$output" "synchronous publisher"
		;;
	jspubasync)
		nats_bench js pub async "${js_stream_flags[@]}" --size 128B --msgs "$JS_PUB_ASYNC_MSGS" \
			"$JS_SUBJECT" >"$output" 2>&1
		rate "$output" "asynchronous publisher"
		;;
	jsordered)
		nats_bench js ordered --stream "$JS_STREAM" --size 128B --msgs "$JS_CONSUME_MSGS" >"$output" 2>&1
		rate "$output" "ordered ephemeral consumer"
		;;
	jsconsume)
		nats_bench js consume --stream "$JS_STREAM" --acks explicit --size 128B \
			--msgs "$JS_CONSUME_MSGS" >"$output" 2>&1
		rate "$output" "durable consumer (callback)"
		;;
	jsfetch)
		nats_bench js fetch --stream "$JS_STREAM" --acks explicit --size 128B \
			--msgs "$JS_CONSUME_MSGS" >"$output" 2>&1
		rate "$output" "durable consumer (fetch)"
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
	jspubsync) echo "js pub sync 128B" ;;
	jspubasync) echo "js pub async 128B" ;;
	jsordered) echo "js ordered 128B" ;;
	jsconsume) echo "js consume ack 128B" ;;
	jsfetch) echo "js fetch ack 128B" ;;
	*) echo "$1" ;;
	esac
}

side_label() {
	case $1 in
	ref) echo "ref" ;;
	always) echo "ref always" ;;
	*) echo "$1" ;;
	esac
}

declare -A BEST FAILED
declare -A RSS_IDLE_MAX RSS_AFTER_MAX

# measure SIDE CASE RUN runs CASE once on a fresh server of SIDE and records the rate,
# the resident memory idle (after start) and after the run, or why it failed.
measure() {
	local side=$1 case=$2 run=$3 output value idle after mode=
	FAILURE=
	output=$WORK/client-$side-$case-$run.log
	is_consume_case "$case" && [ "$side" = always ] && mode=fill
	if ! start_server "$side" "$run-$case" $mode; then
		FAILED[$side,$case]=$FAILURE
		log "$(side_label "$side") $(case_label "$case"): $FAILURE"
		return
	fi
	if is_consume_case "$case"; then
		if ! fill_stream "$output.fill"; then
			FAILED[$side,$case]="filling the stream failed: $(last_line "$output.fill") (server log $SERVER_LOG)"
			log "$(side_label "$side") $(case_label "$case") run $run: ${FAILED[$side,$case]}"
			stop_server
			return
		fi
		if [ "$mode" = fill ]; then
			stop_server keep
			if ! start_server "$side" "$run-$case" restart; then
				FAILED[$side,$case]=$FAILURE
				log "$(side_label "$side") $(case_label "$case"): $FAILURE"
				rm -rf "$SERVER_STORE"
				return
			fi
		fi
	fi
	sleep 0.5
	idle=$(rss_kib "$SERVER_PID")
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
		FAILED[$side,$case]="bench failed: $(last_line "$output") (client log $output, server log $SERVER_LOG)"
		log "$(side_label "$side") $(case_label "$case") run $run: ${FAILED[$side,$case]}"
		return
	fi
	log "$(side_label "$side") $(case_label "$case") run $run: $value msgs/s"
	if awk -v v="$value" -v b="${BEST[$side,$case]:-0}" 'BEGIN { exit !(v > b) }'; then
		BEST[$side,$case]=$value
	fi
}

# runs_on SIDE CASE says whether CASE runs on SIDE: the sync interval matters only to
# JetStream, so Core NATS cases skip "always".
runs_on() {
	[ "$1" != always ] || is_js_case "$2"
}

if [ ! -x "$OURS_BIN" ]; then
	log "NOTE: $OURS_BIN does not exist; only the reference will be measured"
fi
log "reference $("$REFERENCE_BIN" --version), natscli $CLI_VERSION, $ROUNDS rounds per case, logs in $WORK"
log "load at start:$(uptime | sed 's/.*load average/ load average/')"

# rotated_sides RUN prints SIDES rotated left by RUN-1, so that no server always runs
# right after the same other one (page cache, disk writeback, other helpers' load).
rotated_sides() {
	local sides=($SIDES) count shift index
	count=${#sides[@]}
	shift=$((($1 - 1) % count))
	for index in $(seq 0 $((count - 1))); do
		echo "${sides[$(((index + shift) % count))]}"
	done
}

for case in $CASES; do
	for run in $(seq "$ROUNDS"); do
		for side in $(rotated_sides "$run"); do
			if runs_on "$side" "$case"; then
				measure "$side" "$case" "$run"
			fi
		done
	done
done

log "load at end:$(uptime | sed 's/.*load average/ load average/')"

# with_commas 1234567.8 prints 1,234,568.
with_commas() {
	printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}

# cell SIDE CASE prints the best rate, FAILED, or - for a side the case does not run on.
cell() {
	local side=$1 case=$2
	if ! runs_on "$side" "$case" || [[ " $SIDES " != *" $side "* ]]; then
		echo "-"
	elif [ -n "${BEST[$side,$case]:-}" ]; then
		with_commas "${BEST[$side,$case]}"
	else
		echo "FAILED"
	fi
}

# ratio CASE SIDE prints ours / SIDE for CASE with two decimals, or - without both rates.
ratio() {
	if [ -n "${BEST[ours,$1]:-}" ] && [ -n "${BEST[$2,$1]:-}" ]; then
		awk -v o="${BEST[ours,$1]}" -v r="${BEST[$2,$1]}" 'BEGIN { printf "%.2f", o / r }'
	else
		echo "-"
	fi
}

row_format='%-20s | %14s | %14s | %14s | %8s | %11s\n'
echo
printf "$row_format" "case (msgs/s)" "ref" "ref always" "ours" "ours/ref" "ours/always"
printf "$row_format" "--------------------" "--------------" "--------------" "--------------" "--------" "-----------"
for case in $CASES; do
	printf "$row_format" "$(case_label "$case")" "$(cell ref "$case")" "$(cell always "$case")" \
		"$(cell ours "$case")" "$(ratio "$case" ref)" "$(ratio "$case" always)"
done

# Issue 7's targets: ours >= the reference default for async publish and every consume
# case, and >= 1.5x the reference with sync_interval: always for async publish.
target() {
	local case=$1 side=$2 minimum=$3 value verdict
	[[ " $CASES " == *" $case "* ]] || return 0
	value=$(ratio "$case" "$side")
	if [ "$value" = - ]; then
		verdict="no result"
	elif awk -v v="$value" -v m="$minimum" 'BEGIN { exit !(v >= m) }'; then
		verdict=met
	else
		verdict=MISSED
	fi
	printf '  %-20s ours/%-7s >= %-4s %6s  %s\n' "$(case_label "$case")" "$side" "$minimum" "$value" "$verdict"
}
if [[ " $CASES " == *" js"* ]]; then
	echo
	echo "targets (issue 7):"
	target jspubasync ref 1.0
	target jspubasync always 1.5
	target jsordered ref 1.0
	target jsconsume ref 1.0
	target jsfetch ref 1.0
fi

mib() {
	if [ -n "${1:-}" ]; then
		awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
	else
		echo "-"
	fi
}
memory_format='%-20s | %14s | %14s | %14s\n'
echo
printf "$memory_format" "resident memory" "ref" "ref always" "ours"
printf "$memory_format" "--------------------" "--------------" "--------------" "--------------"
printf "$memory_format" "idle (max)" "$(mib "${RSS_IDLE_MAX[ref]:-}")" "$(mib "${RSS_IDLE_MAX[always]:-}")" \
	"$(mib "${RSS_IDLE_MAX[ours]:-}")"
printf "$memory_format" "after a run (max)" "$(mib "${RSS_AFTER_MAX[ref]:-}")" "$(mib "${RSS_AFTER_MAX[always]:-}")" \
	"$(mib "${RSS_AFTER_MAX[ours]:-}")"

failures=0
for case in $CASES; do
	for side in $SIDES; do
		runs_on "$side" "$case" || continue
		if [ -z "${BEST[$side,$case]:-}" ]; then
			failures=1
			echo "$(side_label "$side") $(case_label "$case"): ${FAILED[$side,$case]:-no result}"
		fi
	done
done
if [ "$failures" = 1 ]; then
	BENCH_KEEP=1
	exit 1
fi
