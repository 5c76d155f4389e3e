"""Certificate reload without a restart (issue 15): an SSL listener's key store is replaced while
the broker runs, as Kafka does it (KIP-226): `samsa configs --alter --entity-type brokers
--entity-name 1 --add-config listener.name.ssl.ssl.keystore.location=...`, or the same file
rewritten in place and its config set again. New connections get the new certificate, a
connection opened before keeps working, a key store that cannot be loaded is refused with
INVALID_CONFIG and the certificate in use stays.

Certificates are made with `openssl`: one CA and three broker certificates for localhost that
differ in their organisation (O=First, O=Second, O=Third), so a client can tell which one it got."""

import shutil
import socket
import ssl
import subprocess

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from conftest import HOST, SAMSA_BIN, Broker, _finish_broker, free_port
import rawkafka as rk
from helpers import unique_topic
from test_security import make_ca, make_cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("reload-certs")
    make_ca(d, "ca", "/CN=Samsa Reload CA")
    for org in ("First", "Second", "Third"):
        make_cert(d, org.lower(), f"/O={org}/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    return d


@pytest.fixture
def tls_broker(tmp_path, certs):
    keystore = tmp_path / "keystore.pem"
    shutil.copy(certs / "first.pem", keystore)
    b = Broker(tmp_path / "broker")
    ssl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SSL://{HOST}:{ssl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
    })
    b.start()
    yield b, ssl_port, keystore
    _finish_broker(b)


def tls_connect(certs, port):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    s = socket.create_connection((HOST, port), timeout=10)
    return ctx.wrap_socket(s, server_hostname="localhost")


def organisation(t):
    """The O= of the certificate the broker presented on TLS socket `t`."""
    for rdn in t.getpeercert()["subject"]:
        for key, value in rdn:
            if key == "organizationName":
                return value
    return None


def served(t):
    """An ApiVersions request on `t` is answered (the connection works)."""
    t.sendall(rk.api_versions_request(0, 7))
    head = t.recv(4)
    assert len(head) == 4
    n = int.from_bytes(head, "big")
    body = b""
    while len(body) < n:
        chunk = t.recv(n - len(body))
        assert chunk
        body += chunk
    return body[:4] == (7).to_bytes(4, "big")


def org_of_new_connection(certs, port):
    with tls_connect(certs, port) as t:
        assert served(t)
        return organisation(t)


def alter(broker, *config):
    return subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", broker.bootstrap, "--alter",
                           "--entity-type", "brokers", "--entity-name", "1", "--add-config", ",".join(config)],
                          capture_output=True, text=True, timeout=60)


def wait_org(certs, port, want, broker, bound_s=20.0):
    import time
    deadline = time.monotonic() + bound_s
    got = None
    while time.monotonic() < deadline:
        got = org_of_new_connection(certs, port)
        if got == want:
            return
        time.sleep(0.2)
    pytest.fail(f"new connections still get O={got}, expected O={want}\n{broker.log_tail()}")


def round_trip(certs, port):
    topic = unique_topic("tls-reload")
    conf = {"bootstrap.servers": f"{HOST}:{port}", "security.protocol": "SSL",
            "ssl.ca.location": str(certs / "ca.pem"), "broker.address.family": "v4",
            "socket.timeout.ms": 10000}
    p = Producer(conf)
    for i in range(5):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(20) == 0
    c = Consumer({**conf, "group.id": topic, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    import time
    deadline = time.monotonic() + 20
    while len(got) < 5 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert got == [f"v{i}".encode() for i in range(5)]


def test_key_store_replaced_by_a_dynamic_config_and_in_place(tls_broker, certs):
    b, port, keystore = tls_broker
    assert org_of_new_connection(certs, port) == "First"
    old = tls_connect(certs, port)
    try:
        assert served(old) and organisation(old) == "First"

        # A new key store file named by the listener's dynamic config.
        second = keystore.parent / "second.pem"
        shutil.copy(certs / "second.pem", second)
        r = alter(b, f"listener.name.ssl.ssl.keystore.location={second}")
        assert r.returncode == 0, r.stderr
        wait_org(certs, port, "Second", b)
        assert served(old) and organisation(old) == "First"  # the old connection keeps its session
        d = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", b.bootstrap, "--describe",
                            "--entity-type", "brokers", "--entity-name", "1"],
                           capture_output=True, text=True, timeout=60)
        assert f"listener.name.ssl.ssl.keystore.location={second} sensitive=false" in d.stdout, d.stdout
        assert "TLS key and trust stores reloaded" in b.log_tail(20000)

        # The same file rewritten in place, its config set again (Kafka's way to pick up a renewal).
        shutil.copy(certs / "third.pem", second)
        r = alter(b, f"listener.name.ssl.ssl.keystore.location={second}")
        assert r.returncode == 0, r.stderr
        wait_org(certs, port, "Third", b)

        # A key store that cannot be loaded is refused whole; the certificate in use stays.
        r = alter(b, f"listener.name.ssl.ssl.keystore.location={keystore.parent / 'missing.pem'}")
        assert r.returncode != 0
        assert "SSLFactory" in r.stderr and "missing.pem" in r.stderr, r.stderr
        assert org_of_new_connection(certs, port) == "Third"
        assert served(old)
        round_trip(certs, port)
    finally:
        old.close()
    assert b.alive()


def test_the_dynamic_key_store_survives_a_restart(tls_broker, certs):
    b, port, keystore = tls_broker
    second = keystore.parent / "second.pem"
    shutil.copy(certs / "second.pem", second)
    r = alter(b, f"listener.name.ssl.ssl.keystore.location={second}")
    assert r.returncode == 0, r.stderr
    wait_org(certs, port, "Second", b)
    b.restart()
    # The static config still names the first key store; the metadata log's dynamic layer wins.
    assert org_of_new_connection(certs, port) == "Second"
