#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Go installed: installs
# what the tests need (make, ffmpeg, chromium) when missing, then runs
# `make ci` (lint, race tests, fuzzing, benchmark smoke run, end-to-end
# tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v make >/dev/null || need+=(make)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing ${need[*]}: run as root or install them: apt-get install -y ${need[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
exec make ci
