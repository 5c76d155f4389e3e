"""SASL/OAUTHBEARER with signed tokens (issue 15): the broker runs Kafka's
OAuthBearerValidatorCallbackHandler settings — `sasl.oauthbearer.jwks.endpoint.url`, expected
audience and issuer — and checks RS256 and ES256 tokens against the identity provider's JWKS.

The test is the identity provider: it makes an RSA and an EC key with python3-cryptography, serves
the JWKS over HTTP on loopback (and writes it to a file for the file: URL) and signs tokens.
confluent-kafka hands its tokens over through `oauth_cb`; refusals are checked on a raw
connection, which sees RFC 7628's error challenge. A key the provider adds later (rotation) is
picked up: a token naming an unknown key id makes the broker fetch the JWKS again."""

import base64
import http.server
import json
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from conftest import HOST, Broker, _finish_broker, free_port
from helpers import samsa_tool, tools_round_trip, unique_topic
from test_oauthbearer import raw_login

VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
ISSUER = "https://idp.samsa.test"
AUDIENCE = "samsa-cluster"
DEADLINE_S = 20


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


class Key:
    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(uint(pub.n)),
                        "e": b64(uint(pub.e))}
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(uint(pub.x, 32)),
                        "y": b64(uint(pub.y, 32))}

    def sign(self, data):
        if self.kind == "RSA":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return uint(r, 32) + uint(s, 32)

    def token(self, sub="alice", lifetime=600, header=None, **claims):
        now = int(time.time())
        h = {"alg": "RS256" if self.kind == "RSA" else "ES256", "typ": "JWT", "kid": self.kid}
        h.update(header or {})
        body = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + lifetime}
        body.update(claims)
        signed = b64(json.dumps(h).encode()) + "." + b64(json.dumps(body).encode())
        return signed + "." + b64(self.sign(signed.encode()))


class Provider:
    """The identity provider's JWKS, served at http://127.0.0.1:<port>/jwks and written to a file."""

    def __init__(self, directory):
        self.keys = [Key("RSA", "rsa-1"), Key("EC", "ec-1")]
        self.file = directory / "jwks.json"
        self.fetches = 0
        self.token_requests = []
        self.write()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                # The OAuth client credentials grant (RFC 6749 4.4) for the tools.
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(p.split("=", 1) for p in self.rfile.read(length).decode().split("&") if "=" in p)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(b"tool:tool-secret").decode()
                provider.token_requests.append(form)
                if self.path != "/token" or auth != expected or form.get("grant_type") != "client_credentials":
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"access_token": provider.keys[0].token(sub="tool"), "token_type": "Bearer",
                                   "expires_in": 600}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                provider.fetches += 1
                body = json.dumps({"keys": [k.jwk for k in provider.keys]}).encode()
                self.send_response(200 if self.path == "/jwks" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/jwks"
        self.token_url = f"http://{HOST}:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def write(self):
        self.file.write_text(json.dumps({"keys": [k.jwk for k in self.keys]}))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    p = Provider(tmp_path_factory.mktemp("idp"))
    yield p
    p.close()


def start_broker(tmp_path_factory, name, jwks_url):
    b = Broker(tmp_path_factory.mktemp(name))
    b.sasl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SASL_PLAINTEXT://{HOST}:{b.sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
        "sasl.oauthbearer.jwks.endpoint.url": jwks_url,
        "sasl.oauthbearer.expected.audience": AUDIENCE,
        "sasl.oauthbearer.expected.issuer": ISSUER,
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms": "50",
        "connections.max.reauth.ms": "3600000",  # KIP-368 on: a session ends with its token
    })
    b.start()
    return b


@pytest.fixture(scope="module")
def http_broker(tmp_path_factory, provider):
    b = start_broker(tmp_path_factory, "jwks-http", provider.url)
    yield b
    _finish_broker(b)


def accepted(b, token):
    error, message, server, lifetime = raw_login(b, token)
    return error == 0 and server == b""


def refused(b, token):
    """A refused token gets RFC 7628's error challenge (then the exchange fails)."""
    error, message, server, lifetime = raw_login(b, token)
    return error == 0 and server != b"" and json.loads(server) == {"status": "invalid_token"}


