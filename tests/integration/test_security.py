"""Listeners with security protocols: TLS (server and mutual), SASL PLAIN and SCRAM over
SASL_PLAINTEXT and SASL_SSL, with real clients (confluent-kafka, kcat, kafka-python) and the
`samsa` tools' --command-config. Every refusal (wrong password, unknown user, plaintext client on a
TLS port, untrusted client certificate) is checked to leave the broker serving others.

Certificates are made with the `openssl` command in the module's set-up: a CA, a broker
certificate for 127.0.0.1 / localhost, a client certificate (CN=client,O=Samsa,C=US), and a
second, untrusted CA with a client certificate of its own."""

import json
import socket
import ssl
import subprocess
import struct
import time

from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST, SAMSA_BIN, Broker, _finish_broker, free_port
import rawkafka as rk
from helpers import go_build, samsa_tool, tools_round_trip, unique_topic

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'username="admin" password="admin-secret" '
              'user_admin="admin-secret" user_alice="alice-secret";')
SCRAM_JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
              'user_bob="bob-secret" user_alice="alice-secret";')
DEADLINE_S = 20


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name, subject):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.pem", "-days", "2", "-subj", subject, cwd=d)


def make_cert(d, name, subject, ca, san=None):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject, cwd=d)
    args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2"]
    if san:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        args += ["-extfile", f"{name}.ext"]
    openssl(*args, cwd=d)
    # A PEM key store: the certificate, then its private key, in one file.
    (d / f"{name}.pem").write_text((d / f"{name}.crt").read_text() + (d / f"{name}.key").read_text())


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca", "/CN=Samsa Test CA")
    make_cert(d, "broker", "/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    make_cert(d, "client", "/C=US/O=Samsa/CN=client", "ca")
    make_cert(d, "other", "/C=US/O=Elsewhere/CN=other", "ca")
    make_ca(d, "rogue-ca", "/CN=Rogue CA")
    make_cert(d, "rogue", "/CN=rogue", "rogue-ca")
    return d


class Ports:
    def __init__(self, plaintext):
        self.plaintext = plaintext
        self.ssl, self.sasl_plaintext, self.sasl_ssl, self.mtls = (free_port() for _ in range(4))


@pytest.fixture(scope="module")
def secure(tmp_path_factory, certs):
    """One broker with five listeners: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL and a named MTLS
    listener (SSL with ssl.client.auth=required); SCRAM-SHA-256/512 and PLAIN enabled."""
    b = Broker(tmp_path_factory.mktemp("security"))
    p = Ports(b.port)
    b.overrides.update({
        "listeners": (f"PLAINTEXT://{HOST}:{p.plaintext},SSL://{HOST}:{p.ssl},"
                      f"SASL_PLAINTEXT://{HOST}:{p.sasl_plaintext},SASL_SSL://{HOST}:{p.sasl_ssl},"
                      f"MTLS://{HOST}:{p.mtls}"),
        "listener.security.protocol.map": ("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,"
                                           "SASL_SSL:SASL_SSL,MTLS:SSL"),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs / "broker.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs / "ca.pem"),
        "listener.name.mtls.ssl.client.auth": "required",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
    })
    b.start()
    yield b, p
    _finish_broker(b)


def conf(port, **extra):
    c = {"bootstrap.servers": f"{HOST}:{port}", "socket.timeout.ms": 10000,
         "broker.address.family": "v4"}
    c.update(extra)
    return c


def ssl_conf(certs, port, **extra):
    return conf(port, **{"security.protocol": "SSL", "ssl.ca.location": str(certs / "ca.pem")}, **extra)


def sasl_conf(port, protocol, mechanism, user, password, certs=None):
    c = conf(port, **{"security.protocol": protocol, "sasl.mechanisms": mechanism,
                      "sasl.username": user, "sasl.password": password})
    if certs is not None:
        c["ssl.ca.location"] = str(certs / "ca.pem")
    return c


def round_trip(client_conf, n=5):
    """Creates a topic, produces n records and reads them back, all with `client_conf`.
    Returns the broker list the Metadata answer gave."""
    topic = unique_topic("sec")
    admin = AdminClient(client_conf)
    futures = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)
    futures[topic].result(timeout=DEADLINE_S)
    producer = Producer(client_conf)
    for i in range(n):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(DEADLINE_S) == 0
    consumer = Consumer(dict(client_conf, **{"group.id": "g-" + topic, "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < n and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value().decode())
    brokers = admin.list_topics(timeout=DEADLINE_S).brokers
    consumer.close()
    assert got == [f"v{i}" for i in range(n)]
    return [(b.host, b.port) for b in brokers.values()]


def auth_error(client_conf):
    """The first error a client meets while trying to use the broker (bounded wait)."""
    errors = []
    admin = AdminClient(dict(client_conf, error_cb=errors.append))
    deadline = time.monotonic() + DEADLINE_S
    while not errors and time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1)
        except Exception:  # noqa: BLE001 - the error callback carries the reason
            pass
        admin.poll(0.2)  # serves the error callback
    assert errors, "the client saw no error"
    return errors[0]


# ---- TLS ------------------------------------------------------------------------------------

def test_ssl_round_trip_and_metadata_names_the_ssl_listener(secure, certs):
    b, p = secure
    brokers = round_trip(ssl_conf(certs, p.ssl))
    assert brokers == [(HOST, p.ssl)]
    # The plaintext listener still answers with its own address.
    assert round_trip(conf(p.plaintext)) == [(HOST, p.plaintext)]


def test_ssl_with_hostname_verification(secure, certs):
    b, p = secure
    round_trip(ssl_conf(certs, p.ssl, **{"ssl.endpoint.identification.algorithm": "https"}))


def test_mtls_round_trip(secure, certs):
    b, p = secure
    round_trip(ssl_conf(certs, p.mtls, **{"ssl.certificate.location": str(certs / "client.crt"),
                                          "ssl.key.location": str(certs / "client.key")}))


def tls_handshake(certs, port, cert=None):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(certs / f"{cert}.crt"), str(certs / f"{cert}.key"))
    with socket.create_connection((HOST, port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            # TLS 1.3 reports a refused client certificate on the first read, not in the handshake.
            t.sendall(rk.api_versions_request(0, 1))
            return t.recv(4)


def test_untrusted_or_missing_client_certificate_is_refused(secure, certs):
    b, p = secure
    for cert in ("rogue", None):
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            data = tls_handshake(certs, p.mtls, cert)
            if data == b"":
                raise ConnectionResetError("closed")
    err = auth_error(ssl_conf(certs, p.mtls, **{"ssl.certificate.location": str(certs / "rogue.crt"),
                                                "ssl.key.location": str(certs / "rogue.key")}))
    assert err.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN), err
    # The trusted client is still served.
    assert len(tls_handshake(certs, p.mtls, "client")) == 4
    assert b.alive()


def test_plaintext_client_on_tls_port_is_refused(secure, certs):
    b, p = secure
    conn = rk.Conn(p.ssl)
    conn.send(rk.api_versions_request(0, 1))
    with pytest.raises((rk.Closed, socket.timeout, AssertionError)):
        conn.recv_frame()  # the broker's TLS alert is no Kafka frame, then EOF
    conn.sock.close()
    assert b.alive()
    assert len(tls_handshake(certs, p.ssl)) == 4


def test_kcat_over_ssl_and_mtls(secure, certs):
    b, p = secure
    topic = unique_topic("kcat-ssl")
    common = ["-X", "security.protocol=SSL", "-X", f"ssl.ca.location={certs / 'ca.pem'}"]
    mtls = common + ["-X", f"ssl.certificate.location={certs / 'client.crt'}",
                     "-X", f"ssl.key.location={certs / 'client.key'}"]
    for port, extra in ((p.ssl, common), (p.mtls, mtls)):
        subprocess.run(["kcat", "-b", f"{HOST}:{port}", *extra, "-P", "-t", topic],
                       input=b"one\ntwo\n", check=True, timeout=DEADLINE_S, capture_output=True)
    out = subprocess.run(["kcat", "-b", f"{HOST}:{p.ssl}", *common, "-C", "-t", topic, "-e", "-q",
                          "-o", "beginning"], check=True, timeout=DEADLINE_S, capture_output=True)
    assert out.stdout.split() == [b"one", b"two", b"one", b"two"]


# ---- SASL -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism,user,password", [
    ("PLAIN", "alice", "alice-secret"),
    ("SCRAM-SHA-256", "bob", "bob-secret"),
    ("SCRAM-SHA-512", "alice", "alice-secret"),
])
def test_sasl_plaintext_round_trip(secure, mechanism, user, password):
    b, p = secure
    brokers = round_trip(sasl_conf(p.sasl_plaintext, "SASL_PLAINTEXT", mechanism, user, password))
    assert brokers == [(HOST, p.sasl_plaintext)]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_sasl_ssl_round_trip(secure, certs, mechanism):
    b, p = secure
    brokers = round_trip(sasl_conf(p.sasl_ssl, "SASL_SSL", mechanism, "alice", "alice-secret", certs))
    assert brokers == [(HOST, p.sasl_ssl)]


