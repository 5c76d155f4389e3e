"""Fixtures shared by the integration tests: a real `samsa` broker process per test module.

The broker binary is `$SAMSA_BIN` (default `<repo>/build/samsa`). Each test module gets its own
broker on a free loopback port with its own temporary data directory; `Broker.restart()` stops it
(SIGTERM or SIGKILL) and starts it again on the same port and directory.

Every test also runs under a watchdog (SIGALRM, `SAMSA_TEST_TIMEOUT` seconds, default 180) so a
client call that blocks forever turns into a failure instead of a hung suite.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMSA_BIN = Path(os.environ.get("SAMSA_BIN", REPO / "build" / "samsa"))
HOST = "127.0.0.1"
STARTUP_DEADLINE_S = 20.0
SHUTDOWN_DEADLINE_S = 20.0
TEST_TIMEOUT_S = int(os.environ.get("SAMSA_TEST_TIMEOUT", "180"))


_HANDED_OUT = set()

# Under pytest-xdist (`run.sh` uses two workers) each worker draws ports from its own slice, so two
# workers never hand out the same port between its check and the broker's bind.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(_WORKER[2:]) if _WORKER.startswith("gw") and _WORKER[2:].isdigit() else None
_WORKER_COUNT = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))


def _slice(lo, hi):
    """[lo, hi) when this is the only test process; else this worker's share of it."""
    if _WORKER_INDEX is None:
        return lo, hi
    width = (hi - lo) // _WORKER_COUNT
    start = lo + (_WORKER_INDEX % _WORKER_COUNT) * width
    return start, start + width


