#!/usr/bin/env bash
# fuzz.sh runs every fuzz target one at a time, each for DURATION (go test
# -fuzz accepts one target per run), and prints the executions per second of
# each. The targets are those of ./fuzz, which attack the public API against
# reference models, and the few in the packages themselves that need their
# test helpers (PACKAGES below).
#
#   scripts/fuzz.sh 20s                     # every target, 20 s each (CI)
#   scripts/fuzz.sh 1h FuzzParseHeader      # one target for an hour
#   scripts/fuzz.sh 5m FuzzMask FuzzReadFrames
#
# FUZZ_PARALLEL sets the fuzzing workers per target (default 1: the machine
# is shared); FUZZ_MINIMIZE_TIME bounds the minimisation of each new input
# (default 5s, so short runs are not spent minimising). A failing input is
# written to <package>/testdata/fuzz/<Target>/ and the script exits non-zero
# after running the remaining targets.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
	echo "usage: scripts/fuzz.sh DURATION [TARGET...]" >&2
	exit 2
fi
duration=$1
shift
GO=${GO:-go}

packages=(./fuzz ./handshake ./conn ./frame ./internal/deflate)
pairs=() # package:target
for p in "${packages[@]}"; do
	while read -r t; do
		pairs+=("$p:$t")
	done < <($GO test -list '^Fuzz' "$p" | grep '^Fuzz')
done
if [ ${#pairs[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found in ${packages[*]}" >&2
	exit 1
fi
if [ $# -gt 0 ]; then
	chosen=()
	for want in "$@"; do
		found=0
		for pt in "${pairs[@]}"; do
			if [ "${pt#*:}" = "$want" ] || [ "$pt" = "$want" ]; then
				chosen+=("$pt")
				found=1
			fi
		done
		if [ $found -eq 0 ]; then
			echo "fuzz.sh: no fuzz target $want in ${packages[*]}" >&2
			exit 2
		fi
	done
	pairs=("${chosen[@]}")
fi

# seconds converts the elapsed time go test prints (1h2m3s, 4m0s, 59s).
seconds() {
	awk -v d="$1" 'BEGIN {
		s = 0
		while (match(d, /^[0-9.]+[hms]/)) {
			n = substr(d, 1, RLENGTH - 1); u = substr(d, RLENGTH, 1)
			s += n * (u == "h" ? 3600 : u == "m" ? 60 : 1)
			d = substr(d, RLENGTH + 1)
		}
		print s
	}'
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
summary=()
for pt in "${pairs[@]}"; do
	pkg=${pt%%:*}
	t=${pt#*:}
	echo "== $pkg $t for $duration"
	corpus=$pkg/testdata/fuzz/$t
	before=$(ls "$corpus" 2>/dev/null | sort)
	$GO test "$pkg" -run='^$' -fuzz="^${t}\$" -fuzztime="$duration" \
		-fuzzminimizetime="${FUZZ_MINIMIZE_TIME:-5s}" -parallel="${FUZZ_PARALLEL:-1}" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	last=$(grep -E 'fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1)
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
	elapsed=$(sed -E 's/.*elapsed: ([0-9hms.]+),.*/\1/' <<<"$last")
	rate=0
	if [ -n "$last" ]; then
		secs=$(seconds "$elapsed")
		rate=$(awk -v e="$execs" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? e / s : 0) }')
	fi
	# Go 1.26's fuzz coordinator can fail a run with a bare "context deadline
	# exceeded" when -fuzztime ends while a worker is busy (go.dev/issue/75804,
	# fixed in Go 1.27). A real failure always writes its input to the corpus,
	# so a failure that wrote nothing and says only that is not one.
	after=$(ls "$corpus" 2>/dev/null | sort)
	if [ "$status" -ne 0 ] && [ "$before" = "$after" ] &&
		grep -q '^    context deadline exceeded$' "$log" &&
		[ "$(grep -c -- '--- FAIL' "$log")" -eq 1 ]; then
		echo "fuzz.sh: $t stopped with the coordinator's deadline error and wrote no input (go.dev/issue/75804); not a failure"
		status=0
	fi
	if [ "$status" -ne 0 ]; then
		failed+=("$pkg:$t")
		summary+=("$(printf '%-40s FAIL  %s execs in %s' "$pkg:$t" "${execs:-0}" "${elapsed:-?}")")
	else
		summary+=("$(printf '%-40s ok    %s execs in %s (%s/s)' "$pkg:$t" "${execs:-0}" "${elapsed:-?}" "$rate")")
	fi
done

echo
echo "== fuzz summary ($duration per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failing targets: ${failed[*]}; their inputs are in <package>/testdata/fuzz/<target>/" >&2
	exit 1
fi