@pytest.mark.parametrize("protocol,mechanism,user,password,message", [
    ("SASL_PLAINTEXT", "PLAIN", "alice", "wrong", "Invalid username or password"),
    ("SASL_PLAINTEXT", "PLAIN", "mallory", "alice-secret", "Invalid username or password"),
    ("SASL_SSL", "SCRAM-SHA-512", "alice", "wrong", "invalid credentials"),
    ("SASL_SSL", "SCRAM-SHA-512", "mallory", "x", "Invalid user credentials"),
])
def test_failed_login_is_refused_and_others_served(secure, certs, protocol, mechanism, user, password,
                                                   message):
    b, p = secure
    port = p.sasl_ssl if protocol == "SASL_SSL" else p.sasl_plaintext
    err = auth_error(sasl_conf(port, protocol, mechanism, user, password,
                               certs if protocol == "SASL_SSL" else None))
    assert err.code() == KafkaError._AUTHENTICATION, err
    assert message in err.str(), err.str()
    round_trip(sasl_conf(port, protocol, mechanism, "alice", "alice-secret",
                         certs if protocol == "SASL_SSL" else None), n=1)


def sasl_handshake(conn, mechanism, version=1):
    body = rk.string(mechanism)
    r = rk.Reader(conn.request(rk.frame(rk.request_header(17, version, 3) + body)))
    r.i32()
    err = r.i16()
    mechanisms = [r.string() for _ in range(r.i32())]
    return err, mechanisms


