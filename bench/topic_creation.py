#!/usr/bin/python3
"""Topic-creation cost against the number of topics present (issue 18): starts `samsa` on a
fresh data dir, creates topics in requests of --batch until --topics exist, printing the time
per request, then times one single-topic request and one --batch request at that size, and the
median/max latency another connection sees for Metadata meanwhile.

    bench/topic_creation.py build/samsa --topics 11000 --batch 500
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import rawadmin as ra  # noqa: E402
from rawkafka import Conn  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samsa")
    ap.add_argument("--topics", type=int, default=11000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="samsa-topics-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(d, "broker.log"), "wb")
    proc = subprocess.Popen([a.samsa, "start", "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                             "--override", f"log.dirs={d}/data", "--override", "http.listeners="], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)

        def create(names):
            t0 = time.monotonic()
            with Conn(port, timeout=a.timeout) as c:
                res = ra.parse_create_topics(c.request(ra.create_topics_request(
                    1, [{"name": n, "partitions": 1} for n in names]))[4:])
            bad = [(n, e) for n, e in res.items() if e[0] != 0]
            assert not bad, bad[:3]
            return time.monotonic() - t0

        made = 0
        while made < a.topics:
            n = min(a.batch, a.topics - made)
            dt = create([f"t{i}" for i in range(made, made + n)])
            made += n
            print(f"{made:6d} topics: last request of {n} took {dt:.2f} s", flush=True)
        probe = ra.MetadataProbe(port, "t0", timeout=a.timeout)
        one = create(["single-extra"])
        many = create([f"extra-{i}" for i in range(a.batch)])
        print(f"at {made} topics: 1 topic {one * 1000:.1f} ms; {a.batch} topics {many:.2f} s; "
              f"other client's Metadata: {probe.stop()}")
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
