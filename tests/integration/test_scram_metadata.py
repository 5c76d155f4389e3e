"""SCRAM credentials stored salted in the metadata log (KIP-554, KIP-900): `samsa configs
--entity-type users --add-config 'SCRAM-SHA-256=[...]'` (AlterUserScramCredentials through the
controller) makes a user that logs in at once over SASL_PLAINTEXT with confluent-kafka, a wrong
password is refused, --describe prints kafka-configs.sh's lines (DescribeUserScramCredentials),
--delete-config removes it and the login is refused again; the credential survives a restart;
`samsa storage format --add-scram` gives the first start a user; in a three-node quorum a user
added through one broker logs in on the others. The JAAS-config users still log in beside them.
With the StandardAuthorizer, Alter needs ALTER and Describe DESCRIBE on the cluster; raw requests get
Kafka's per-user error codes, and a truncated one only closes its connection.
Every wait is bounded."""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST, SAMSA_BIN, Broker, _finish_broker, free_port
from helpers import storage_formatter, unique_topic

JAAS_512 = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
            'user_bob="bob-secret";')
DEADLINE_S = 20


def sasl_listener_overrides(plain_port, sasl_port):
    return {
        "listeners": f"PLAINTEXT://{HOST}:{plain_port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": JAAS_512,
    }


def make_sasl_broker(data_dir):
    b = Broker(data_dir)
    b.sasl_port = free_port()
    b.overrides.update(sasl_listener_overrides(b.port, b.sasl_port))
    return b


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    b = make_sasl_broker(tmp_path_factory.mktemp("scram"))
    b.start()
    yield b
    _finish_broker(b)


def configs(port, *args, check=True):
    r = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", f"{HOST}:{port}", *args],
                       capture_output=True, timeout=60, text=True)
    if check:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def add_user(port, user, password, mechanism="SCRAM-SHA-256", iterations=8192, check=True):
    return configs(port, "--alter", "--entity-type", "users", "--entity-name", user, "--add-config",
                   f"{mechanism}=[iterations={iterations},password={password}]", check=check)


def describe(port, user=None):
    args = ["--describe", "--entity-type", "users"] + (["--entity-name", user] if user else [])
    return configs(port, *args).stdout.splitlines()


def sasl_conf(port, mechanism, user, password):
    return {"bootstrap.servers": f"{HOST}:{port}", "socket.timeout.ms": 10000, "broker.address.family": "v4",
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": mechanism, "sasl.username": user,
            "sasl.password": password}


def round_trip(conf, n=3):
    """Creates a topic, produces n records and reads them back, all as the SASL user."""
    topic = unique_topic("scram")
    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=DEADLINE_S)
    producer = Producer(conf)
    for i in range(n):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(DEADLINE_S) == 0
    consumer = Consumer(dict(conf, **{"group.id": topic, "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < n and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    consumer.close()
    assert got == [f"v{i}".encode() for i in range(n)]


def auth_error(conf):
    """The first error a client meets while trying to use the broker (bounded wait), or None."""
    errors = []
    admin = AdminClient(dict(conf, error_cb=errors.append))
    deadline = time.monotonic() + DEADLINE_S
    while not errors and time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1)
            return None  # served: logged in
        except Exception:  # noqa: BLE001 - the error callback carries the reason
            pass
        admin.poll(0.2)
    assert errors, "the client saw neither an answer nor an error"
    return errors[0]


def assert_refused(conf):
    err = auth_error(conf)
    assert err is not None, "the login was accepted"
    assert err.code() == KafkaError._AUTHENTICATION, err


def test_added_user_logs_in_at_once_and_deleted_user_is_refused(sasl_broker):
    b = sasl_broker
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "alice-secret"))
    out = add_user(b.port, "alice", "alice-secret").stdout
    assert out.strip() == "Completed updating config for user alice."
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "alice-secret"))
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "wrong"))
    # No SCRAM-SHA-512 credential for alice; the JAAS user bob still logs in.
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "alice", "alice-secret"))
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "bob", "bob-secret"), n=1)
    assert describe(b.port, "alice") == [
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192"]
    add_user(b.port, "alice", "alice-512", mechanism="SCRAM-SHA-512", iterations=4096)
    assert describe(b.port) == [
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, "
        "SCRAM-SHA-512=iterations=4096"]
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "alice", "alice-512"), n=1)
    # A new password replaces the old one at once.
    add_user(b.port, "alice", "alice-new")
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "alice-secret"))
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "alice-new"), n=1)
    out = configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "alice",
                  "--delete-config", "SCRAM-SHA-256").stdout
    assert out.strip() == "Completed updating config for user alice."
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "alice", "alice-new"))
    assert describe(b.port, "alice") == [
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=4096"]
    configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "alice", "--delete-config", "SCRAM-SHA-512")
    assert describe(b.port, "alice") == []
    assert describe(b.port) == []