def test_confluent_kafka_with_signed_tokens_produces_and_consumes(http_broker, provider):
    b = http_broker
    rsa_key = provider.keys[0]
    calls = []

    def oauth_cb(config):
        calls.append(config)
        return rsa_key.token(sub="alice"), time.time() + 600

    conf = {"bootstrap.servers": f"{HOST}:{b.sasl_port}", "broker.address.family": "v4",
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER", "oauth_cb": oauth_cb,
            "socket.timeout.ms": 10000}
    topic = unique_topic("jwks")
    p = Producer(conf)
    for i in range(5):
        p.produce(topic, value=f"signed-{i}".encode())
    assert p.flush(DEADLINE_S) == 0
    c = Consumer({**conf, "group.id": topic, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, deadline = [], time.monotonic() + DEADLINE_S
    while len(got) < 5 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert got == [f"signed-{i}".encode() for i in range(5)]
    assert calls, "the client never asked for a token"


def test_rs256_and_es256_accepted_and_each_bad_token_refused(http_broker, provider):
    b = http_broker
    rsa_key, ec_key = provider.keys[0], provider.keys[1]
    stranger = Key("RSA", "rsa-1")  # same key id, a key the provider never published
    assert accepted(b, rsa_key.token())
    assert accepted(b, ec_key.token(sub="bob"))
    error, _, _, lifetime = raw_login(b, rsa_key.token(lifetime=60))
    assert error == 0 and 0 < lifetime <= 60000  # the session ends with the token (KIP-368)
    bad = {
        "signed by another key": stranger.token(),
        "expired": rsa_key.token(lifetime=-120),
        "another audience": rsa_key.token(aud="someone-else"),
        "another issuer": rsa_key.token(iss="https://evil.test"),
        "no subject": rsa_key.token(sub=None),
        "not yet valid": rsa_key.token(nbf=int(time.time()) + 3600),
        "alg none": rsa_key.token(header={"alg": "none"}),
        "HMAC": rsa_key.token(header={"alg": "HS256"}),
        "EC key named for RS256": ec_key.token(header={"alg": "RS256"}),
    }
    for why, token in bad.items():
        assert refused(b, token), f"a token {why} was not refused"
    # Unsecured tokens are not accepted by a JWKS listener.
    now = int(time.time())
    unsecured = b64(b'{"alg":"none"}') + "." + b64(json.dumps({"sub": "alice", "exp": now + 60}).encode()) + "."
    assert refused(b, unsecured)
    assert b.alive()


def test_a_key_added_by_the_provider_is_picked_up(http_broker, provider):
    b = http_broker
    rotated = Key("RSA", "rsa-2")
    assert refused(b, rotated.token())  # not published yet
    provider.keys.append(rotated)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not accepted(b, rotated.token()):
            assert time.monotonic() < deadline, "the broker never fetched the provider's new key"
            time.sleep(0.2)
    finally:
        provider.keys.remove(rotated)


def test_a_jwks_file_url(tmp_path_factory, provider):
    b = start_broker(tmp_path_factory, "jwks-file", f"file://{provider.file}")
    try:
        assert accepted(b, provider.keys[0].token())
        assert refused(b, Key("RSA", "rsa-1").token())
    finally:
        _finish_broker(b)


def test_an_unreachable_jwks_stops_the_start_with_its_reason(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("jwks-missing"))
    sasl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
        "sasl.oauthbearer.jwks.endpoint.url": "file:///nonexistent/jwks.json",
    })
    import subprocess
    r = subprocess.run(b.command(), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "JWKS file:///nonexistent/jwks.json: cannot read /nonexistent/jwks.json" in r.stderr, r.stderr[-2000:]


def tool_properties(path, provider, secret="tool-secret"):
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=OAUTHBEARER\n"
        "sasl.login.callback.handler.class="
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n"
        f"sasl.oauthbearer.token.endpoint.url={provider.token_url}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \\\n"
        f"    clientId=\"tool\" clientSecret=\"{secret}\" scope=\"kafka\";\n")
    return path


def test_tools_log_in_with_the_client_credentials_grant(http_broker, provider, tmp_path):
    """The tools take a Java client's OAuthBearerLoginCallbackHandler properties: they fetch a token
    from the endpoint (client id and secret in HTTP Basic, scope in the form) and log in with it,
    through librdkafka (console producer and consumer, topics --create) and through Samsa's own
    protocol client (topics --list)."""
    b = http_broker
    props = tool_properties(tmp_path / "client.properties", provider)
    bootstrap = f"{HOST}:{b.sasl_port}"
    topic = unique_topic("oauth-tool")
    samsa = samsa_tool
    tools_round_trip(bootstrap, props, topic)
    r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(props), "--list")
    assert r.returncode == 0, r.stderr
    assert topic.encode() in r.stdout.split()
    assert provider.token_requests and all(f.get("scope") == "kafka" for f in provider.token_requests)
    # A wrong client secret: the endpoint refuses it and the tool says so instead of hanging.
    bad = tool_properties(tmp_path / "bad.properties", provider, secret="nope")
    for args in (("--list",), ("--create", "--topic", unique_topic("never"), "--partitions", "1")):
        r = samsa("topics", "--bootstrap-server", bootstrap, "--command-config", str(bad), *args)
        assert r.returncode != 0
        assert b"token endpoint" in r.stderr and b"401" in r.stderr, r.stderr
