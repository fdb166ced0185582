#!/usr/bin/env bash
# fleet-poll.sh [PROJECT_DIR]: the status poll of a fleet, measured from outside: a redis-server
# of its own on a free port, N replicas of cambmock serve --store on it, one task created through
# the first, and one wrk per replica (one thread, 64/N connections each, all at once) polling it
# through its replica. Prints, for each N of REPLICAS, the req/s of each replica, their sum, and
# how much CPU Redis spent per poll (INFO commandstats), which bounds a fleet on one Redis.
#
#   bench/fleet-poll.sh                      1, 2 and 3 replicas, 10 s each
#   REPLICAS="3" DURATION_S=30 bench/fleet-poll.sh
#
# Pinning: replicas on core 0, Redis and wrk on core 1 (set CPU_MOCK, CPU_REST to change it). On
# a machine of 2 cores every process shares them: the sum shows what one machine serves, not
# how a fleet of machines scales. Needs wrk, taskset, redis-server, redis-cli and curl.
set -u
proj=$(cd "${1:-.}" && pwd)
work=${BENCH_WORK:-$(mktemp -d)}
REPLICAS=${REPLICAS:-1 2 3} DURATION_S=${DURATION_S:-10} SCENARIO=${SCENARIO:-stuck}
CPU_MOCK=${CPU_MOCK:-0} CPU_REST=${CPU_REST:-1} EXTRA_FLAGS=${EXTRA_FLAGS:-}
for c in wrk taskset redis-server redis-cli curl; do command -v $c >/dev/null || { echo "$c missing"; exit 2; }; done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
trap cleanup EXIT
(cd "$proj" && timeout 300 go build -o "$work/cambmock" ./cmd/cambmock) || { echo "build of cambmock failed"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user+system, in clock ticks
wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }
for n in $REPLICAS; do
  rport=$(free_port)
  mkdir -p "$work/redis-$n"
  taskset -c "$CPU_REST" redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis-$n" --appendonly yes \
    --appendfsync everysec --save "" --logfile "$work/redis-$n/log" &
  pids+=($!)
  for _ in $(seq 1 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis_pid=$!
  ports=() mock_pids=()
  for i in $(seq 1 "$n"); do
    p=$(free_port)
    taskset -c "$CPU_MOCK" "$work/cambmock" serve --addr "127.0.0.1:$p" --scenario "$SCENARIO" \
      --store "redis://127.0.0.1:$rport/0" $EXTRA_FLAGS >"$work/mock-$n-$i.log" 2>&1 &
    pids+=($!) mock_pids+=($!)
    wait_up "$p" || { echo "replica $i did not start: $(tail -3 "$work/mock-$n-$i.log")"; exit 1; }
    ports+=("$p")
  done
  id=$(curl -s -H 'x-api-key: k' -H 'Content-Type: application/json' -d '{"prompt":"rain on a tin roof","duration":3}' \
       "http://127.0.0.1:${ports[0]}/apis/text-to-sound" | tr -d ' \n' | sed -n 's/.*"task_id":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || { echo "create returned no task_id"; exit 1; }
  conns=$((64 / n))
  for p in "${ports[@]}"; do  # warm up
    taskset -c "$CPU_REST" wrk -t1 -c"$conns" -d2s -H 'x-api-key: k' "http://127.0.0.1:$p/apis/text-to-sound/$id" >/dev/null 2>&1 &
  done
  wait $(jobs -p | tail -n "$n") 2>/dev/null
  redis-cli -p "$rport" config resetstat >/dev/null
  mock_cpu0=0; for p in "${mock_pids[@]}"; do mock_cpu0=$((mock_cpu0 + $(cpu "$p"))); done
  redis_cpu0=$(cpu "$redis_pid")
  wrks=()
  for i in "${!ports[@]}"; do
    taskset -c "$CPU_REST" wrk -t1 -c"$conns" -d"${DURATION_S}s" -H 'x-api-key: k' \
      "http://127.0.0.1:${ports[$i]}/apis/text-to-sound/$id" >"$work/wrk-$n-$i.txt" 2>&1 &
    wrks+=($!)
  done
  wait "${wrks[@]}"
  mock_cpu1=0; for p in "${mock_pids[@]}"; do mock_cpu1=$((mock_cpu1 + $(cpu "$p"))); done
  redis_cpu1=$(cpu "$redis_pid")
  stats=$(redis-cli -p "$rport" info commandstats | tr -d '\r')
  evalsha_usec=$(echo "$stats" | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),usec=\([0-9]*\),.*/\2/p')
  per=() sum=0 non2xx=0
  for i in "${!ports[@]}"; do
    r=$(awk '/Requests\/sec/{print $2}' "$work/wrk-$n-$i.txt")
    e=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$work/wrk-$n-$i.txt" | awk '{print $NF}')
    per+=("$r"); sum=$(awk -v a="$sum" -v b="$r" 'BEGIN{printf "%.0f", a+b}'); non2xx=$((non2xx + ${e:-0}))
  done
  polls=$(awk -v s="$sum" -v d="$DURATION_S" 'BEGIN{printf "%.0f", s*d}')
  us() { awk -v t="$1" -v k="$tick" -v p="$polls" 'BEGIN{ if (p>0) printf "%.1f", t/k*1e6/p; else print "?" }'; }
  script_us=$(awk -v u="${evalsha_usec:-0}" -v p="$polls" 'BEGIN{ if (p>0) printf "%.1f", u/p; else print "?" }')
  echo "replicas $n: ${per[*]} req/s (sum ${sum}, non-2xx ${non2xx}); CPU per poll: replicas $(us $((mock_cpu1 - mock_cpu0))) us," \
    "Redis $(us $((redis_cpu1 - redis_cpu0))) us (scripts ${script_us} us)"
  cleanup
done