def console_status(b, user, password):
    from test_console import http
    return http("GET", b.http_url + "/v1/whoami", auth=(user, password))


def wait_console(b, user, password, status):
    """Polls the console's whoami (bounded) until the login answers `status`; the last answer."""
    deadline = time.monotonic() + DEADLINE_S
    got = console_status(b, user, password)
    while got[0] != status and time.monotonic() < deadline:
        time.sleep(0.2)
        got = console_status(b, user, password)
    assert got[0] == status, (user, got[0], got[2])
    return got


def test_console_login_takes_the_metadata_logs_users(sasl_broker):
    """The web console's login looks up SCRAM credentials as the SASL listener does, the metadata
    log's first: a user added with `configs` logs in at once; a new password replaces the old one
    (a login the console had cached included); a deleted credential is refused; the JAAS user still
    logs in."""
    b = sasl_broker
    assert console_status(b, "dora", "dora-secret")[0] == 401
    add_user(b.port, "dora", "dora-secret")
    assert wait_console(b, "dora", "dora-secret", 200)[2]["principal"] == "User:dora"
    assert console_status(b, "dora", "wrong")[0] == 401
    add_user(b.port, "dora", "dora-new")
    wait_console(b, "dora", "dora-secret", 401)
    assert wait_console(b, "dora", "dora-new", 200)[2]["principal"] == "User:dora"
    configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "dora", "--delete-config", "SCRAM-SHA-256")
    wait_console(b, "dora", "dora-new", 401)
    assert console_status(b, "bob", "bob-secret")[2]["principal"] == "User:bob"  # SCRAM-SHA-512 from JAAS


def test_controller_refusals(sasl_broker):
    b = sasl_broker
    r = add_user(b.port, "dave", "x", iterations=100, check=False)
    assert r.returncode != 0 and "Too few iterations" in r.stderr, r.stderr
    r = add_user(b.port, "dave", "x", iterations=20000, check=False)
    assert r.returncode != 0 and "Too many iterations" in r.stderr, r.stderr
    r = configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "dave", "--delete-config",
                "SCRAM-SHA-256", check=False)
    assert r.returncode != 0 and "Attempt to delete a user credential that does not exist" in r.stderr, r.stderr
    r = configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "dave", "--add-config",
                "SCRAM-SHA-256=[iterations=8192]", check=False)
    assert r.returncode != 0 and "password" in r.stderr, r.stderr
    assert describe(b.port, "dave") == []


def test_credential_survives_a_restart(sasl_broker):
    b = sasl_broker
    add_user(b.port, "carol", "carol-secret", mechanism="SCRAM-SHA-512", iterations=4096)
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "carol", "carol-secret"), n=1)
    assert b.restart() == 0
    assert describe(b.port, "carol") == [
        "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-512=iterations=4096"]
    round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "carol", "carol-secret"), n=1)
    assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "carol", "wrong"))


def test_storage_format_add_scram_gives_the_first_start_a_user(tmp_path):
    b = make_sasl_broker(tmp_path / "boot")
    fmt = storage_formatter(b, tmp_path)
    bad = fmt("--add-scram", "SCRAM-SHA-512=[name=admin]")
    assert bad.returncode != 0 and "password" in bad.stderr, bad.stderr
    r = fmt("--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]",
            "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-256,iterations=8192]")
    assert r.returncode == 0, r.stderr
    assert "admin-secret" not in (b.log_dirs / "bootstrap.records").read_text()
    b.start()
    try:
        round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "admin", "admin-secret"), n=1)
        round_trip(sasl_conf(b.sasl_port, "SCRAM-SHA-256", "admin", "admin-256"), n=1)
        assert_refused(sasl_conf(b.sasl_port, "SCRAM-SHA-512", "admin", "wrong"))
        assert describe(b.port, "admin") == [
            "SCRAM credential configs for user-principal 'admin' are SCRAM-SHA-256=iterations=8192, "
            "SCRAM-SHA-512=iterations=4096"]
        # Deleted, it stays deleted across a restart: the bootstrap records only start an empty log.
        configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "admin", "--delete-config",
                "SCRAM-SHA-256")
        assert b.restart() == 0
        assert describe(b.port, "admin") == [
            "SCRAM credential configs for user-principal 'admin' are SCRAM-SHA-512=iterations=4096"]
    finally:
        _finish_broker(b)