def _bindable(ports):
    socks = []
    try:
        for p in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((HOST, p))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port():
    """A loopback port nobody listens on right now, never one this test process handed out before:
    a node given the same port twice (its Kafka and HTTP listeners) would not start. Alone, the
    kernel picks it (bind port 0); under xdist, it is drawn from this worker's slice of 40000-60000 (kept
    apart from the other workers')."""
    import random
    if _WORKER_INDEX is None:
        for _ in range(1000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((HOST, 0))
                port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    else:
        lo, hi = _slice(40000, 60000)
        for _ in range(1000):
            port = random.randrange(lo, hi)
            if port not in _HANDED_OUT and _bindable([port]):
                _HANDED_OUT.add(port)
                return port
    raise RuntimeError("no fresh loopback port after 1000 tries")


def free_port_run(count, step=2):
    """The first of `count` consecutive loopback ports that are all free now and were never handed
    out by this test process (for `samsa dev-cluster --base-port`, whose node i takes base + 2(i-1)
    and the port after it). Drawn below the ephemeral range (this worker's slice of 20000-30000),
    where neighbours of a free port are usually free too."""
    import random
    lo, hi = _slice(20000, 30000)
    lo += lo % step
    for _ in range(200):
        base = random.randrange(lo, hi - count, step)
        ports = range(base, base + count)
        if any(p in _HANDED_OUT for p in ports):
            continue
        if not _bindable(ports):
            continue
        _HANDED_OUT.update(ports)
        return base
    raise RuntimeError(f"no {count} consecutive free loopback ports after 200 tries")


class BrokerError(AssertionError):
    pass


class Broker:
    """One broker process. Owned by the fixture that created it; tests call start/stop/restart
    from the main test thread only."""

    def __init__(self, data_dir, num_partitions=1, overrides=None):
        self.data_dir = Path(data_dir)
        self.log_dirs = self.data_dir / "data"
        self.log_dirs.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.data_dir / "broker.log"
        self.port = free_port()
        # Each broker its own HTTP port (metrics, health), kept across restarts; tests that do not
        # want the HTTP server override http.listeners with "".
        self.http_port = free_port()
        while self.http_port == self.port:  # two binds to port 0 may hand out the same port
            self.http_port = free_port()
        self.num_partitions = num_partitions
        self.overrides = dict(overrides or {})
        self.proc = None
        self.starts = 0

    @property
    def bootstrap(self):
        return f"{HOST}:{self.port}"

    @property
    def http_url(self):
        return f"http://{HOST}:{self.http_port}"

    def props(self):
        props = {
            "listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "log.dirs": str(self.log_dirs),
            "num.partitions": str(self.num_partitions),
            "http.listeners": f"http://{HOST}:{self.http_port}",
        }
        props.update(self.overrides)
        return props

    def listener_addresses(self):
        """(host, port) of every listener in `listeners` ("NAME://host:port,...")."""
        out = []
        for entry in self.props()["listeners"].split(","):
            _, _, hostport = entry.strip().partition("://")
            host, _, port = hostport.rpartition(":")
            if port.isdigit() and int(port) > 0:
                out.append((host.strip("[]") or HOST, int(port)))
        return out or [(HOST, self.port)]

    def command(self):
        props = self.props()
        cmd = [str(SAMSA_BIN), "start"]
        for key, value in props.items():
            cmd += ["--override", f"{key}={value}"]
        return cmd

    def start(self):
        if not SAMSA_BIN.exists():
            raise BrokerError(
                f"broker binary {SAMSA_BIN} does not exist: build it with "
                "`cmake -S . -B build -G Ninja && ninja -C build samsa` or set SAMSA_BIN")
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        with open(self.stderr_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, cwd=self.data_dir)
        self._wait_ready()

    def _wait_ready(self):
        """Until every listener accepts connections (a SASL or TLS listener beside PLAINTEXT too)."""
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        waiting = self.listener_addresses()
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise BrokerError(f"broker exited with code {rc} during startup\n{self.log_tail()}")
            try:
                with socket.create_connection(waiting[0], timeout=0.5):
                    pass
                waiting.pop(0)
                if not waiting:
                    return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise BrokerError(f"broker did not accept connections on {self.bootstrap} within "
                          f"{STARTUP_DEADLINE_S}s\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Send `sig` and wait for the process; returns its exit code (negative = killed by a
        signal, as subprocess reports it)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=SHUTDOWN_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BrokerError(f"broker ignored {signal.Signals(sig).name} for "
                              f"{SHUTDOWN_DEADLINE_S}s and was killed\n{self.log_tail()}")

    def restart(self, sig=signal.SIGTERM):
        """Stop with `sig` (SIGTERM: clean shutdown; SIGKILL: crash) and start again on the same
        port and data directory. Returns the exit code of the stopped process."""
        rc = self.stop(sig)
        self.start()
        return rc

    def log_tail(self, max_bytes=6000):
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return "(no broker log)"
        text = data[-max_bytes:].decode("utf-8", "replace")
        return f"--- broker log tail ({self.stderr_path}) ---\n{text}"


def _start_broker(data_dir, num_partitions, overrides):
    broker = Broker(data_dir, num_partitions=num_partitions, overrides=overrides)
    broker.start()
    return broker


def _finish_broker(broker, report_crash=True):
    """Stop the broker at teardown; a broker that died on its own during the tests (unless
    already reported per test by _broker_liveness), or that does not shut down cleanly on
    SIGTERM, is reported as an error."""
    crashed = broker.proc is not None and broker.proc.poll() is not None
    rc = broker.stop(signal.SIGTERM)
    if crashed and not report_crash:
        return
    if crashed:
        raise BrokerError(f"broker died during the tests (exit code {rc})\n{broker.log_tail()}")
    if rc != 0:
        raise BrokerError(f"broker exited with code {rc} on SIGTERM\n{broker.log_tail()}")


@pytest.fixture(scope="module")
def broker_config():
    """(num_partitions, overrides) for the module's broker; a test module overrides this
    fixture to change them."""
    return 1, {}


@pytest.fixture(scope="module")
def broker(request, tmp_path_factory, broker_config):
    num_partitions, overrides = broker_config
    name = request.module.__name__.rsplit(".", 1)[-1]
    b = _start_broker(tmp_path_factory.mktemp(name), num_partitions, overrides)
    yield b
    _finish_broker(b, report_crash=False)


@pytest.fixture
def make_broker(tmp_path_factory):
    """Factory for extra, test-scoped brokers (e.g. one with special overrides)."""
    started = []

    def make(num_partitions=1, overrides=None):
        b = _start_broker(tmp_path_factory.mktemp("extra"), num_partitions, overrides)
        started.append(b)
        return b

    yield make
    for b in started:
        _finish_broker(b)


@pytest.fixture(autouse=True)
def _broker_liveness(request):
    """Pins a broker crash on the test during which it happened, and makes the module's later
    tests fail at once instead of each waiting for client timeouts."""
    if "broker" not in request.fixturenames:
        yield
        return
    b = request.getfixturevalue("broker")
    if not b.alive():
        pytest.fail(f"broker is not running (exit code {b.proc.returncode}; it died in an "
                    f"earlier test)", pytrace=False)
    yield
    if not b.alive():
        pytest.fail(f"broker died during this test (exit code {b.proc.returncode})\n"
                    f"{b.log_tail()}", pytrace=False)


class WatchdogTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise WatchdogTimeout(f"test exceeded {TEST_TIMEOUT_S}s (SAMSA_TEST_TIMEOUT): something hung")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the broker's log tail to every failing test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name in ("broker",):
            b = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(b, Broker):
                report.sections.append(("samsa broker log", b.log_tail()))