def sasl_authenticate(conn, token):
    r = rk.Reader(conn.request(rk.frame(rk.request_header(36, 1, 4) + rk.i32(len(token)) + token)))
    r.i32()
    err = r.i16()
    msg = r.string()
    n = r.i32()
    auth = r.take(n) if n >= 0 else None
    return err, msg, auth, r.i64()


def test_raw_protocol_rules(secure):
    b, p = secure
    # Nothing but ApiVersions and the SASL APIs before authentication: Metadata closes.
    c = rk.Conn(p.sasl_plaintext)
    assert len(c.request(rk.api_versions_request(0, 1))) > 6
    c.send(rk.frame(rk.request_header(3, 1, 2) + rk.i32(-1)))
    with pytest.raises(rk.Closed):
        c.recv_frame()
    # An unknown mechanism: UNSUPPORTED_SASL_MECHANISM (33) with the enabled list, then closed.
    c = rk.Conn(p.sasl_plaintext)
    err, mechanisms = sasl_handshake(c, "GSSAPI")
    assert (err, mechanisms) == (33, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    with pytest.raises(rk.Closed):
        c.request(rk.api_versions_request(0, 5))
    # A wrong password: SASL_AUTHENTICATION_FAILED (58) with Kafka's message, then closed.
    c = rk.Conn(p.sasl_plaintext)
    assert sasl_handshake(c, "PLAIN")[0] == 0
    err, msg, _, _ = sasl_authenticate(c, b"\0alice\0nope")
    assert (err, msg) == (58, "Authentication failed: Invalid username or password")
    with pytest.raises(rk.Closed):
        c.request(rk.api_versions_request(0, 6))
    # SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE (34).
    c = rk.Conn(p.sasl_plaintext)
    assert sasl_authenticate(c, b"\0alice\0alice-secret")[0] == 34
    # The right password, then Metadata is served; the session does not expire (0).
    c = rk.Conn(p.sasl_plaintext)
    assert sasl_handshake(c, "PLAIN")[0] == 0
    assert sasl_authenticate(c, b"\0alice\0alice-secret") == (0, None, b"", 0)
    assert len(c.request(rk.frame(rk.request_header(3, 1, 9) + rk.i32(-1)))) > 8
    # SaslHandshake on a plaintext listener: ILLEGAL_SASL_STATE.
    c = rk.Conn(p.plaintext)
    assert sasl_handshake(c, "PLAIN")[0] == 34
    # An oversized frame before authentication (sasl.server.max.receive.size) closes.
    c = rk.Conn(p.sasl_plaintext)
    c.send(rk.i32(10 << 20) + b"x" * 100)
    with pytest.raises(rk.Closed):
        c.recv_frame()
    assert b.alive()


@pytest.mark.parametrize("mechanism,user,password", [
    ("PLAIN", "alice", "alice-secret"),
    ("SCRAM-SHA-512", "bob", "bob-secret"),
])
def test_kafka_python_sasl_v0_framing(secure, mechanism, user, password):
    """kafka-python 2.0.2 sends SaslHandshake v0 and then bare SASL tokens."""
    from kafka import KafkaConsumer, KafkaProducer
    b, p = secure
    topic = unique_topic("kp-sasl")
    common = dict(bootstrap_servers=f"{HOST}:{p.sasl_plaintext}", security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password,
                  api_version=(2, 5), request_timeout_ms=15000)
    producer = KafkaProducer(**common)
    for i in range(3):
        producer.send(topic, f"k{i}".encode()).get(timeout=DEADLINE_S)
    producer.close()
    consumer = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **common)
    got = [m.value.decode() for m in consumer]
    consumer.close()
    assert got == ["k0", "k1", "k2"]


