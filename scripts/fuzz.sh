#!/usr/bin/env bash
# Runs every native fuzz target in the module for FUZZTIME (default 5s).
# Crashers land in the package's testdata/fuzz/ and are replayed by go test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
status=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "== fuzz $pkg $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
			status=1
		fi
	done
done < <(grep -rlE --include='*_test.go' '^func Fuzz' . | sed 's|^\./||' | sort)
exit $status
