#!/usr/bin/env bash
# bench/run.sh builds the harness and measures every server of
# bench/servers.conf side by side, writing bench/RESULTS.md; with --smoke it
# checks instead that every server starts and echoes correctly, for CI.
# Everything talks to loopback only, and every run is bounded in time.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [options]

  --reps N          runs of each row for each server (default 3)
  --duration D      measured time of an echo run (default 5s)
  --warmup D        time before measuring (default 1s)
  --window W        messages in flight per connection (default 4)
  --sizes LIST      message sizes of the echo rows (default "16 1024 65536")
  --conns LIST      connections of the echo rows (default "50 500")
  --idle-conns N    connections of the idle row (default 10000)
  --bcast-conns N   connections of the broadcast row (default 10000)
  --rounds R        measured broadcasts of a broadcast run (default 10)
  --rows LIST       rows to run, any of "echo burst idle broadcast" (default
                    all); a burst row is an echo whose connections write
                    their window in one write and wait for all of it
  --burst-sizes L   message sizes of the burst rows (default "16 1024")
  --only LIST       servers to run, by name (default all in servers.conf)
  --out FILE        report to write (default bench/RESULTS.md)
  --max-load X      the machine counts as busy when its 1-minute load
                    average, or the cores busy over one second before the
                    start, pass X (default 0.5)
  --strict          refuse to run on a busy machine instead of warning
  --quiet-wait D    before each run, wait up to D seconds for other work to
                    drop below --max-load busy cores, and up to 10 D over
                    the whole suite (default 60; 0 never waits); the run
                    then goes ahead and its record says how busy it was
  --retries N       measure a run again, up to N times (default 2), when
                    other work kept more than --max-load cores busy before
                    or during it; the least disturbed try is kept
  --smoke           a short verified echo on every server, a small idle
                    run and a small broadcast (plain and compressed), plus
                    the harness's tests and the microbenchmarks once each;
                    writes no report (for CI)
EOF
}

reps=3 duration=5s warmup=1s window=4 idle_conns=10000 sizes="16 1024 65536" conn_counts="50 500"
bcast_conns=10000 rounds=10 burst_sizes="16 1024"
rows="echo burst idle broadcast" only="" out="" max_load=0.5 strict=0 smoke=0 quiet_wait=60 waited=0 retries=2
args=("$@")
while (($#)); do
	case $1 in
	--reps) reps=$2; shift ;;
	--duration) duration=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--window) window=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	--burst-sizes) burst_sizes=$2; shift ;;
	--conns) conn_counts=$2; shift ;;
	--idle-conns) idle_conns=$2; shift ;;
	--bcast-conns) bcast_conns=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--rows) rows=$2; shift ;;
	--only) only=$2; shift ;;
	--out) out=$2; shift ;;
	--max-load) max_load=$2; shift ;;
	--strict) strict=1 ;;
	--quiet-wait) quiet_wait=$2; shift ;;
	--retries) retries=$2; shift ;;
	--smoke) smoke=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
out=${out:-$here/RESULTS.md}
bin=$here/bin
tmp=$(mktemp -d)
srv_pid="" load_pid=""

cleanup() {
	local pid
	for pid in $load_pid $srv_pid; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

log() { echo "run.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# busy_cores prints how many cores were busy over the last second, from
# /proc/stat (everything but idle and iowait).
busy_cores() {
	local a b
	a=$(head -1 /proc/stat)
	sleep 1
	b=$(head -1 /proc/stat)
	awk -v a="$a" -v b="$b" -v n="$(nproc --all)" 'BEGIN {
		split(a, x); split(b, y)
		for (i = 2; i <= 9; i++) { d = y[i] - x[i]; t += d; if (i != 5 && i != 6) u += d }
		printf "%.2f", t ? u / t * n : 0
	}'
}

# above X Y reports whether X > Y.
above() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x > y) }'; }