def test_kcat_over_sasl_ssl(secure, certs):
    b, p = secure
    topic = unique_topic("kcat-sasl")
    args = ["-b", f"{HOST}:{p.sasl_ssl}", "-X", "security.protocol=SASL_SSL", "-X",
            f"ssl.ca.location={certs / 'ca.pem'}", "-X", "sasl.mechanisms=SCRAM-SHA-512",
            "-X", "sasl.username=bob", "-X", "sasl.password=bob-secret"]
    subprocess.run(["kcat", *args, "-P", "-t", topic], input=b"a\nb\n", check=True,
                   timeout=DEADLINE_S, capture_output=True)
    out = subprocess.run(["kcat", *args, "-C", "-t", topic, "-e", "-q", "-o", "beginning"],
                         check=True, timeout=DEADLINE_S, capture_output=True)
    assert out.stdout.split() == [b"a", b"b"]


# ---- sarama (Debian's Go and sarama) -----------------------------------------------------------

GO_SARAMA = Path(__file__).resolve().parent / "go" / "sarama_secure.go"


@pytest.fixture(scope="module")
def sarama_secure(tmp_path_factory):
    """tests/integration/go/sarama_secure.go built with Debian's Go and sarama."""
    d = tmp_path_factory.mktemp("sarama")
    build = go_build(GO_SARAMA, d / "sarama_secure", d)
    assert build.returncode == 0, build.stderr
    return d / "sarama_secure"


