#!/usr/bin/env bash
# Regenerates every checked-in .pb.go file under kernel/mesos from the .proto
# files beside them. Run from anywhere; it works from the repository root.
#
# Imports are resolved relative to the repository root (for example
# `import "kernel/mesos/mesospb/mesos.proto";`) and outputs are written next to
# their .proto files (paths=source_relative). Output is deterministic for a
# given protoc / protoc-gen-go pair; CI does not run this, so commit the result.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

PROTOC="${PROTOC:-protoc}"
if [[ -z "${PROTOC_GEN_GO:-}" ]]; then
  if command -v protoc-gen-go >/dev/null 2>&1; then
    PROTOC_GEN_GO="$(command -v protoc-gen-go)"
  else
    PROTOC_GEN_GO="$(go env GOPATH)/bin/protoc-gen-go"
  fi
fi
if [[ ! -x "$PROTOC_GEN_GO" ]]; then
  echo "genproto: protoc-gen-go not found (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11)" >&2
  exit 1
fi

# One protoc run per Go package, in dependency order, with files sorted so the
# result never depends on directory listing order.
pkgs=(mesospb schedulerpb executorpb masterpb agentpb internalpb)
for pkg in "${pkgs[@]}"; do
  dir="kernel/mesos/$pkg"
  mapfile -t files < <(find "$dir" -maxdepth 1 -name '*.proto' | LC_ALL=C sort)
  if [[ ${#files[@]} -eq 0 ]]; then
    continue
  fi
  "$PROTOC" \
    --proto_path=. \
    --plugin=protoc-gen-go="$PROTOC_GEN_GO" \
    --go_out=. \
    --go_opt=paths=source_relative \
    "${files[@]}"
  echo "genproto: $dir (${#files[@]} files)"
done
