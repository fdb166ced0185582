#!/usr/bin/env bash
# bench/run.sh: cambmock's status poll measured the way a user's client
# meets it: separate processes, the server pinned to core 0, wrk (one
# thread, 64 connections) pinned to core 1, rounds of the mock and a bare
# net/http handler (bench/baseline) interleaved, median ratio reported.
#
#   bench/run.sh                 every figure (about 10 minutes)
#   PARTS=default,strict bench/run.sh
#
# The parts:
#   default   cambmock serve (a log line per request) / bare net/http
#   quiet     cambmock serve --log-level error / bare net/http
#   strict    cambmock serve --strict / bare net/http
#   million   polls of random tasks among 1,000,000 live ones / among 1,000,
#             and RSS per task under load
#   startup   time from exec to the first answer, and idle RSS
#
# Environment: ROUNDS (3), DURATION_S (10), CONNS (64), MILLION (1000000),
# STARTS (5, the start-ups the startup part times),
# EXTRA_FLAGS (added to every cambmock serve, e.g. --store redis://...).
# Needs Go, wrk (apt-get install wrk), taskset and curl. Run it on a quiet
# machine: the figures are ratios, but a busy core skews them.
set -u
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} DURATION_S=${DURATION_S:-10} CONNS=${CONNS:-64} MILLION=${MILLION:-1000000}
PARTS=${PARTS:-default,quiet,strict,million,startup} EXTRA_FLAGS=${EXTRA_FLAGS:-}
for tool in wrk taskset curl go; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk util-linux curl)"; exit 2; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
trap 'cleanup; rm -rf "$work"' EXIT

go build -o "$work/cambmock" ./cmd/cambmock || { echo "bench: building cambmock failed"; exit 1; }
go build -o "$work/baseline" ./bench/baseline || { echo "bench: building the baseline failed"; exit 1; }
port=18180