@pytest.mark.parametrize("listener,auth", [
    ("ssl", []),
    ("mtls", ["cert", "client.crt", "client.key"]),
    ("sasl_ssl", ["PLAIN", "alice", "alice-secret"]),
    ("sasl_ssl", ["SCRAM-SHA-512", "bob", "bob-secret"]),
    ("sasl_ssl", ["SCRAM-SHA-256", "alice", "alice-secret"]),
])
def test_sarama_over_ssl_sasl_ssl_and_mtls(secure, certs, sarama_secure, listener, auth):
    b, p = secure
    topic = unique_topic("sarama-sec")
    admin = AdminClient(conf(p.plaintext))
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=DEADLINE_S)
    if auth and auth[0] == "cert":
        auth = ["cert", str(certs / auth[1]), str(certs / auth[2])]
    run = subprocess.run([str(sarama_secure), f"{HOST}:{getattr(p, listener)}", topic, "20",
                          str(certs / "ca.pem"), *auth], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split() == [f"sarama-{i}" for i in range(20)]


def test_sarama_with_a_wrong_password_is_refused(secure, certs, sarama_secure):
    b, p = secure
    run = subprocess.run([str(sarama_secure), f"{HOST}:{p.sasl_ssl}", unique_topic("sarama-no"), "1",
                          str(certs / "ca.pem"), "SCRAM-SHA-512", "bob", "wrong"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "producer" in run.stderr, run.stdout + run.stderr


# ---- kafkajs (pinned in js/package-lock.json) ---------------------------------------------------

JS_DIR = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="module")
def js_modules():
    r = subprocess.run(["bash", str(JS_DIR / "setup.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=1800)
    assert r.returncode == 0, f"js/setup.sh failed:\n{r.stdout.decode(errors='replace')}"


@pytest.mark.parametrize("listener,tls,sasl", [
    ("ssl", {}, None),
    ("mtls", {"cert": "client.crt", "key": "client.key"}, None),
    ("sasl_ssl", {}, {"mechanism": "plain", "username": "alice", "password": "alice-secret"}),
    ("sasl_ssl", {}, {"mechanism": "scram-sha-512", "username": "bob", "password": "bob-secret"}),
])
def test_kafkajs_over_ssl_sasl_ssl_and_mtls(secure, certs, js_modules, listener, tls, sasl):
    b, p = secure
    topic = unique_topic("js-sec")
    args = {"brokers": [f"{HOST}:{getattr(p, listener)}"], "topic": topic, "count": 10,
            "tls": {"ca": str(certs / "ca.pem"), **{k: str(certs / v) for k, v in tls.items()}}}
    if sasl:
        args["sasl"] = sasl
    r = subprocess.run(["node", str(JS_DIR / "secure_round_trip.js"), json.dumps(args)], cwd=JS_DIR,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    [result] = [line[len("RESULT "):] for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    assert json.loads(result)["values"] == [f"js-{i}" for i in range(10)]


# ---- the tools' --command-config in the Java client's keys ------------------------------------

def test_tools_take_java_client_properties(secure, certs, tmp_path):
    b, p = secure
    props = tmp_path / "client.properties"
    props.write_text(
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        "    username=\"alice\" password=\"alice-secret\";\n"
        f"ssl.truststore.location={certs / 'ca.pem'}\n"
        "ssl.truststore.type=PEM\n"
        "ssl.endpoint.identification.algorithm=\n")
    topic = unique_topic("tool-sec")
    bootstrap = f"{HOST}:{p.sasl_ssl}"

    samsa = samsa_tool
    tools_round_trip(bootstrap, props, topic)
    # mTLS with a PEM key store in the Java keys.
    mtls = tmp_path / "mtls.properties"
    mtls.write_text("security.protocol=SSL\n"
                    f"ssl.truststore.location={certs / 'ca.pem'}\nssl.truststore.type=PEM\n"
                    f"ssl.keystore.location={certs / 'client.pem'}\nssl.keystore.type=PEM\n")
    r = samsa("console-consumer", "--bootstrap-server", f"{HOST}:{p.mtls}", "--consumer.config", str(mtls),
              "--topic", topic, "--from-beginning", "--max-messages", "2", "--timeout-ms", "15000")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"hello", b"world"]
    # The commands on Samsa's own protocol client (topics --list/--describe, broker-api-versions)
    # take the same file.
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(props), "--describe",
              "--topic", topic)
    assert r.returncode == 0, r.stderr
    assert topic.encode() in r.stdout and b"PartitionCount: 1" in r.stdout
    r = samsa("topics", "--bootstrap-server", f"{HOST}:{p.mtls}", "--command-config", str(mtls), "--list")
    assert r.returncode == 0, r.stderr
    assert topic.encode() in r.stdout.split()
    plain = tmp_path / "plain.properties"
    plain.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
                     "org.apache.kafka.common.security.plain.PlainLoginModule required "
                     "username=\"alice\" password=\"alice-secret\";\n")
    r = samsa("broker-api-versions", "--bootstrap-server", f"{HOST}:{p.sasl_plaintext}",
              "--command-config", str(plain))
    assert r.returncode == 0, r.stderr
    assert f"{HOST}:{p.sasl_plaintext}".encode() in r.stdout
    assert b"SaslAuthenticate(36)" in r.stdout
    # A wrong password fails the tool instead of hanging.
    bad = tmp_path / "bad.properties"
    bad.write_text(props.read_text().replace("alice-secret", "nope"))
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(bad), "--create",
              "--topic", unique_topic("never"), "--partitions", "1")
    assert r.returncode != 0
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(bad), "--list")
    assert r.returncode != 0
    assert b"invalid credentials" in r.stderr


# ---- re-authentication (KIP-368) -------------------------------------------------------------

def test_reauthentication(tmp_path_factory):
    """connections.max.reauth.ms: the lifetime is announced, the same principal may
    re-authenticate, another may not, and an expired session is closed at its next request."""
    b = Broker(tmp_path_factory.mktemp("reauth"))
    b.overrides.update({
        "listeners": f"SASL_PLAINTEXT://{HOST}:{b.port}",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.jaas.config": PLAIN_JAAS,
        "connections.max.reauth.ms": "1000",
    })
    b.start()
    try:
        metadata = rk.frame(rk.request_header(3, 1, 9) + rk.i32(-1))
        c = rk.Conn(b.port)
        assert sasl_handshake(c, "PLAIN")[0] == 0
        assert sasl_authenticate(c, b"\0alice\0alice-secret") == (0, None, b"", 1000)
        assert sasl_handshake(c, "PLAIN")[0] == 0
        assert sasl_authenticate(c, b"\0alice\0alice-secret")[0] == 0
        assert len(c.request(metadata)) > 8
        # Another principal on the same connection is refused.
        assert sasl_handshake(c, "PLAIN")[0] == 0
        err, msg, _, _ = sasl_authenticate(c, b"\0admin\0admin-secret")
        assert err == 58 and "Cannot change principals" in msg
        # An expired session: the next request closes the connection.
        c = rk.Conn(b.port)
        assert sasl_handshake(c, "PLAIN")[0] == 0
        assert sasl_authenticate(c, b"\0alice\0alice-secret")[0] == 0
        time.sleep(1.2)
        with pytest.raises(rk.Closed):
            c.request(metadata)
        assert b.alive()
    finally:
        _finish_broker(b)


# ---- key store forms, protocols and cipher suites ------------------------------------------

@pytest.fixture(scope="module")
def tls_variants(tmp_path_factory, certs):
    """A broker whose SSL listeners differ in key store and TLS settings, each through
    listener.name.<l>.* keys: PKCS12 key and trust stores (client auth requested), an inline PEM
    key store, TLS 1.3 only, and TLS 1.2 with one cipher suite named as Java names it."""
    openssl("pkcs12", "-export", "-in", "broker.crt", "-inkey", "broker.key", "-out", "broker.p12",
            "-passout", "pass:p12-secret", cwd=certs)
    openssl("pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-out", "ca.p12", "-passout", "pass:trust",
            cwd=certs)
    b = Broker(tmp_path_factory.mktemp("tls-variants"))
    ports = {name: free_port() for name in ("P12", "INLINE", "TLS13", "CIPHER", "MAPPED")}
    listeners = ",".join(f"{n}://{HOST}:{port}" for n, port in ports.items())
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},{listeners}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,P12:SSL,INLINE:SSL,TLS13:SSL,CIPHER:SSL,MAPPED:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs / "broker.pem"),
        "listener.name.p12.ssl.keystore.type": "PKCS12",
        "listener.name.p12.ssl.keystore.location": str(certs / "broker.p12"),
        "listener.name.p12.ssl.keystore.password": "p12-secret",
        "listener.name.p12.ssl.truststore.type": "PKCS12",
        "listener.name.p12.ssl.truststore.location": str(certs / "ca.p12"),
        "listener.name.p12.ssl.truststore.password": "trust",
        "listener.name.p12.ssl.client.auth": "requested",
        "listener.name.inline.ssl.keystore.certificate.chain": (certs / "broker.crt").read_text(),
        "listener.name.inline.ssl.keystore.key": (certs / "broker.key").read_text(),
        "listener.name.tls13.ssl.enabled.protocols": "TLSv1.3",
        "listener.name.cipher.ssl.enabled.protocols": "TLSv1.2",
        "listener.name.cipher.ssl.cipher.suites": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "listener.name.mapped.ssl.client.auth": "required",
        "listener.name.mapped.ssl.truststore.type": "PEM",
        "listener.name.mapped.ssl.truststore.location": str(certs / "ca.pem"),
        "listener.name.mapped.ssl.principal.mapping.rules": "RULE:^CN=(.*?),O=Samsa,C=US$/$1/L",
    })
    b.start()
    yield b, ports
    _finish_broker(b)


