#!/usr/bin/env bash
# Runs the calibration: the suite against gorilla/websocket and coder/websocket
# peers, verdicts compared case by case with the original Autobahn|Testsuite's
# reports in testdata/reference (set DUPLEX_AUTOBAHN_REFERENCE to use another
# folder of the same shape). Set DUPLEX_AUTOBAHN_OUT=dir
# to keep the suite's reports, DUPLEX_AUTOBAHN_CASES="6.*,7.*" to narrow.
set -euo pipefail
cd "$(dirname "$0")"
exec go test -count=1 -timeout 30m -v "$@" ./...