def test_user_added_through_one_broker_logs_in_on_the_others(tmp_path):
    from test_quorum_cluster import Cluster
    c = Cluster(tmp_path, 3)
    for node in c.nodes:
        node.sasl_port = free_port()
        node.extra.update({
            "listeners": (f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port},"
                          f"SASL_PLAINTEXT://{HOST}:{node.sasl_port}"),
            "advertised.listeners": f"PLAINTEXT://{HOST}:{node.port},SASL_PLAINTEXT://{HOST}:{node.sasl_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        })
    c.start()
    try:
        leader_id, _ = c.leader()
        via = next(n for n in c.nodes if n.id != leader_id)  # forwarded to the active controller
        deadline = time.monotonic() + 30
        while True:
            r = add_user(via.port, "erin", "erin-secret", check=False)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.returncode == 0, r.stderr + "\n" + c.logs()
        for node in c.nodes:
            deadline = time.monotonic() + 20
            while auth_error(sasl_conf(node.sasl_port, "SCRAM-SHA-256", "erin", "erin-secret")) is not None:
                assert time.monotonic() < deadline, f"erin cannot log in on node {node.id}\n{c.logs()}"
                time.sleep(0.5)
            assert describe(node.port, "erin") == [
                "SCRAM credential configs for user-principal 'erin' are SCRAM-SHA-256=iterations=8192"]
            assert_refused(sasl_conf(node.sasl_port, "SCRAM-SHA-256", "erin", "wrong"))
    finally:
        c.stop()


def test_alter_needs_alter_and_describe_needs_describe_on_the_cluster(tmp_path):
    b = make_sasl_broker(tmp_path / "authz")
    b.overrides.update({
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:bob",  # the JAAS-config SCRAM-SHA-512 user
    })

    def props(user, password):
        p = tmp_path / f"{user}.properties"
        p.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                     f'username="{user}" password="{password}";\n')
        return str(p)

    def as_user(cfg, *args, check=False):
        r = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", f"{HOST}:{b.sasl_port}",
                            "--command-config", cfg, *args], capture_output=True, timeout=60, text=True)
        if check:
            assert r.returncode == 0, r.stderr + r.stdout
        return r

    b.start()
    try:
        bob = props("bob", "bob-secret")
        as_user(bob, "--alter", "--entity-type", "users", "--entity-name", "grace", "--add-config",
                "SCRAM-SHA-512=[iterations=4096,password=grace-secret]", check=True)
        out = as_user(bob, "--describe", "--entity-type", "users", check=True).stdout
        assert out.splitlines() == [
            "SCRAM credential configs for user-principal 'grace' are SCRAM-SHA-512=iterations=4096"]
        # grace logs in (a credential from the metadata) but holds no ACL: refused both ways.
        grace = props("grace", "grace-secret")
        r = as_user(grace, "--alter", "--entity-type", "users", "--entity-name", "grace", "--add-config",
                    "SCRAM-SHA-256=[iterations=4096,password=x]")
        assert r.returncode != 0 and "CLUSTER_AUTHORIZATION_FAILED" in r.stderr, r.stderr
        out = as_user(bob, "--describe", "--entity-type", "users", check=True).stdout
        assert "SCRAM-SHA-256" not in out

        def grant(operation):
            r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", f"{HOST}:{b.sasl_port}",
                                "--command-config", bob, "--add", "--allow-principal", "User:grace",
                                "--operation", operation, "--cluster"], capture_output=True, timeout=60, text=True)
            assert r.returncode == 0, r.stderr + r.stdout

        # The tool describes quotas first (DESCRIBE_CONFIGS), then SCRAM credentials (DESCRIBE).
        grant("DescribeConfigs")
        r = as_user(grace, "--describe", "--entity-type", "users")
        assert r.returncode != 0 and "CLUSTER_AUTHORIZATION_FAILED" in r.stderr, r.stderr
        grant("Describe")
        assert as_user(grace, "--describe", "--entity-type", "users", check=True).stdout.splitlines() == [
            "SCRAM credential configs for user-principal 'grace' are SCRAM-SHA-512=iterations=4096"]
        grant("Alter")
        as_user(grace, "--alter", "--entity-type", "users", "--entity-name", "heidi", "--add-config",
                "SCRAM-SHA-256=[iterations=4096,password=heidi-secret]", check=True)
    finally:
        _finish_broker(b)