def negotiated(certs, port, max_version=None, cert=None):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if max_version:
        ctx.maximum_version = max_version
    if cert:
        ctx.load_cert_chain(str(certs / f"{cert}.crt"), str(certs / f"{cert}.key"))
    with socket.create_connection((HOST, port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(rk.api_versions_request(0, 1))
            assert len(t.recv(4)) == 4
            return t.version(), t.cipher()[0]


def test_pkcs12_and_inline_pem_key_stores(tls_variants, certs):
    b, ports = tls_variants
    round_trip(ssl_conf(certs, ports["P12"]), n=2)
    round_trip(ssl_conf(certs, ports["INLINE"]), n=2)
    # Client auth "requested": a client with or without a trusted certificate is served, an
    # untrusted one is refused.
    negotiated(certs, ports["P12"], cert="client")
    negotiated(certs, ports["P12"])
    with pytest.raises((ssl.SSLError, ConnectionResetError, AssertionError)):
        negotiated(certs, ports["P12"], cert="rogue")


def test_enabled_protocols_and_cipher_suites(tls_variants, certs):
    b, ports = tls_variants
    assert negotiated(certs, ports["TLS13"])[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        negotiated(certs, ports["TLS13"], max_version=ssl.TLSVersion.TLSv1_2)
    assert negotiated(certs, ports["CIPHER"]) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    assert b.alive()


def test_principal_mapping_rules_refuse_unmapped_subjects(tls_variants, certs):
    """No DEFAULT rule: a trusted certificate whose subject no rule matches is refused, as Kafka
    fails such a login; a matching one is served."""
    b, ports = tls_variants
    negotiated(certs, ports["MAPPED"], cert="client")
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError, AssertionError)):
        negotiated(certs, ports["MAPPED"], cert="other")
    negotiated(certs, ports["MAPPED"], cert="client")
    assert "no ssl.principal.mapping.rules rule applies to CN=other,O=Elsewhere,C=US" in b.log_tail(20000)
