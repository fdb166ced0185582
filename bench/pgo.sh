#!/usr/bin/env bash
# bench/pgo.sh: refreshes cmd/cambmock/default.pgo, the CPU profile the Go
# toolchain builds cambmock with (profile-guided optimisation: go build,
# go run and go install use it on their own). It profiles cambmock serve
# for 20 s under what bench/run.sh measures, status polls from wrk with 64
# connections, the server pinned to core 0 and wrk to core 1. Rerun it when
# the poll path changes; a stale profile still builds, it only helps less.
#
# Needs Go, wrk, taskset and curl.
set -u
cd "$(dirname "$0")/.."
for tool in wrk taskset curl go; do
  command -v "$tool" >/dev/null || { echo "pgo: $tool is missing (apt-get install wrk util-linux curl)"; exit 2; }
done
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=18190 pprof=127.0.0.1:18191
# Built without the old profile, as the code stands.
go build -pgo=off -tags pgoprofile -o "$work/cambmock" ./cmd/cambmock || { echo "pgo: building cambmock failed"; exit 1; }
CAMBMOCK_PPROF_ADDR=$pprof taskset -c 0 "$work/cambmock" serve --addr "127.0.0.1:$port" --scenario stuck >"$work/mock.log" 2>&1 &
pid=$!
for _ in $(seq 1 400); do curl -s -o /dev/null "http://$pprof/debug/pprof/" && break; sleep 0.025; done
id=$(curl -s -H 'x-api-key: k' -H 'Content-Type: application/json' -d '{"prompt":"rain on a tin roof","duration":3}' \
     "http://127.0.0.1:$port/apis/text-to-sound" | sed -n 's/.*"task_id":"\([^"]*\)".*/\1/p')
[ -n "$id" ] || { echo "pgo: create returned no task_id: $(tail -3 "$work/mock.log")"; exit 1; }
taskset -c 1 wrk -t1 -c64 -d23s -H 'x-api-key: k' "http://127.0.0.1:$port/apis/text-to-sound/$id" >"$work/wrk.out" 2>&1 &
wrk=$!
sleep 1
curl -sf -o "$work/cpu.pprof" "http://$pprof/debug/pprof/profile?seconds=20" || { echo "pgo: taking the profile failed"; exit 1; }
wait "$wrk"
go tool pprof -top "$work/cpu.pprof" >/dev/null 2>&1 || { echo "pgo: the profile does not read as pprof"; exit 1; }
cp "$work/cpu.pprof" cmd/cambmock/default.pgo
echo "pgo: cmd/cambmock/default.pgo: $(wc -c <cmd/cambmock/default.pgo) bytes, taken under $(awk '/Requests\/sec/{print $2}' "$work/wrk.out") req/s"