def describe_raw(port, users):
    """DescribeUserScramCredentials v0 -> (error_code, [(user, error_code, [(mechanism, iterations)])])."""
    from rawkafka import Conn, Reader, compact_string, frame, request_header, uvarint
    body = (uvarint(0) if users is None else
            uvarint(len(users) + 1) + b"".join(compact_string(u) + b"\x00" for u in users)) + b"\x00"
    with Conn(port, timeout=10.0) as c:
        r = Reader(c.request(frame(request_header(50, 0, 5, flexible=True) + body)))
    assert r.i32() == 5
    r.skip_tags()
    r.i32()  # throttle
    top = r.i16()

    def cstr():
        n = r.uvarint()
        return None if n == 0 else r.take(n - 1).decode()
    cstr()
    results = []
    for _ in range(r.uvarint() - 1):
        user, err = cstr(), r.i16()
        cstr()
        infos = []
        for _ in range(r.uvarint() - 1):
            infos.append((r.take(1)[0], r.i32()))
            r.skip_tags()
        r.skip_tags()
        results.append((user, err, infos))
    return top, results


def alter_raw(port, deletions, upsertions, truncate=0):
    """AlterUserScramCredentials v0 -> [(user, error_code)]; `truncate` cuts the body short."""
    from rawkafka import Conn, Reader, compact_string, frame, i32, request_header, uvarint

    def cbytes(b):
        return uvarint(len(b) + 1) + b
    body = uvarint(len(deletions) + 1) + b"".join(
        compact_string(n) + bytes([m]) + b"\x00" for n, m in deletions)
    body += uvarint(len(upsertions) + 1) + b"".join(
        compact_string(n) + bytes([m]) + i32(it) + cbytes(b"salt") + cbytes(b"salted-password") + b"\x00"
        for n, m, it in upsertions) + b"\x00"
    if truncate:
        body = body[:-truncate]
    with Conn(port, timeout=10.0) as c:
        r = Reader(c.request(frame(request_header(51, 0, 6, flexible=True) + body)))
    assert r.i32() == 6
    r.skip_tags()
    r.i32()
    out = []
    for _ in range(r.uvarint() - 1):
        n = r.uvarint()
        user = r.take(n - 1).decode()
        err = r.i16()
        r.take(max(r.uvarint() - 1, 0))
        r.skip_tags()
        out.append((user, err))
    return out


def test_raw_error_codes_and_a_truncated_request(sasl_broker):
    from rawkafka import Closed
    b = sasl_broker
    add_user(b.port, "ivan", "ivan-secret")
    top, results = describe_raw(b.port, ["ivan", "nobody", "zed", "zed"])
    assert top == 0
    assert results == [("ivan", 0, [(1, 8192)]), ("nobody", 91, []), ("zed", 92, [])]
    every = describe_raw(b.port, None)[1]  # every user with a credential (earlier tests' too)
    assert ("ivan", 0, [(1, 8192)]) in every and all(err == 0 and infos for _, err, infos in every)
    got = dict(alter_raw(b.port, [("ivan", 1), ("judy", 2)],
                         [("ivan", 1, 4096), ("kim", 3, 4096), ("", 1, 4096), ("leo", 2, 4095)]))
    assert got == {"ivan": 92, "judy": 91, "kim": 33, "": 93, "leo": 93}
    assert describe_raw(b.port, ["ivan"])[1] == [("ivan", 0, [(1, 8192)])]  # nothing changed
    with pytest.raises((Closed, OSError, AssertionError)):
        alter_raw(b.port, [], [("mia", 1, 4096)], truncate=3)
    assert b.alive()
    configs(b.port, "--alter", "--entity-type", "users", "--entity-name", "ivan", "--delete-config", "SCRAM-SHA-256")
