"""SASL/OAUTHBEARER (KIP-255) with Kafka's default server-side validation: unsecured JWS tokens, the
`sub` claim as the principal, `exp` checked, required scopes (unsecuredValidatorRequiredScope).
librdkafka (confluent-kafka) makes its own unsecured tokens (enable.sasl.oauthbearer.unsecure.jwt);
kafka-python sends the tokens a test hands it, so a signed or expired one can be tried. With the
standard authorizer the token's subject is the principal the ACLs see."""

import base64
import json
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST, SAMSA_BIN, Broker, _finish_broker, free_port
from helpers import unique_topic
from test_scram_metadata import auth_error

DEADLINE_S = 20
JAAS = ('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required '
        'unsecuredValidatorRequiredScope="kafka";')


@pytest.fixture(scope="module")
def oauth_broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("oauth"))
    b.sasl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SASL_PLAINTEXT://{HOST}:{b.sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": JAAS,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin;User:ANONYMOUS",  # ANONYMOUS: the PLAINTEXT listener (set-up, the acls tool)
        "connections.max.reauth.ms": "3600000",  # KIP-368 on: a session ends with its token
    })
    b.start()
    yield b
    _finish_broker(b)


def oauth_conf(b, principal, scope="kafka"):
    return {"bootstrap.servers": f"{HOST}:{b.sasl_port}", "broker.address.family": "v4",
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER",
            "enable.sasl.oauthbearer.unsecure.jwt": True,
            "sasl.oauthbearer.config": f"principal={principal} scope={scope}", "socket.timeout.ms": 10000}


def produce_one(conf, topic):
    """Produces one record; the delivery error (a KafkaError) or None."""
    results = []
    p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
    p.produce(topic, value=b"x", on_delivery=lambda err, msg: results.append(err))
    p.flush(DEADLINE_S)
    assert len(results) == 1
    return results[0]


def test_an_unsecured_token_logs_in_and_its_subject_is_the_principal(oauth_broker):
    b = oauth_broker
    admin_conf = oauth_conf(b, "admin")
    topic = unique_topic("oauth")
    admin = AdminClient(admin_conf)  # kept: the futures need their client alive
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=DEADLINE_S)
    assert produce_one(admin_conf, topic) is None
    c = Consumer(dict(admin_conf, **{"group.id": topic, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got, deadline = None, time.monotonic() + DEADLINE_S
    while got is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got = m.value()
    c.close()
    assert got == b"x"
    # alice is authenticated (no login error) but not authorized until an ACL names User:alice.
    alice = oauth_conf(b, "alice")
    assert auth_error(alice) is None
    err = produce_one(alice, topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", f"{HOST}:{b.port}", "--add",
                        "--allow-principal", "User:alice", "--operation", "Write", "--topic", topic],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + DEADLINE_S
    while produce_one(alice, topic) is not None:
        assert time.monotonic() < deadline, "the ACL for User:alice never took effect"
        time.sleep(0.3)


def test_a_token_without_the_required_scope_is_refused(oauth_broker):
    err = auth_error(oauth_conf(oauth_broker, "admin", scope="other"))
    assert err is not None and err.code() == KafkaError._AUTHENTICATION, err


def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


class Tokens:
    """kafka-python's token provider interface: token() returns the compact JWS to send."""

    def __init__(self, token):
        self._token = token

    def token(self):
        return self._token

    def extensions(self):
        return {}


def kafka_python_topics(b, token):
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=f"{HOST}:{b.sasl_port}", security_protocol="SASL_PLAINTEXT",
                      sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=Tokens(token),
                      request_timeout_ms=11000, session_timeout_ms=10000, api_version_auto_timeout_ms=10000)
    try:
        return c.topics()
    finally:
        c.close()


def test_kafka_python_tokens_signed_or_expired_are_refused(oauth_broker):
    b = oauth_broker
    now = int(time.time())
    good = {"sub": "admin", "iat": now, "exp": now + 600, "scope": "kafka"}
    topics = kafka_python_topics(b, b64url({"alg": "none"}) + "." + b64url(good) + ".")
    assert isinstance(topics, set)
    for header, claims in (({"alg": "RS256"}, good), ({"alg": "none"}, dict(good, exp=now - 60)),
                           ({"alg": "none"}, {k: v for k, v in good.items() if k != "sub"})):
        with pytest.raises(Exception) as refused:
            kafka_python_topics(b, b64url(header) + "." + b64url(claims) + ".")
        text = f"{type(refused.value).__name__}: {refused.value}"
        assert "Authentication" in text or "NoBrokersAvailable" in text, text


def raw_login(b, token):
    """SaslHandshake v1 + SaslAuthenticate v1 over a raw connection ->
    (error code, error message, server's bytes, session_lifetime_ms)."""
    from rawkafka import Conn, Reader, frame, i32, request_header, string
    with Conn(b.sasl_port) as conn:
        r = Reader(conn.request(frame(request_header(17, 1, 1) + string("OAUTHBEARER")))[4:])
        assert r.i16() == 0
        msg = f"n,,\x01auth=Bearer {token}\x01\x01".encode()
        r = Reader(conn.request(frame(request_header(36, 1, 2) + i32(len(msg)) + msg))[4:])
        error, message = r.i16(), r.string()
        server = r.take(r.i32())
        return error, message, server, r.i64()


def test_the_session_ends_with_the_token_and_a_refusal_says_invalid_token(oauth_broker):
    """KIP-368 with connections.max.reauth.ms (1 h): a token that expires in 30 s gives a session of
    at most 30 s. A refused token is answered with RFC 7628's error challenge first."""
    now = time.time()
    claims = {"sub": "admin", "iat": int(now), "exp": int(now) + 30, "scope": "kafka"}
    error, _, server, lifetime = raw_login(oauth_broker, b64url({"alg": "none"}) + "." + b64url(claims) + ".")
    assert error == 0 and server == b""
    assert 20000 < lifetime <= 30000, lifetime
    error, _, server, _ = raw_login(oauth_broker, b64url({"alg": "HS256"}) + "." + b64url(claims) + ".")
    assert error == 0 and json.loads(server) == {"status": "invalid_token"}


def test_tools_take_oauthbearer_login_module_properties(oauth_broker, tmp_path):
    """A Java client's unsecured OAuthBearerLoginModule entry (unsecuredLoginStringClaim_sub, the
    scope list whose first character is its separator) works with the tools: librdkafka makes the
    token (console producer) and so does Samsa's own protocol client (topics --list). A token
    without the required scope is refused."""
    b = oauth_broker
    bootstrap = f"{HOST}:{b.sasl_port}"

    def props(name, scope_list):
        p = tmp_path / name
        p.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                     f"required unsecuredLoginStringClaim_sub=\"admin\" unsecuredLoginListClaim_scope=\"{scope_list}\";\n")
        return p

    def samsa(*args, **kw):
        return subprocess.run([str(SAMSA_BIN), *args], capture_output=True, timeout=60, **kw)

    good = props("good.properties", "|read|kafka")
    topic = unique_topic("oauth-tool")
    r = samsa("console-producer", "--bootstrap-server", bootstrap, "--producer.config", str(good),
              "--topic", topic, input=b"a\nb\n")
    assert r.returncode == 0, r.stderr
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(good), "--list")
    assert r.returncode == 0, r.stderr
    assert topic.encode() in r.stdout.split()
    bad = props("bad.properties", ",read")
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(bad), "--list")
    assert r.returncode != 0
    assert b"refused" in r.stderr or b"Authentication failed" in r.stderr, r.stderr
