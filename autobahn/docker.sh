#!/usr/bin/env bash
# Runs the original Autobahn|Testsuite (the crossbario/autobahn-testsuite
# image) against duplex: first its fuzzingclient against cmd/wsecho's echo
# server, then its fuzzingserver against `wsecho -client`. Needs Docker and
# Go; uses the host network, so Linux only. Reports go to ./reports/ (the
# original's HTML at reports/servers/index.html and reports/clients/index.html).
#
#   autobahn/docker.sh            # both
#   autobahn/docker.sh server     # only the server
#   autobahn/docker.sh client     # only the client
set -euo pipefail
cd "$(dirname "$0")/.."
image=crossbario/autobahn-testsuite
what=${1:-all}
mkdir -p reports
go build -o reports/wsecho ./cmd/wsecho

run_server() {
	reports/wsecho -addr 127.0.0.1:9001 &
	local pid=$!
	trap 'kill $pid 2>/dev/null || true' RETURN
	sleep 1
	docker run --rm --network host \
		-v "$PWD/autobahn:/config:ro" -v "$PWD/reports:/reports" \
		"$image" wstest -m fuzzingclient -s /config/fuzzingclient.json
}

run_client() {
	local cid
	cid=$(docker run -d --rm --network host \
		-v "$PWD/autobahn:/config:ro" -v "$PWD/reports:/reports" \
		"$image" wstest -m fuzzingserver -s /config/fuzzingserver.json)
	trap 'docker stop "$cid" >/dev/null 2>&1 || true' RETURN
	for _ in $(seq 50); do
		if (exec 3<>/dev/tcp/127.0.0.1/9001) 2>/dev/null; then break; fi
		sleep 0.2
	done
	reports/wsecho -client ws://127.0.0.1:9001 -agent duplex
}

case $what in
all) run_server; run_client ;;
server) run_server ;;
client) run_client ;;
*) echo "usage: $0 [all|server|client]" >&2; exit 2 ;;
esac
echo "reports: reports/servers/index.html, reports/clients/index.html"
