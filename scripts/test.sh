#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Go, Rust (cargo) and
# Python installed: installs what the tests need when missing — make, ffmpeg
# and chromium from Debian's packages, the independent MoQ peers (moq-rs and
# moq-dev crates, aiomoqt) at pinned versions — then runs `make ci` (lint,
# race tests, fuzzing, benchmark smoke run, end-to-end tests).
#
# Peers are built once into $MOQ_GATEWAY_PEERS (default ~/.cache/moq-gateway/peers)
# and reused while their pinned version stays the same.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v make >/dev/null || need+=(make)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
# aiomoqt's virtualenv (scripts/peers.sh); Debian's python3 needs a package
# for it.
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing ${need[*]}: run as root or install them: apt-get install -y ${need[*]}" >&2
		exit 1
	fi
	# Another apt-get may hold the lock (unattended upgrades on a fresh
	# machine): wait for it instead of failing.
	apt=(apt-get -o DPkg::Lock::Timeout=600)
	"${apt[@]}" update -qq
	"${apt[@]}" install -y -qq "${need[@]}" >/dev/null
fi

# Not MOQGW_: the gateway refuses MOQGW_ variables that name no setting.
export MOQ_GATEWAY_PEERS=${MOQ_GATEWAY_PEERS:-$HOME/.cache/moq-gateway/peers}
./scripts/peers.sh

exec make ci
