#!/usr/bin/python3
"""report.py RESULTS.env [MICRO.json] [CALLGRIND.top]: the markdown report of bench/run.sh.
report.py --replication RESULTS.env: only the replication rows (bench/replication.sh run alone).
report.py --tls RESULTS.env: only the TLS consume rows (bench/tls.sh run alone).

RESULTS.env holds key=value lines written by run.sh during one run; every ratio below is computed
from figures of that same run. Standard library only.
"""
import json
import os
import sys


def load(path):
    r = {}
    for line in open(path):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            r[k] = v
    return r


ONLY_REPLICATION = len(sys.argv) > 1 and sys.argv[1] == "--replication"
if ONLY_REPLICATION:
    del sys.argv[1]
ONLY_TLS = len(sys.argv) > 1 and sys.argv[1] == "--tls"
if ONLY_TLS:
    del sys.argv[1]
R = load(sys.argv[1])


def num(key):
    try:
        return float(R[key])
    except (KeyError, ValueError):
        return None


def fmt(v, unit="", digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 10000:
        s = f"{v:,.0f}"
    else:
        s = f"{v:,.{digits}f}"
    return f"{s} {unit}".strip()


def ratio(a, b):
    return a / b if a is not None and b else None


def status(value, target, higher_is_better=True):
    if value is None:
        return "not measured"
    if higher_is_better:
        return "met" if value >= target else f"missed by {100 * (target - value) / target:.0f}%"
    return "met" if value <= target else f"missed by {100 * (value - target) / target:.0f}%"


rows = []  # (measure, figure, reference, ratio, target, status)


def row(measure, figure, reference="", rat="", target="", st=""):
    rows.append((measure, figure, reference, rat, target, st))


s1k, s1k_r = num("samsa_1k_acks1_mbps"), num("samsa_1k_acks1_rps")
sall = num("samsa_1k_acksall_mbps")
s100_r, s100 = num("samsa_100b_acks1_rps"), num("samsa_100b_acks1_mbps")
cons = num("samsa_consume_mbps")
p50, p99 = num("samsa_latency_p50_ms"), num("samsa_latency_p99_ms")
p1000 = num("samsa_1k_p1000_mbps")
loop, disk, disk_sync, sendf = num("loopback_mbps"), num("disk_write_mbps"), num("disk_write_fdatasync_mbps"), num("sendfile_mbps")
redis_mem, redis_aof, nats = num("redis_mem_mbps"), num("redis_aof_mbps"), num("nats_js_mbps")
kib_pp, startup = num("samsa_kib_per_partition"), num("samsa_startup_10k_s")

# Machine limits
row("**Machine** loopback TCP (iperf3, 1 stream)", fmt(loop, "MB/s"))
row("**Machine** sequential write, buffered (fio 1 MiB)", fmt(disk, "MB/s"))
row("**Machine** sequential write, fdatasync per MiB (fio)", fmt(disk_sync, "MB/s"))
row("**Machine** fdatasync latency 4 KiB p50 / p99", f"{fmt(num('fdatasync_p50_ms'), digits=3)} / {fmt(num('fdatasync_p99_ms'), 'ms', 3)}")
row("**Machine** sendfile of a cached file over loopback", fmt(sendf, "MB/s"))
# Samsa end to end
r = ratio(s1k, loop)
row("Samsa produce 1 KiB acks=1 (8 partitions)", f"{fmt(s1k, 'MB/s')} ({fmt(s1k_r, 'rec/s')})",
    f"loopback {fmt(loop, 'MB/s')}", fmt(r, "×", 2), "≥ 600 MB/s", status(s1k, 600))
row("Samsa produce 1 KiB acks=1 ÷ buffered disk write", "", f"disk {fmt(disk, 'MB/s')}", fmt(ratio(s1k, disk), "×", 2))
row("Samsa produce 1 KiB acks=-1 (fdatasync, group commit)", fmt(sall, "MB/s"), f"fdatasync write {fmt(disk_sync, 'MB/s')}",
    fmt(ratio(sall, disk_sync), "×", 2), "≥ 300 MB/s", status(sall, 300))
row("Samsa produce 100 B acks=1", f"{fmt(s100_r, 'rec/s')} ({fmt(s100, 'MB/s')})", "", "", "≥ 1,000,000 rec/s",
    status(s100_r, 1_000_000))
for codec in ("lz4", "zstd"):
    # Broker CPU seconds per GB of records (uncompressed size): decompression + record validation.
    c_mbps, c_cpu, c_recs = num(f"samsa_1k_{codec}_mbps"), num(f"samsa_1k_{codec}_cpu_s"), num(f"samsa_1k_{codec}_records")
    cpu_gb = c_cpu / (c_recs * 1024 / 1e9) if c_cpu is not None and c_recs else None
    row(f"Samsa produce 1 KiB acks=1, {codec} batches (every record validated)",
        f"{fmt(c_mbps, 'MB/s')} ({fmt(num(f'samsa_1k_{codec}_rps'), 'rec/s')}), broker {fmt(cpu_gb, 'CPU s/GB', 2)}",
        f"uncompressed {fmt(s1k, 'MB/s')}", fmt(ratio(c_mbps, s1k), "×", 2))
row("Samsa consume from page cache", fmt(cons, "MB/s"), f"sendfile {fmt(sendf, 'MB/s')}", fmt(ratio(cons, sendf), "×", 2),
    "≥ 0.90× sendfile", status(ratio(cons, sendf), 0.90))
row(f"Samsa produce latency at 50% of peak ({fmt(num('samsa_latency_rate'), 'rec/s')}, acks=1) p50 / p99",
    f"{fmt(p50, digits=2)} / {fmt(p99, 'ms', 2)}", "", "", "p99 ≤ 3 ms", status(p99, 3.0, higher_is_better=False))
row("Samsa produce 1 KiB acks=1, 1,000 partitions", fmt(p1000, "MB/s"), f"8 partitions {fmt(s1k, 'MB/s')}",
    fmt(ratio(p1000, s1k), "×", 2), "≥ 0.80×", status(ratio(p1000, s1k), 0.80))
row("Samsa idle memory per partition (RSS growth / 1,000 partitions)", fmt(kib_pp, "KiB"), "", "", "≤ 64 KiB",
    status(kib_pp, 64, higher_is_better=False))
row("Samsa CreateTopics with 1,000 partitions (wall clock)", fmt(num("samsa_create_1000_s"), "s", 2))
if "samsa_startup_10k_skipped" in R:
    row("Samsa start-up after clean shutdown, 10,000 partitions", "not measured", R["samsa_startup_10k_skipped"], "", "≤ 5 s",
        "not measured")
    row("Samsa start-up after clean shutdown, 1,032 partitions (to first produce ack)",
        fmt(num("samsa_startup_1032_s"), "s", 2), "", "", "(10,000 in ≤ 5 s)",
        f"≈ {fmt((num('samsa_startup_1032_s') or 0) * 10000 / 1032, 's', 1)} for 10,000 if linear" if num("samsa_startup_1032_s") else "")
    row("Samsa RSS after restart with 1,032 idle partitions", fmt((num("samsa_idle_rss_1032_kb") or 0) / 1024, "MiB"),
        f"{fmt((num('samsa_idle_rss_1032_kb') or 0) / 1032, 'KiB/partition')}", "", "≤ 64 KiB/partition",
        status((num("samsa_idle_rss_1032_kb") or 0) / 1032 if num("samsa_idle_rss_1032_kb") else None, 64, higher_is_better=False))
else:
    row(f"Samsa start-up after clean shutdown, {R.get('samsa_partitions_total', '10,000')} partitions (to first produce ack)",
        fmt(startup, "s", 2), "", "", "≤ 5 s", status(startup, 5, higher_is_better=False))
    rss10k, parts = num("samsa_idle_rss_10k_kb"), num("samsa_partitions_total") or 10000
    row(f"Samsa RSS after restart with {int(parts):,} idle partitions", fmt((rss10k or 0) / 1024, "MiB"),
        f"{fmt((rss10k or 0) / parts, 'KiB/partition')}", "", "≤ 64 KiB/partition",
        status((rss10k or 0) / parts if rss10k else None, 64, higher_is_better=False))
copy = num("samsa_consume_copy_mbps")
row("Samsa consume without sendfile (pread + write, same records)", fmt(copy, "MB/s"),
    f"with sendfile {fmt(cons, 'MB/s')}", fmt(ratio(cons, copy), "× (sendfile ÷ copy)", 2))
rec_s, rec_b = num("samsa_recovery_s"), num("samsa_recovery_bytes")
row("Samsa recovery after kill -9 of an unflushed tail (to first produce ack)",
    f"{fmt(rec_s, 's', 2)} for {fmt((rec_b or 0) / 2**20, 'MiB')}",
    f"{fmt((rec_b or 0) / 1e6 / rec_s if rec_s else None, 'MB/s validated')}")
row("Samsa broker CPU per GB in / out", f"{fmt(num('samsa_cpu_s_per_gb_in'), digits=2)} / {fmt(num('samsa_cpu_s_per_gb_out'), 'CPU s/GB', 2)}")
cpu_in, cpu_out = num("samsa_cpu_s_per_gb_in"), num("samsa_cpu_s_per_gb_out")
row("Samsa broker cores busy during produce 1 KiB / consume",
    f"{fmt(cpu_in * s1k / 1000 if cpu_in and s1k else None, digits=2)} / {fmt(cpu_out * cons / 1000 if cpu_out and cons else None, 'cores', 2)}")


def client_cores(prefix):
    c, t = num(prefix + "_client_cpu_s"), num(prefix + "_secs")
    return c / t if c is not None and t else None


row("librdkafka client cores busy during produce 1 KiB / consume (same machine)",
    f"{fmt(client_cores('samsa_1k_acks1'), digits=2)} / {fmt(client_cores('samsa_consume'), 'cores', 2)}")
row("Samsa peak RSS (VmHWM) / idle RSS at start", f"{fmt((num('samsa_peak_rss_kb') or 0) / 1024, 'MiB')} / {fmt((num('samsa_idle_rss_kb') or 0) / 1024, 'MiB')}")
# Peers
row("Redis Streams XADD 1 KiB, pipelined, in memory", fmt(redis_mem, "MB/s"), f"Samsa acks=1 {fmt(s1k, 'MB/s')}",
    fmt(ratio(s1k, redis_mem), "× (Samsa ÷ Redis)", 2), "≥ 3×", status(ratio(s1k, redis_mem), 3))
row("Redis Streams XADD 1 KiB, appendonly everysec", fmt(redis_aof, "MB/s"), f"Samsa acks=1 {fmt(s1k, 'MB/s')}",
    fmt(ratio(s1k, redis_aof), "× (Samsa ÷ Redis)", 2), "≥ 3×", status(ratio(s1k, redis_aof), 3))
row("NATS JetStream 1 KiB, file storage, async publish", fmt(nats, "MB/s"), f"Samsa acks=1 {fmt(s1k, 'MB/s')}",
    fmt(ratio(s1k, nats), "× (Samsa ÷ NATS)", 2), "≥ 3×", status(ratio(s1k, nats), 3))
row("NATS JetStream vs Samsa acks=-1 (fsynced)", "", f"Samsa acks=-1 {fmt(sall, 'MB/s')}", fmt(ratio(sall, nats), "×", 2))

def print_table(rows, targets=True):
    print("| Measure | Figure | Reference | Ratio | Target | Status |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if not targets:
        return
    print()
    print(f"Targets met: {sum(1 for r in rows if r[5] == 'met')}, "
          f"missed: {sum(1 for r in rows if r[5].startswith('missed'))}, "
          f"not measured: {sum(1 for r in rows if r[5] == 'not measured')}.")


# Replication (issue 13, bench/replication.sh): three brokers on this one machine.
repl_rows = []
if any(k.startswith("repl_") for k in R):
    rows_before = len(rows)
    single, rf3, nats_r3 = num("repl_single_mbps"), num("repl_rf3_mbps"), num("repl_nats_r3_mbps")
    rate, nrate = num("repl_latency_rate"), num("repl_nats_latency_rate")
    if "repl_cluster_error" in R:
        row("Samsa RF=3 (three brokers)", "not measured", R["repl_cluster_error"], "", "", "not measured")
    row("Samsa produce 1 KiB acks=all, one broker (8 partitions)", fmt(single, "MB/s"))
    row(f"Samsa produce 1 KiB acks=all, RF=3, three brokers (8 partitions, min.insync.replicas=2; "
        f"full ISR after the run: {R.get('repl_rf3_full_isr', '?')})", fmt(rf3, "MB/s"),
        f"one broker acks=all {fmt(single, 'MB/s')}", fmt(ratio(rf3, single), "×", 2), "≥ 0.50×",
        status(ratio(rf3, single), 0.50))
    row(f"Samsa produce latency acks=all at {fmt(rate, 'rec/s', 0)} (50% of the RF=3 peak), RF=3 p50 / p99",
        f"{fmt(num('repl_rf3_lat_p50_ms'), digits=2)} / {fmt(num('repl_rf3_lat_p99_ms'), 'ms', 2)}",
        f"one broker p50 / p99 {fmt(num('repl_single_lat_p50_ms'), digits=2)} / "
        f"{fmt(num('repl_single_lat_p99_ms'), 'ms', 2)}",
        fmt(ratio(num("repl_rf3_lat_p99_ms"), num("repl_single_lat_p99_ms")), "× (p99 RF=3 ÷ one)", 2))
    row("NATS JetStream 1 KiB, three-node cluster, Replicas=3, file storage, async publish", fmt(nats_r3, "MB/s"),
        f"Samsa RF=3 acks=all {fmt(rf3, 'MB/s')}", fmt(ratio(rf3, nats_r3), "× (Samsa ÷ NATS)", 2), "≥ 2×",
        status(ratio(rf3, nats_r3), 2))
    row(f"NATS JetStream R3 latency at {fmt(nrate, 'msg/s', 0)}, publish → ack, p50 / p99",
        f"{fmt(num('repl_nats_r3_lat_p50_ms'), digits=2)} / {fmt(num('repl_nats_r3_lat_p99_ms'), 'ms', 2)}")
    cu_s, cu_b = num("repl_catchup_s"), num("repl_catchup_bytes")
    cu_mbps = cu_b / 1e6 / cu_s if cu_s and cu_b else None
    row(f"Samsa follower catch-up: SIGSTOPped follower (out of the ISR after {fmt(num('repl_catchup_shrink_s'), 's', 1)}), "
        f"{fmt((cu_b or 0) / 2**20, 'MiB')} written with acks=all at {fmt(num('repl_catchup_write_mbps'), 'MB/s')}, "
        "SIGCONT → back in the ISR (Metadata)",
        f"{fmt(cu_s, 's', 2)} ({fmt(cu_mbps, 'MB/s')})",
        f"loopback {fmt(loop, 'MB/s')} / buffered disk {fmt(disk, 'MB/s')}",
        f"{fmt(ratio(cu_mbps, loop), '', 2)} / {fmt(ratio(cu_mbps, disk), '×', 2)}")
    repl_rows = rows[rows_before:]
    if ONLY_REPLICATION:
        del rows[:]
        row("**Machine** loopback TCP (iperf3, 1 stream)", fmt(loop, "MB/s"))
        row("**Machine** sequential write, buffered (fio 1 MiB)", fmt(disk, "MB/s"))
        rows.extend(repl_rows)

# TLS consume (issue 15, bench/tls.sh): one broker, the same records consumed over PLAINTEXT and SSL.
if any(k.startswith("tls_") for k in R):
    rows_before = len(rows)
    if "tls_error" in R:
        row("Samsa consume over SSL against PLAINTEXT", "not measured", R["tls_error"], "", "", "not measured")
    recs, parts = num("tls_records"), R.get("tls_partitions", "?")
    what = f"{fmt((recs or 0) * 1024 / 2**20, 'MiB', 0)} of 1 KiB records, {parts} partitions, kcat from the beginning"
    pt, ssl = num("tls_plaintext_mbps"), num("tls_ssl_mbps")

    def tls_figure(mode):
        return (f"{fmt(num(f'tls_{mode}_mbps'), 'MB/s')} ({fmt(num(f'tls_{mode}_rps'), 'rec/s')}); broker "
                f"{fmt(num(f'tls_{mode}_broker_cpu_s_per_gib'), 'CPU s/GiB', 2)}, kcat "
                f"{fmt(num(f'tls_{mode}_client_cpu_s_per_gib'), 'CPU s/GiB', 2)}")

    row(f"Samsa consume over PLAINTEXT ({what}; sendfile)", tls_figure("plaintext"))
    row(f"Samsa consume over SSL ({R.get('tls_protocol', '?')} {R.get('tls_cipher', '?')}; pread + SSL_write, "
        f"no kernel TLS: tcp_available_ulp '{R.get('tls_ulp', '?')}', {R.get('tls_openssl', 'OpenSSL ?')})",
        tls_figure("ssl"), f"PLAINTEXT {fmt(pt, 'MB/s')}",
        fmt(ratio(ssl, pt), "× (SSL ÷ PLAINTEXT)", 2))
    pc, sc = num("tls_plaintext_broker_cpu_s_per_gib"), num("tls_ssl_broker_cpu_s_per_gib")
    row("Samsa broker CPU per GiB consumed, SSL / PLAINTEXT", f"{fmt(sc, digits=2)} / {fmt(pc, 'CPU s/GiB', 2)}", "",
        fmt(ratio(sc, pc), "× (SSL ÷ PLAINTEXT)", 2))
    tls_rows = rows[rows_before:]
    if ONLY_TLS:
        del rows[:]
        rows.extend(tls_rows)

if ONLY_TLS:
    print(f"# Samsa TLS consume benchmark — {R.get('date', '?')} on {R.get('host', '?')}")
    print()
    print(f"{R.get('cpus', '?')} CPUs ({R.get('cpu_model', '?')}), kernel {R.get('kernel', '?')}, data disk {R.get('disk', '?')}, "
          f"commit {R.get('commit', '?')}. Client: kcat {R.get('tls_kcat', '?')}; client and broker share the machine. "
          f"Load average (1/5/15 min) at the start {R.get('tls_load_start', '?')}, at the end {R.get('tls_load_end', '?')}. "
          "`bash bench/tls.sh SAMSA_BIN` (bench/README.md). MB/s: the fastest of "
          f"{R.get('tls_plaintext_runs', '?')} / {R.get('tls_ssl_runs', '?')} runs; CPU per GiB: over all of them.")
    print()
    print_table(rows, targets=False)
    sys.exit(0)

if ONLY_REPLICATION:
    print(f"# Samsa replication benchmark — {R.get('date', '?')} on {R.get('host', '?')}")
    print()
    print(f"{R.get('cpus', '?')} CPUs ({R.get('cpu_model', '?')}), kernel {R.get('kernel', '?')}, data disk {R.get('disk', '?')}, "
          f"commit {R.get('commit', '?')}. Client: {R.get('client', '?')}; clients, the three brokers and the three "
          f"nats-servers share the machine. Load average (1/5/15 min) at the start {R.get('repl_load_start', '?')}, "
          f"at the end {R.get('repl_load_end', '?')}. `bash bench/replication.sh BUILD_DIR` (bench/README.md).")
    print()
    print_table(rows)
    sys.exit(0)

print(f"# Samsa benchmark — {R.get('date', '?')} on {R.get('host', '?')}")
print()
print(f"{R.get('cpus', '?')} CPUs ({R.get('cpu_model', '?')}), kernel {R.get('kernel', '?')}, data disk {R.get('disk', '?')}, "
      f"commit {R.get('commit', '?')}. Client: {R.get('client', '?')}; client, broker and peers share the machine. "
      f"Every figure and ratio comes from this one run of `make bench`.")
print()
if "samsa_crashes" in R:
    print(f"**Warning: the broker crashed {R['samsa_crashes']} time(s) during this run and was restarted "
          f"(last error: `{R.get('samsa_crash_log', '?')}`); figures measured after a crash are suspect.**")
    print()
print_table(rows)
print()

if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
    try:
        micro = json.load(open(sys.argv[2]))
        print("## Micro benchmarks (Google Benchmark, single thread)")
        print()
        print(f"Machine load average during the run: {micro.get('context', {}).get('load_avg', '?')} "
              "(the machine is shared: per-CPU-second figures are the code's cost, wall-clock figures include waiting).")
        print()
        print("| Benchmark | Time/iter (CPU) | Throughput (CPU time) | Throughput (wall clock) |")
        print("|---|---|---|---|")
        for b in micro.get("benchmarks", []):
            if b.get("error_occurred"):
                print(f"| {b['name']} | error: {b.get('error_message', '?')} | | |")
                continue
            cpu_ns, real_ns = b.get("cpu_time", 0), b.get("real_time", 0)
            unit = b.get("time_unit", "ns")
            scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit, 1)
            cpu_ns *= scale
            real_ns *= scale
            if "bytes_per_second" in b and "items_per_second" not in b:
                per_iter = b["bytes_per_second"] * cpu_ns / 1e9
                tp_cpu, tp_wall = f"{b['bytes_per_second'] / 1e9:.2f} GB/s", f"{per_iter / real_ns:.2f} GB/s" if real_ns else "n/a"
            elif "items_per_second" in b:
                per_iter = b["items_per_second"] * cpu_ns / 1e9
                tp_cpu = f"{b['items_per_second'] / 1e6:.2f} M items/s"
                tp_wall = f"{per_iter / real_ns * 1e3:.2f} M items/s" if real_ns else "n/a"
            else:
                tp_cpu = tp_wall = ""
            print(f"| {b['name']} | {cpu_ns:,.0f} ns | {tp_cpu} | {tp_wall} |")
        print()
    except (ValueError, KeyError) as e:
        print(f"(micro benchmark results unreadable: {e})\n")

if len(sys.argv) > 3 and os.path.exists(sys.argv[3]) and os.path.getsize(sys.argv[3]) > 0:
    print("## Where the broker's time goes (callgrind, short 1 KiB acks=1 produce run, self instructions including start-up; kernel time is not counted)")
    print()
    print("```")
    sys.stdout.write(open(sys.argv[3]).read())
    print("```")
    print()
