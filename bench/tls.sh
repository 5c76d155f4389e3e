#!/usr/bin/env bash
# bench/tls.sh SAMSA_BIN [RESULTS_ENV WORK_DIR] — consume over TLS against consume over plaintext on
# one broker (issue 15, bench/README.md):
#   1. a CA and a broker certificate (127.0.0.1 / localhost) made with `openssl` in the scratch dir;
#   2. one `samsa start` with a PLAINTEXT and an SSL listener on free loopback ports, log.dirs in the
#      scratch dir;
#   3. 512 MiB (× BENCH_SCALE) of 1 KiB records produced once over PLAINTEXT, acks=1, to one topic of
#      4 partitions (`samsa producer-perf-test`);
#   4. the whole topic consumed from the beginning by kcat (librdkafka, bench/rdkafka_perf.cc's fetch
#      settings; rdkafka_perf takes no security properties) over PLAINTEXT and over SSL, interleaved,
#      BENCH_TLS_ROUNDS (default 2) times each; the fastest run of each mode is kept.
# Reports MB/s and records/s of each, the ratio SSL ÷ PLAINTEXT, the broker's CPU seconds (utime +
# stime of its process, /proc/PID/stat) per GiB consumed, kcat's CPU, and the protocol and cipher
# negotiated. Kernel TLS is not used: TLS fetches are copied through a buffer (pread + SSL_write),
# plaintext ones go out with sendfile() (src/net/tls.h); the kernel's TCP ULPs
# (/proc/sys/net/ipv4/tcp_available_ulp) and OpenSSL's ktls build option are printed beside it.
# Called by bench/run.sh with its results file and scratch dir (it adds tls_* keys; report.py turns
# them into rows); run alone (`bash bench/tls.sh build/samsa` or `BENCH_ONLY=tls make bench`) it
# prints its lines and the rows. Every client runs under `timeout`; the EXIT trap stops the broker
# and removes the scratch dir.
set -uo pipefail

SAMSA=${1:?usage: bench/tls.sh SAMSA_BIN [RESULTS_ENV WORK_DIR]}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAMSA=$(cd "$(dirname "$SAMSA")" && pwd)/$(basename "$SAMSA")
[[ -x "$SAMSA" ]] || { echo "tls bench: $SAMSA is not an executable (run make build)" >&2; exit 1; }
for tool in kcat openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "tls bench: $tool not found (scripts/install-deps.sh installs kcat)" >&2; exit 1; }
done
cd "$ROOT"
SCALE=${BENCH_SCALE:-1}
ROUNDS=${BENCH_TLS_ROUNDS:-2}
PARTITIONS=4
TOPIC=tls-bench

