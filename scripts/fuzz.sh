#!/usr/bin/env bash
# Runs every native fuzz target in the module for FUZZTIME each (default
# 30000x: a count of inputs, so the run has no deadline that can expire in
# the middle of an input, which Go's fuzzer sometimes reports as a failure).
# Crashers land in the package's testdata/fuzz/ and are replayed by go test.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30000x}
status=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "== fuzz $pkg $target ($fuzztime)"
		out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
		rc=$?
		echo "$out" | tail -n 25
		if [ $rc -ne 0 ] && ! grep -q "Failing input written" <<<"$out" && grep -q "context deadline exceeded" <<<"$out"; then
			# The fuzzer's own deadline, not a finding: run once more.
			echo "== retry $pkg $target"
			go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -n 25
			rc=${PIPESTATUS[0]}
		fi
		[ $rc -eq 0 ] || status=1
	done
done < <(grep -rlE --include='*_test.go' '^func Fuzz' . | sed 's|^\./||' | sort)
exit $status
