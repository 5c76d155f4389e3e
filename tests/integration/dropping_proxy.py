"""A loopback TCP proxy in front of a broker that loses some Produce responses.

It forwards Kafka frames both ways and remembers the API key of every request by its
correlation id. When the broker answers a Produce request and the drop rule says so, the
response is not forwarded: the proxy closes both sides of that connection instead, as a network
failure would after the broker appended the data. The client then reconnects and retries the
same batch, which is exactly the case idempotence exists for.

The broker is started with `advertised.listeners` pointing at the proxy, so every connection a
client makes (bootstrap, partition leaders, coordinators) goes through it.
"""

import socket
import struct
import threading

PRODUCE = 0
MAX_FRAME = 128 << 20


def _read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(sock):
    head = _read_exact(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    if size < 0 or size > MAX_FRAME:
        return None
    body = _read_exact(sock, size)
    return None if body is None else head + body


class DroppingProxy:
    """Listens on `listen_port` (0: a free one) of the loopback; `drop_every` = n drops every
    n-th Produce response (counted over all connections). `dropped` counts the responses lost."""

    def __init__(self, target_port, drop_every=5, listen_port=0, host="127.0.0.1"):
        self.target = (host, target_port)
        self.drop_every = drop_every
        self.produce_responses = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, listen_port))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._closed = False
        self._threads = []
        self._conns = []

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def close(self):
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            self._shut(s)

    @staticmethod
    def _shut(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                self._shut(client)
                continue
            with self._lock:
                self._conns += [client, upstream]
            pending = {}  # correlation id -> api key
            for fn in (self._requests, self._responses):
                t = threading.Thread(target=fn, args=(client, upstream, pending), daemon=True)
                t.start()

    def _requests(self, client, upstream, pending):
        try:
            while True:
                frame = _read_frame(client)
                if frame is None:
                    break
                if len(frame) >= 12:
                    api_key, _version, corr = struct.unpack(">hhi", frame[4:12])
                    pending[corr] = api_key
                upstream.sendall(frame)
        except OSError:
            pass
        self._shut(client)
        self._shut(upstream)

    def _responses(self, client, upstream, pending):
        try:
            while True:
                frame = _read_frame(upstream)
                if frame is None:
                    break
                if len(frame) >= 8:
                    (corr,) = struct.unpack(">i", frame[4:8])
                    if pending.pop(corr, None) == PRODUCE:
                        with self._lock:
                            self.produce_responses += 1
                            drop = self.produce_responses % self.drop_every == 0
                            if drop:
                                self.dropped += 1
                        if drop:
                            break  # lose the response and the connection
                client.sendall(frame)
        except OSError:
            pass
        self._shut(client)
        self._shut(upstream)
