#!/usr/bin/env bash
# Builds the Go peer servers of `braid bench echo` into DIR (default
# ./bin): goecho (goroutine per connection) and gnetecho (gnet v2, one
# loop). They live in a module of their own so that braid's own module
# does not depend on gnet.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-bin}"
mkdir -p "$out"
go build -o "$out/goecho" ./goecho
go build -o "$out/gnetecho" ./gnetecho
echo "built $out/goecho $out/gnetecho"