STANDALONE=0
if [[ $# -ge 3 ]]; then
  RES=$2; WORK=$3
else
  STANDALONE=1
  WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/samsa-bench-tls-XXXXXX")
  RES="$WORK/results.env"; : > "$RES"
fi
TW="$WORK/tls"; mkdir -p "$TW"
PIDS=()
if [[ $STANDALONE == 1 ]]; then CLEAN_DIR=$WORK; else CLEAN_DIR=$TW; fi
source "$ROOT/bench/lib.sh"
bench_traps
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
[[ $STANDALONE == 1 ]] && put_machine
put tls_load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- certificates
log "tls: CA and broker certificate (openssl, RSA 2048)"
C="$TW/certs"; mkdir -p "$C"
(
  cd "$C" || exit 1
  timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Samsa Bench CA" &&
  timeout 60 openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" &&
  echo "subjectAltName=DNS:localhost,IP:127.0.0.1" > broker.ext &&
  timeout 60 openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.crt -days 2 \
    -extfile broker.ext &&
  cat broker.crt broker.key > broker.pem  # a PEM key store: the certificate, then its private key
) > "$TW/openssl.log" 2>&1 || { log "tls: openssl failed:"; tail -5 "$TW/openssl.log" >&2; exit 1; }

# ---------------------------------------------------------------- the broker
read -r PP SP <<<"$(free_ports 2)"
"$SAMSA" start --override http.listeners= \
  --override "listeners=PLAINTEXT://127.0.0.1:$PP,SSL://127.0.0.1:$SP" \
  --override "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL" \
  --override ssl.keystore.type=PEM --override "ssl.keystore.location=$C/broker.pem" \
  --override ssl.truststore.type=PEM --override "ssl.truststore.location=$C/ca.pem" \
  --override "log.dirs=$TW/data" >> "$TW/samsa.log" 2>&1 &
BPID=$!; PIDS+=($BPID)
if ! { wait_port "$PP" 30 && wait_port "$SP" 30 && kill -0 "$BPID" 2>/dev/null; }; then
  log "tls: samsa did not start; its log:"; tail -20 "$TW/samsa.log" >&2; put tls_error "the broker did not start"; exit 1
fi

# What a TLS client negotiates with this broker (same OpenSSL 3.0 defaults as librdkafka's).
S=$(timeout 10 openssl s_client -connect "127.0.0.1:$SP" -CAfile "$C/ca.pem" </dev/null 2>/dev/null |
    grep -E 'Protocol|Cipher' | awk '!seen[$0]++')  # TLS 1.3: one SSL-Session block per ticket
# "New, TLSv1.3, Cipher is X" comes with every handshake; the SSL-Session block ("Protocol :",
# "Cipher :") only once a TLS 1.3 session ticket arrives before s_client hangs up, so not always.
TLS_PROTO=$(sed -n 's/^New, \([^,]*\), Cipher is .*/\1/p' <<<"$S" | head -1)
TLS_CIPHER=$(sed -n 's/^New, [^,]*, Cipher is *//p' <<<"$S" | head -1)
log "tls: openssl s_client against the SSL listener:"; sed 's/^/  /' <<<"$S" >&2
# Kernel TLS: Samsa does not use it (its TLS fetch path is pread + SSL_write, src/net/tls.h, and
# asio's ssl::stream talks to OpenSSL through a memory BIO pair, which OpenSSL's KTLS cannot use).
# What the machine offers is reported beside it: the kernel's TCP ULPs (`tls` must be listed, or
# loadable as a module) and whether the installed OpenSSL headers were configured with ktls.
ULP=$(tr '\n' ' ' < /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null | sed 's/ *$//')
TLS_KO=$(find "/lib/modules/$(uname -r)" -name 'tls.ko*' 2>/dev/null | head -1)
CONFH=$(ls /usr/include/*/openssl/configuration.h /usr/include/openssl/configuration.h 2>/dev/null | head -1)
if [[ -z "$CONFH" ]]; then OSSL_KTLS="ktls unknown (no openssl/configuration.h)"
elif grep -q 'define OPENSSL_NO_KTLS' "$CONFH"; then OSSL_KTLS="built without ktls"
else OSSL_KTLS="built with ktls"; fi
if [[ " $ULP " == *" tls "* ]]; then KERNEL_KTLS="the kernel has the tls ULP"
elif [[ -n "$TLS_KO" ]]; then KERNEL_KTLS="tls ULP not loaded ($TLS_KO)"
else KERNEL_KTLS="no tls ULP, no tls module"; fi
log "tls: /proc/sys/net/ipv4/tcp_available_ulp: '${ULP}' ($KERNEL_KTLS); $(openssl version | cut -d' ' -f1-2) $OSSL_KTLS"
put tls_protocol "${TLS_PROTO:-unknown}"
put tls_cipher "${TLS_CIPHER:-unknown}"
put tls_ulp "${ULP:-none}"
put tls_kernel_ktls "$KERNEL_KTLS"
put tls_openssl "$(openssl version | cut -d' ' -f1-2) $OSSL_KTLS"
put tls_kcat "$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*librdkafka \([0-9.]*\).*/\1, librdkafka \2/p')"

# ---------------------------------------------------------------- produce once, over PLAINTEXT
COUNT=$(n 524288)  # 512 MiB × BENCH_SCALE of 1 KiB records
put tls_partitions "$PARTITIONS"; put tls_records "$COUNT"; put tls_record_size 1024
log "tls: topic $TOPIC ($PARTITIONS partitions), producing $COUNT × 1 KiB, acks=1, over PLAINTEXT"
timeout 60 "$SAMSA" topics --bootstrap-server "127.0.0.1:$PP" --create --topic "$TOPIC" --partitions "$PARTITIONS" \
  --replication-factor 1 >> "$TW/client.log" 2>&1 || { log "tls: topic creation failed"; tail -3 "$TW/client.log" >&2; exit 1; }
L=$(timeout 180 "$SAMSA" producer-perf-test --topic "$TOPIC" --num-records "$COUNT" --record-size 1024 --throughput -1 \
    --producer-props "bootstrap.servers=127.0.0.1:$PP" acks=1 2>>"$TW/client.log" | tail -1)
echo "  $L" >&2
put tls_produce_mbps "$(python3 -c "import re,sys; m=re.search(r'\(([0-9.]+) MB/sec\)', sys.argv[1]); print('%.1f' % (float(m.group(1)) * 1.048576) if m else 'NA')" "$L")"

# ---------------------------------------------------------------- consume: PLAINTEXT and SSL
# kcat with rdkafka_perf's consumer settings, except fetch.wait.max.ms 10 (not 100): -e ends on the
# empty fetch after the last record, which the broker holds for that long (a fixed 0.1 s per run
# otherwise). One byte per record to a file (-f '.'), whose size checks the count. The wall clock
# includes kcat's start (~20 ms), Metadata and, over SSL, the handshake.
KCAT_FETCH=(-X fetch.max.bytes=52428800 -X fetch.message.max.bytes=16777216 -X receive.message.max.bytes=104857600
            -X queued.max.messages.kbytes=1048576 -X fetch.wait.max.ms=10)
consume() {  # consume MODE ROUND -> "mode=... records=... secs=... broker_cpu_s=... client_cpu_s=..."
  local mode=$1 port=$PP sec=() b0 b1 t0 t1 out="$TW/out.$1.$2" cpu="$TW/cpu.$1.$2"
  if [[ $mode == ssl ]]; then
    port=$SP; sec=(-X security.protocol=ssl -X "ssl.ca.location=$C/ca.pem")
  fi
  b0=$(cpu_ticks "$BPID"); t0=$(date +%s.%N)
  /usr/bin/time -o "$cpu" -f '%U %S' timeout 120 kcat -C -b "127.0.0.1:$port" "${sec[@]}" "${KCAT_FETCH[@]}" \
    -t "$TOPIC" -o beginning -e -q -f '.' > "$out" 2>>"$TW/client.log"
  t1=$(date +%s.%N); b1=$(cpu_ticks "$BPID")
  local got; got=$(stat -c %s "$out"); rm -f "$out"
  python3 - "$mode" "$got" "$t0" "$t1" "$b0" "$b1" "$TICK" "$(tail -1 "$cpu")" <<'PY'
import sys
mode, got, t0, t1, b0, b1, tick, cpu = sys.argv[1:9]
secs = float(t1) - float(t0)
parts = cpu.split()
client = sum(float(x) for x in parts) if len(parts) == 2 else float("nan")
print(f"mode={mode} records={got} secs={secs:.3f} mbps={int(got) * 1024 / 1e6 / secs:.1f} "
      f"rps={int(got) / secs:.0f} broker_cpu_s={(int(b1) - int(b0)) / int(tick):.2f} client_cpu_s={client:.2f}")
PY
}
# Throughput: the fastest run of each mode. CPU per GiB: summed over every counted run of the mode
# (/proc/PID/stat counts in 10 ms ticks, coarse for one run of a few hundred MiB).
declare -A BEST CPU_B CPU_C RUNS
for r in $(seq 1 "$ROUNDS"); do
  for mode in plaintext ssl; do
    kill -0 "$BPID" 2>/dev/null || { log "tls: the broker died; its log:"; tail -5 "$TW/samsa.log" >&2; put tls_error "the broker died"; exit 1; }
    L=$(consume "$mode" "$r")
    log "tls: consume over ${mode^^}, round $r: $L"
    if [[ "$(field records "$L")" != "$COUNT" ]]; then
      log "tls: consumed $(field records "$L") of $COUNT records over $mode: run not counted"; continue
    fi
    RUNS[$mode]=$(( ${RUNS[$mode]:-0} + 1 ))
    CPU_B[$mode]=$(python3 -c "print(${CPU_B[$mode]:-0} + $(field broker_cpu_s "$L"))")
    CPU_C[$mode]=$(python3 -c "print(${CPU_C[$mode]:-0} + $(field client_cpu_s "$L"))")
    if [[ -z "${BEST[$mode]:-}" ]] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" \
         "$(field secs "$L")" "$(field secs "${BEST[$mode]}")"; then
      BEST[$mode]=$L
    fi
  done
done

# ---------------------------------------------------------------- results
GIB=$(python3 -c "print($COUNT * 1024 / 2**30)")
for mode in plaintext ssl; do
  L=${BEST[$mode]:-}
  [[ -n "$L" ]] || { put "tls_${mode}_mbps" NA; continue; }
  for k in mbps rps secs broker_cpu_s client_cpu_s; do put "tls_${mode}_$k" "$(field "$k" "$L")"; done
  put "tls_${mode}_runs" "${RUNS[$mode]}"
  BG=$(python3 -c "print('%.3f' % (${CPU_B[$mode]} / (${RUNS[$mode]} * $GIB)))")
  CG=$(python3 -c "print('%.3f' % (${CPU_C[$mode]} / (${RUNS[$mode]} * $GIB)))")
  put "tls_${mode}_broker_cpu_s_per_gib" "$BG"; put "tls_${mode}_client_cpu_s_per_gib" "$CG"
  echo "tls_consume best $L; over ${RUNS[$mode]} runs: broker_cpu_s_per_gib=$BG client_cpu_s_per_gib=$CG"
done
put tls_load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RES" <<'PY'
import sys
r = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
def f(k):
    try: return float(r[k])
    except (KeyError, ValueError): return None
p, s = f("tls_plaintext_mbps"), f("tls_ssl_mbps")
pc, sc = f("tls_plaintext_broker_cpu_s_per_gib"), f("tls_ssl_broker_cpu_s_per_gib")
print("tls_consume ratio_mbps_ssl_over_plaintext=" + ("%.2f" % (s / p) if p and s else "NA") +
      " ratio_broker_cpu_per_gib_ssl_over_plaintext=" + ("%.2f" % (sc / pc) if pc and sc else "NA") +
      f" protocol={r.get('tls_protocol', '?')} cipher={r.get('tls_cipher', '?')}")
print("tls_consume note: kernel TLS is not used: SSL fetches are copied through a buffer (pread + SSL_write), "
      "PLAINTEXT ones go out with sendfile(); /proc/sys/net/ipv4/tcp_available_ulp: "
      f"'{r.get('tls_ulp', '?')}' ({r.get('tls_kernel_ktls', '?')}); {r.get('tls_openssl', 'OpenSSL ?')}")
PY
stop_pid "$BPID"

if [[ $STANDALONE == 1 ]]; then
  echo
  python3 "$ROOT/bench/report.py" --tls "$RES"
fi
