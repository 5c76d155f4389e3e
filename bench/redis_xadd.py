#!/usr/bin/python3
"""redis_xadd.py PORT COUNT SIZE [PIPELINE] [SECONDS]: pipelined XADD load for bench/run.sh.

Redis' own recommended way to go fast is pipelining: commands are pre-encoded in RESP and sent
PIPELINE at a time on one connection, with one batch in flight while the previous batch's replies
are read, so the client does per-batch (not per-command) Python work. Each XADD appends one entry
with one field "v" holding SIZE bytes to stream "bench" (ids assigned by the server: "*").
Prints "mode=redis records=N errors=E secs=S rps=R mbps=M". Standard library only.
"""
import socket
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    pipeline = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    max_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    payload = bytes((ord('a') + (i * 7 + i // 13) % 26) for i in range(size))
    cmd = b"*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nv\r\n$%d\r\n%s\r\n" % (size, payload)
    chunk = cmd * pipeline

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    state = {"errors": 0, "replies": 0, "rest": b""}

    def pump(target):
        # Reads until `target` replies in total arrived. A successful XADD reply is a bulk string
        # "$<len>\r\n<id>\r\n", an error "-ERR ...\r\n"; the loop is per reply but cheap.
        while state["replies"] < target:
            data = sock.recv(1 << 20)
            if not data:
                raise SystemExit("redis closed the connection")
            parts = (state["rest"] + data).split(b"\r\n")
            i, n = 0, len(parts) - 1  # parts[-1] is an incomplete tail (maybe empty)
            while i < n:
                if parts[i][:1] == b"-":
                    state["errors"] += 1
                    i += 1
                elif i + 1 < n:
                    i += 2
                else:
                    break
                state["replies"] += 1
            state["rest"] = b"\r\n".join(parts[i:])

    start = time.monotonic()
    sent = 0
    while sent < count and time.monotonic() - start < max_seconds:
        n = min(pipeline, count - sent)
        sock.sendall(chunk if n == pipeline else cmd * n)
        sent += n
        pump(sent - n)  # the previous batch's replies, while this one is on the wire
    pump(sent)
    acked, errors = state["replies"], state["errors"]
    secs = time.monotonic() - start
    ok = acked - errors
    print("mode=redis records=%d errors=%d secs=%.3f rps=%.0f mbps=%.1f" % (ok, errors, secs, ok / secs, ok * size / secs / 1e6))
    sock.close()
    return 0 if errors == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
