#!/usr/bin/env bash
# Instructions per request of each server of the load benchmark, counted by
# callgrind (repeatable on a noisy machine, unlike seconds): the server runs
# under callgrind, is warmed with 4 connections for 2 s, its counters are
# zeroed, then 64 connections load it for 5 s and its counters are dumped.
#
#   tools/callgrind.sh                 # hyper and pesakit
#   tools/callgrind.sh hyper axum pesakit
#
# Prints one line per server: instructions, requests, instructions per
# request. Keeps the profiles in target/callgrind/ for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(hyper pesakit)
binary=$(cargo bench -p pesakit-benches --bench load --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "load" and m.get("executable"):
        print(m["executable"])')
out=target/callgrind
mkdir -p "$out"
port=39411
for server in "${servers[@]}"; do
    port=$((port + 1))
    profile="$out/$server.out"
    rm -f "$profile"
    valgrind --tool=callgrind --callgrind-out-file="$profile" "$binary" --serve "$server" "$port" 2>"$out/$server.log" &
    pid=$!
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    "$binary" --load-only "$port" 4 2 >/dev/null
    callgrind_control --zero "$pid" >/dev/null 2>&1
    rate=$("$binary" --load-only "$port" 64 5 | awk '{print $1}')
    callgrind_control --dump "$pid" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    # The dump after zeroing is the profile with the highest number.
    dump=$(ls -v "$profile".* 2>/dev/null | tail -1)
    instructions=$(awk '/^summary:/ {print $2}' "$dump")
    python3 -c "import sys
instructions, rate = int(sys.argv[2]), float(sys.argv[3])
requests = round(rate * 5)
print(f'{sys.argv[1]:>14}  {instructions:>14,} instructions  {requests:>8,} requests  {instructions / requests / 1000:.2f}k per request')" \
        "$server" "$instructions" "$rate"
done
