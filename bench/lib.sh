# bench/lib.sh — shell helpers shared by bench/run.sh and bench/replication.sh (sourced, not run).
# The caller sets RES (the key=value results file), SCALE, ROOT, WORK and PIDS=() (every server it
# starts), and CLEAN_DIR (removed by the EXIT trap), then calls `bench_traps`.

# ours PID: PID is still a child of this shell (not a reaped one whose number was reused by
# someone else's process): the only kind of process the bench may signal.
ours() { [[ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" == "$$" ]]; }
bench_cleanup() {  # stops every PID in PIDS (SIGCONT first: a stopped process must see the SIGTERM)
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    ours "$p" && kill -CONT "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
  done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    ours "$p" || continue
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    ours "$p" && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null || true
  done
  [[ -n "${CLEAN_DIR:-}" ]] && rm -rf "$CLEAN_DIR"
}
bench_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
put() { echo "$1=$2" >> "$RES"; }
# field KEY LINE: the value of key=value in a perf tool's output line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }
n() { python3 -c "import sys; print(int(float(sys.argv[1]) * float(sys.argv[2])))" "$1" "$SCALE"; }
record() {  # record PREFIX LINE: keeps the throughput, latency and client CPU figures of a perf tool's line
  local k v
  for k in rps mbps p50_ms p99_ms records secs failed client_cpu_s; do
    v=$(field "$k" "$2"); [[ -n "$v" ]] && put "${1}_$k" "$v"
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# free_ports N: N distinct free loopback ports (all bound at once, so none is handed out twice).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
wait_port() {  # wait_port PORT SECONDS
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}
stop_pid() {  # SIGTERM and wait (bounded) — a clean shutdown
  local p=$1
  ours "$p" || return 0
  kill -CONT "$p" 2>/dev/null
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  ours "$p" && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}
put_machine() {  # host, date, CPU, kernel, commit and data disk of this run
  put host "$(hostname)"
  put date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  put cpus "$(nproc)"
  put cpu_model "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  put kernel "$(uname -r)"
  put commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  put disk "$(df --output=source "$WORK" | tail -1)"
}
measure_loopback() {  # iperf3 server + client on 127.0.0.1, 5 s, one stream -> loopback_mbps
  local ip ipid
  ip=$(free_port)
  iperf3 -s -B 127.0.0.1 -p "$ip" >/dev/null 2>&1 & ipid=$!; PIDS+=($ipid)
  for _ in 1 2 3 4 5; do  # no probe connection: the server must see only the measuring client
    sleep 0.5
    timeout 30 iperf3 -c 127.0.0.1 -p "$ip" -t 5 -J > "$WORK/iperf.json" 2>/dev/null && break
  done
  stop_pid "$ipid"
  put loopback_mbps "$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/8e6))' "$WORK/iperf.json" 2>/dev/null || echo NA)"
}