wait_up() { # PORT: waits until GET / answers (any status)
  for _ in $(seq 1 400); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.025; done
  return 1
}
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
reqs() { awk '/Requests\/sec/{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

start_mock() { # FLAGS...: starts cambmock serve on core 0
  taskset -c 0 "$work/cambmock" serve --addr "127.0.0.1:$port" $EXTRA_FLAGS "$@" >"$work/mock.log" 2>&1 &
  pids+=($!)
  wait_up "$port" || { echo "bench: cambmock did not start: $(tail -3 "$work/mock.log")"; exit 1; }
}
start_base() {
  taskset -c 0 "$work/baseline" -addr "127.0.0.1:$port" >/dev/null 2>&1 &
  pids+=($!)
  wait_up "$port" || { echo "bench: the baseline did not start"; exit 1; }
}
load() { # URL [wrk args...]: warms up, then prints req/s of a DURATION_S run
  local url=$1; shift
  taskset -c 1 wrk -t1 -c16 -d2s -H 'x-api-key: k' "$@" "$url" >/dev/null 2>&1
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION_S}s" -H 'x-api-key: k' "$@" "$url" | tee "$work/wrk.out" | reqs
}
mock_poll() { # FLAGS...: req/s polling one stuck task
  start_mock --scenario stuck "$@"
  local id
  id=$(curl -s -H 'x-api-key: k' -H 'Content-Type: application/json' -d '{"prompt":"rain on a tin roof","duration":3}' \
       "http://127.0.0.1:$port/apis/text-to-sound" | sed -n 's/.*"task_id":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || { echo "bench: create returned no task_id" >&2; exit 1; }
  load "http://127.0.0.1:$port/apis/text-to-sound/$id"
  grep -q 'Non-2xx' "$work/wrk.out" && echo "bench: the mock answered non-2xx: $(grep Non-2xx "$work/wrk.out")" >&2
  cleanup
}
base_poll() { start_base; load "http://127.0.0.1:$port/apis/text-to-sound/t1"; cleanup; }

ratio_part() { # NAME FLAGS...
  local name=$1; shift
  local ratios=() r m b
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then m=$(mock_poll "$@"); b=$(base_poll); else b=$(base_poll); m=$(mock_poll "$@"); fi
    local x
    x=$(awk -v m="$m" -v b="$b" 'BEGIN{ if (b>0) printf "%.3f", m/b; else print 0 }')
    echo "$name round $r: cambmock $m req/s, bare net/http $b req/s, ratio $x"
    ratios+=("$x")
  done
  echo "$name: median ratio $(printf '%s\n' "${ratios[@]}" | median) (rounds: ${ratios[*]})"
}

tasks_part() { # N: creates N tasks, polls random ones; prints "rate rss_idle_kb rss_load_kb"
  local n=$1
  start_mock --max-tasks $((n + 1000)) --task-ttl 0
  local pid=${pids[-1]}
  # wrk runs for its whole duration even once the script stops it: end it
  # when the mock holds every task.
  TASKS=$n taskset -c 1 wrk -t1 -c32 -d3600s -s bench/create.lua "http://127.0.0.1:$port" >/dev/null 2>&1 &
  local wpid=$! have=0
  while kill -0 "$wpid" 2>/dev/null; do
    have=$(curl -s "http://127.0.0.1:$port/__admin/health" | sed -n 's/.*"tasks": *\([0-9]*\).*/\1/p')
    [ "$have" = "$n" ] && break
    sleep 0.5
  done
  kill -INT "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
  [ "$have" = "$n" ] || { echo "bench: the mock holds $have tasks, not $n" >&2; exit 1; }
  local idle load_rss rate
  idle=$(rss_kb "$pid")
  rate=$(TASKS=$n load "http://127.0.0.1:$port" -s bench/poll.lua)
  load_rss=$(rss_kb "$pid")
  cleanup
  echo "$rate $idle $load_rss"
}

million_part() {
  local ratios=() r small big
  for r in $(seq 1 "$ROUNDS"); do
    small=$(tasks_part 1000)
    big=$(tasks_part "$MILLION")
    set -- $small; local s_rate=$1 s_idle=$2 s_load=$3
    set -- $big; local b_rate=$1 b_idle=$2 b_load=$3
    local x per_idle per_load per_floor
    x=$(awk -v a="$b_rate" -v b="$s_rate" 'BEGIN{printf "%.3f", a/b}')
    per_load=$(awk -v a="$b_load" -v b="$s_load" -v n="$MILLION" 'BEGIN{printf "%.0f", (a-b)*1024/(n-1000)}')
    per_idle=$(awk -v a="$b_idle" -v b="$s_load" -v n="$MILLION" 'BEGIN{printf "%.0f", (a-b)*1024/(n-1000)}')
    # Under load the 1k mock's RSS holds up to --gc-headroom of garbage
    # (64 MiB by default), which the difference above takes off the 1M
    # figure; against the 1k mock's idle RSS it does not.
    per_floor=$(awk -v a="$b_load" -v b="$s_idle" -v n="$MILLION" 'BEGIN{printf "%.0f", (a-b)*1024/(n-1000)}')
    echo "million round $r: $MILLION tasks $b_rate req/s, 1000 tasks $s_rate req/s, ratio $x; RSS $((b_load / 1024)) MB under load ($per_load B/task; $per_floor B/task over the 1k mock's idle $((s_idle / 1024)) MB, whose load RSS is $((s_load / 1024)) MB), $((b_idle / 1024)) MB idle ($per_idle B/task)"
    ratios+=("$x")
  done
  echo "million: median ratio $(printf '%s\n' "${ratios[@]}" | median) (rounds: ${ratios[*]})"
}

startup_part() {
  # The client side, this shell's connect and request, runs on core 1, as
  # wrk does in the other parts, and reads the clock with bash's own
  # EPOCHREALTIME: a $(date) costs a fork and an exec, about 1 ms each
  # side, which this part once counted as the server's.
  taskset -cp 1 $$ >/dev/null
  local times=() r
  for r in $(seq 1 "${STARTS:-5}"); do
    local t0 t1
    t0=$EPOCHREALTIME
    taskset -c 0 "$work/cambmock" serve --addr "127.0.0.1:$port" $EXTRA_FLAGS >"$work/mock.log" 2>&1 &
    pids+=($!)
    # A connect and a request from bash itself: no process per try.
    until { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; do :; done
    printf 'GET /__admin/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    read -r line <&3
    t1=$EPOCHREALTIME
    exec 3<&-
    times+=("$(( (${t1%.*} - ${t0%.*}) * 1000000 + 10#${t1#*.} - 10#${t0#*.} ))")
    # Idle: a second after the first answer, as ps would show it.
    [ "$r" -eq "${STARTS:-5}" ] && sleep 1 && echo "startup: idle RSS $(( $(rss_kb "${pids[-1]}") / 1024 )) MB ($(rss_kb "${pids[-1]}") kB)"
    case "$line" in *" 200 "*) ;; *) echo "bench: the first answer was $line" >&2 ;; esac
    cleanup
  done
  taskset -cp 0-1 $$ >/dev/null
  echo "startup: first answer after $(printf '%s\n' "${times[@]}" | median) µs, median of ${STARTS:-5} (${times[*]})"
}

IFS=, read -ra want <<<"$PARTS"
for part in "${want[@]}"; do
  case "$part" in
    default) ratio_part default ;;
    quiet) ratio_part quiet --log-level error ;;
    strict) ratio_part strict --strict ;;
    million) million_part ;;
    startup) startup_part ;;
    *) echo "bench: unknown part $part; the parts are default, quiet, strict, million, startup"; exit 2 ;;
  esac
done