# The servers: parallel arrays from servers.conf, filtered by --only.
names=() server_rows=() commands=()
while read -r name srows cmd; do
	[[ -z $name || $name == \#* ]] && continue
	if [[ -n $only && " $only " != *" $name "* ]]; then
		continue
	fi
	names+=("$name") server_rows+=("$srows") commands+=("$cmd")
done <servers.conf
((${#names[@]})) || die "no server selected"

# Pinning: the server on core 0, the load generator on core 1.
srv_pin=() load_pin=() pinned=true
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	srv_pin=(taskset -c 0) load_pin=(taskset -c 1)
else
	pinned=false
	((smoke)) || log "warning: taskset or a second core missing; server and load are not pinned"
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if ! ((smoke)); then
	busy_now=$(busy_cores)
	if above "${load_start%% *}" "$max_load" || above "$busy_now" "$max_load"; then
		msg="machine busy (load average $load_start, $busy_now cores busy now; limit $max_load)"
		((strict)) && die "$msg; refusing to run (--strict)"
		log "warning: $msg; figures will be noisy"
	fi
fi

# Enough descriptors for the idle and broadcast rows, on both sides of
# them.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ " $rows " == *" idle "* ]] && (($(ulimit -n) < idle_conns + 64)); then
	die "ulimit -n is $(ulimit -n), below the $idle_conns idle connections"
fi
if [[ " $rows " == *" broadcast "* ]] && (($(ulimit -n) < bcast_conns + 64)); then
	die "ulimit -n is $(ulimit -n), below the $bcast_conns broadcast connections"
fi

log "building"
mkdir -p "$bin"
go build -o "$bin/" ./servers/... ./load ./report

# start_server NAME COMMAND starts a fresh server and waits for its ready
# line; it sets srv_pid and srv_addr.
start_server() {
	local name=$1 cmd=$2 line i
	local -a argv
	read -ra argv <<<"$cmd"
	srv_log=$tmp/$name.log
	: >"$srv_log"
	"${srv_pin[@]}" "$bin/${argv[0]}" -addr 127.0.0.1:0 "${argv[@]:1}" >"$srv_log" 2>&1 &
	srv_pid=$!
	for ((i = 0; i < 100; i++)); do
		if line=$(grep -m1 '^listening ' "$srv_log" 2>/dev/null); then
			srv_addr=${line#listening }
			return 0
		fi
		if ! kill -0 "$srv_pid" 2>/dev/null; then
			cat "$srv_log" >&2
			die "server $name exited before listening"
		fi
		sleep 0.1
	done
	die "server $name did not listen within 10s"
}

# stop_server ends the server, failing if it died during the run.
stop_server() {
	local name=$1 i
	if ! kill -0 "$srv_pid" 2>/dev/null; then
		cat "$srv_log" >&2
		die "server $name died during the run"
	fi
	kill -TERM "$srv_pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=""
}

# wait_quiet waits, up to --quiet-wait seconds (and ten times that over
# the suite), until other work keeps fewer than --max-load cores busy: the
# machine is shared, and a run next to a busy neighbour measures the
# neighbour.
wait_quiet() {
	local start=$SECONDS busy
	while busy=$(busy_cores) && above "$busy" "$max_load"; do
		if ((SECONDS - start >= quiet_wait || waited + SECONDS - start >= 10 * quiet_wait)); then
			log "still $busy cores busy; running anyway"
			break
		fi
		log "$busy cores busy with other work; waiting"
		sleep 4
	done
	waited=$((waited + SECONDS - start))
}

# other_work prints how many cores other work kept busy around the run a
# JSON line describes: the more of busy_before and other_during.
other_work() {
	awk '{
		b = d = 0
		if (match($0, /"busy_before":[0-9.eE+-]+/)) b = substr($0, RSTART + 14, RLENGTH - 14)
		if (match($0, /"other_during":[0-9.eE+-]+/)) d = substr($0, RSTART + 15, RLENGTH - 15)
		printf "%.2f", (b + 0 > d + 0 ? b : d)
	}' <<<"$1"
}

# measure NAME COMMAND LOAD-ARGS... runs the load generator against a fresh
# server and appends its JSON line to $results. A run that other work
# disturbed is measured again, up to --retries times, keeping the least
# disturbed.
measure() {
	local name=$1 cmd=$2 try res other best="" best_other=""
	shift 2
	for ((try = 0; try <= retries; try++)); do
		((smoke || quiet_wait == 0)) || wait_quiet
		start_server "$name" "$cmd"
		"${load_pin[@]}" "$bin/load" -addr "$srv_addr" -pid "$srv_pid" -label "$name" -json "$@" >"$tmp/res" &
		load_pid=$!
		if ! wait "$load_pid"; then
			load_pid=""
			cat "$srv_log" >&2
			die "load against $name failed ($*)"
		fi
		load_pid=""
		res=$(<"$tmp/res")
		stop_server "$name"
		other=$(other_work "$res")
		if [[ -z $best ]] || above "$best_other" "$other"; then
			best=$res best_other=$other
		fi
		if ((smoke)) || ! above "$other" "$max_load"; then
			break
		fi
		((try < retries)) && log "$name: other work kept $other cores busy; measuring again"
	done
	echo "$best" >>"$results"
}

# serves I ROW reports whether server I runs in ROW.
serves() { [[ ",${server_rows[$1]}," == *",$2,"* ]]; }

if ((smoke)); then
	log "go vet and tests"
	go vet ./...
	go test ./...
	go test -run='^$' -bench=. -benchtime=1x ./...
	results=$tmp/smoke.jsonl
	for i in "${!names[@]}"; do
		log "smoke: ${names[i]} echo"
		measure "${names[i]}" "${commands[i]}" -mode echo -verify -conns 10 -size 1024 \
			-warmup 200ms -duration 1s
		# Unverified, 64 KiB takes the generator's shared mode: one
		# payload per connection, the echo dropped past its sequence
		# number.
		log "smoke: ${names[i]} echo 64 KiB shared"
		measure "${names[i]}" "${commands[i]}" -mode echo -conns 10 -size 65536 \
			-warmup 200ms -duration 500ms
		log "smoke: ${names[i]} burst"
		measure "${names[i]}" "${commands[i]}" -mode echo -burst -verify -conns 10 -size 1024 \
			-warmup 200ms -duration 500ms
		if serves "$i" idle; then
			log "smoke: ${names[i]} idle"
			measure "${names[i]}" "${commands[i]}" -mode idle -conns 200 -per-source 100 \
				-size 16 -settle 300ms -settle-max 3s
		fi
		if serves "$i" broadcast; then
			for deflate in "" -deflate; do
				log "smoke: ${names[i]} broadcast ${deflate:-plain}"
				measure "${names[i]}" "${commands[i]} -broadcast $deflate" -mode broadcast -conns 50 \
					-per-source 100 -size 1024 -rounds 3 -quiet 100ms $deflate
			done
		fi
	done
	log "smoke passed: ${#names[@]} servers"
	exit 0
fi

results=$bin/results.jsonl
: >"$results"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Each repetition runs every server once, round robin, so that a change in
# the machine's load touches every server alike.
# echo_rows SIZES LOAD-ARGS... runs the echo rows of each size and number
# of connections.
echo_rows() {
	local size conns rep i row_sizes=$1
	shift
	for size in $row_sizes; do
		for conns in $conn_counts; do
			for ((rep = 1; rep <= reps; rep++)); do
				for i in "${!names[@]}"; do
					serves "$i" echo || continue
					measure "${names[i]}" "${commands[i]}" -mode echo -conns "$conns" -size "$size" \
						-window "$window" -warmup "$warmup" -duration "$duration" "$@"
				done
			done
		done
	done
}
if [[ " $rows " == *" echo "* ]]; then
	echo_rows "$sizes"
fi
# A burst row: each connection writes its window of messages in one write
# and waits for all their echoes, as a client that sends several messages
# at once does; a server that reads every frame already buffered and
# writes the replies together spends fewer system calls per message.
if [[ " $rows " == *" burst "* ]]; then
	echo_rows "$burst_sizes" -burst
fi
if [[ " $rows " == *" idle "* ]]; then
	for ((rep = 1; rep <= reps; rep++)); do
		for i in "${!names[@]}"; do
			serves "$i" idle || continue
			measure "${names[i]}" "${commands[i]}" -mode idle -conns "$idle_conns" -size 16
		done
	done
fi
# The broadcast row: one 1 KiB message to every connection of one room,
# uncompressed and then compressed (permessage-deflate, no context
# takeover, level 1, for every server alike).
if [[ " $rows " == *" broadcast "* ]]; then
	for deflate in "" -deflate; do
		for ((rep = 1; rep <= reps; rep++)); do
			for i in "${!names[@]}"; do
				serves "$i" broadcast || continue
				measure "${names[i]}" "${commands[i]} -broadcast $deflate" -mode broadcast \
					-conns "$bcast_conns" -size 1024 -rounds "$rounds" $deflate
			done
		done
	done
fi

"$bin/report" -in "$results" -out "$out" -servers "${names[*]}" -ref "${names[0]}" \
	-command "bench/run.sh${args[*]:+ ${args[*]}}" -started "$started" \
	-go "$(go version | cut -d' ' -f3-)" -load-start "$load_start" -pinned="$pinned"
log "wrote $out (raw results in $results)"
