#!/usr/bin/env bash
# Builds the Go peer servers of `braid bench echo` into DIR (default
# ./bin): goecho (goroutine per connection), gnetecho (gnet v2, one
# loop), uringecho (io_uring, one thread; Linux 6.1+) and epollecho (the
# floor: epoll and two system calls per request, no framework). They
# live in a module of their own so that braid's own module does not
# depend on gnet.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-bin}"
mkdir -p "$out"
go build -o "$out/goecho" ./goecho
go build -o "$out/gnetecho" ./gnetecho
go build -o "$out/uringecho" ./uringecho
go build -o "$out/epollecho" ./epollecho
echo "built $out/goecho $out/gnetecho $out/uringecho $out/epollecho"
