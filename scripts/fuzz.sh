#!/usr/bin/env bash
# Runs every fuzz target in the tree for a short time (default 10s each) beyond its seed corpus.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
# The build tags of the Makefile (the podman bindings need them); `make fuzz` passes TAGS.
tags="${TAGS:-$(make -s print-tags)}"
status=0
while IFS= read -r file; do
	dir=$(dirname "$file")
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "fuzz: ./$dir $target ($fuzztime)"
		if ! go test -tags "$tags" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"; then
			status=1
		fi
	done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' . | sort)
exit $status
