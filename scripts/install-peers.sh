#!/usr/bin/env bash
# Installs the outside peers the interop tests talk to, when they are missing.
# Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Python websockets (Debian's package; tests run it with /usr/bin/python3).
if ! /usr/bin/python3 -c 'import websockets' 2>/dev/null; then need_apt+=(python3-websockets); fi

# Headless Chromium for the browser tests (Debian's build; test tools cannot download their own).
if ! command -v chromium >/dev/null 2>&1; then need_apt+=(chromium); fi

if [ ${#need_apt[@]} -gt 0 ]; then
	sudo_cmd=""
	if [ "$(id -u)" != 0 ]; then sudo_cmd=sudo; fi
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

# Node's ws for the interop tests, pinned by interop/node/package-lock.json.
# npm ci runs only when node_modules is missing or older than the lock file.
node_dir=interop/node
if [ -f "$node_dir/package-lock.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		sudo_cmd=""
		if [ "$(id -u)" != 0 ]; then sudo_cmd=sudo; fi
		$sudo_cmd apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nodejs npm
	fi
	stamp="$node_dir/node_modules/.package-lock.json"
	if [ ! -f "$stamp" ] || [ "$node_dir/package-lock.json" -nt "$stamp" ]; then
		(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
fi
