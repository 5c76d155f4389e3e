"""The built-in web console (src/console/web, served on http.listeners) and the JSON endpoints it
uses. The first test drives the console in headless Chromium (Debian's /usr/bin/chromium, driven
by playwright-core pinned in js/package-lock.json): it creates a topic, alters a config, produces
a record and finds it in the message browser, watches the lag of a confluent-kafka group that
committed and stopped, and resets the group's offsets after a preview; no console error may
appear, and screenshots of the main pages are saved in the test's tmp dir. The others check the
endpoints with plain HTTP: Kafka's errors for bad writes, bounds on bad input, and the login
and ACLs when the broker uses SASL."""

import base64
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import HOST, Broker, _finish_broker, free_port
from helpers import base_conf, group_consumer, consume_n, unique_topic

JS_DIR = Path(__file__).resolve().parent / "js"
CHROMIUM = Path("/usr/bin/chromium")
HTTP_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


def http(method, url, fields=None, auth=None, console_header=True):
    """(status, headers, body as JSON when it is JSON else text); 4xx/5xx do not raise. Changes
    carry the X-Samsa-Console header, as the console's pages send it."""
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if console_header and method not in ("GET", "HEAD"):
        req.add_header("X-Samsa-Console", "1")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=HTTP_TIMEOUT_S) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode("utf-8", "replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def run_console_ui(args, timeout=180):
    cmd = ["node", str(JS_DIR / "console_ui.js"), json.dumps(args)]
    r = subprocess.run(cmd, cwd=JS_DIR, capture_output=True, timeout=timeout)
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"console_ui.js exited {r.returncode}\nstdout:\n{out}\nstderr:\n{err[-8000:]}"
    results = [line[len("RESULT "):] for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 1, f"console_ui.js printed no RESULT line\nstdout:\n{out}\nstderr:\n{err}"
    res = json.loads(results[0])
    assert "failure" not in res, f"{res['failure']}\n(screenshots in {args['shots']})"
    assert res["errors"] == [], f"errors in the browser: {res['errors']}"
    return res


def produce_values(bootstrap, topic, count, partitions):
    p = Producer(base_conf(bootstrap))
    for i in range(count):
        p.produce(topic, value=f"v{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0


@pytest.fixture(scope="module")
def browser_tools():
    """Debian's chromium and the pinned playwright-core (js/setup.sh installs it once)."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run `make deps` (scripts/install-deps.sh installs Debian's chromium)")
    r = subprocess.run(["bash", str(JS_DIR / "setup.sh")], capture_output=True, timeout=300)
    assert r.returncode == 0, f"js/setup.sh failed:\n{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}"
    version = json.loads((JS_DIR / "node_modules" / "playwright-core" / "package.json").read_text())["version"]
    assert version == "1.65.2"


def test_console_in_browser(broker, browser_tools, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    topic = unique_topic("console")
    value = json.dumps({"order": 42, "item": "book"})
    base = {"url": broker.http_url, "shots": str(shots), "topic": topic}

    res = run_console_ui({**base, "phase": "topic", "value": value})
    assert res["partitionRows"] == 2
    assert res["retentionSource"] == "DYNAMIC_TOPIC_CONFIG"
    assert res["produced"] == f"Written to {topic}-0 at offset 0"
    assert "console-key" in res["recordText"] and '"order": 42' in res["recordText"]
    assert "origin: console" in res["recordText"]
    assert res["jsonShown"] == 1
    assert res["tailRows"] == ["0", "1"]  # the live tail appended the record produced after the load
    # What the browser wrote is what a Kafka client reads.
    c = Consumer({**base_conf(broker.bootstrap), "group.id": f"check-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    msgs = consume_n(c, 1)
    c.close()
    assert [(m.key(), m.value(), m.headers()) for m in msgs] == [(b"console-key", value.encode(),
                                                                   [("origin", b"console")])]

    # A group that consumes everything (2 + 10 records), commits and stops; then 6 more: lag 6.
    produce_values(broker.bootstrap, topic, 10, 2)
    group = f"console-group-{uuid.uuid4().hex[:6]}"
    g = group_consumer(broker.bootstrap, group)
    g.subscribe([topic])
    assert len(consume_n(g, 12)) == 12
    g.commit(asynchronous=False)
    g.close()
    produce_values(broker.bootstrap, topic, 6, 2)

    res = run_console_ui({**base, "phase": "group", "group": group, "expectLag": 6, "expectLagAfter": 18})
    assert res["lagBefore"] == "6"
    # The preview lists both partitions going to offset 0 from where the group committed.
    preview = {row[0]: row for row in res["preview"]}
    assert set(preview) == {"0", "1"}
    assert all(row[2] == "0" for row in preview.values())
    assert sorted(int(row[1]) for row in preview.values()) == [5, 7]  # 2+5 and 5 consumed
    assert res["lagAfter"] == "18"
    # The reset is the group's committed offsets, as a Kafka client sees them.
    c = Consumer({**base_conf(broker.bootstrap), "group.id": group, "enable.auto.commit": False})
    committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=15)
    c.close()
    assert [tp.offset for tp in committed] == [0, 0]
    for name in ("overview", "topics", "topic", "messages", "group", "throughput"):
        assert (shots / f"{name}.png").stat().st_size > 10_000, name


def test_console_pages_are_built_in(broker):
    status, headers, _ = http("GET", broker.http_url + "/")
    assert status == 302 and headers["Location"] == "/console/"
    status, headers, body = http("GET", broker.http_url + "/console/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<script src=\"app.js\"></script>" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name, ctype in (("app.js", "text/javascript"), ("console.css", "text/css"), ("favicon.svg", "image/svg+xml")):
        status, headers, _ = http("GET", broker.http_url + "/console/" + name)
        assert status == 200 and headers["Content-Type"].startswith(ctype), name
    assert http("GET", broker.http_url + "/console/nope.js")[0] == 404
    assert http("POST", broker.http_url + "/console/", {})[0] == 405
    assert http("GET", broker.http_url + "/v1/whoami")[2] == {"principal": "User:ANONYMOUS", "login_required": False}


def test_console_writes_answer_with_kafka_errors(broker):
    url = broker.http_url
    topic = unique_topic("console-api")
    ok = {"name": topic, "error": "NONE", "message": None}
    assert http("POST", url + "/v1/topics", {"name": topic, "partitions": 2, "replication_factor": 1})[2] == ok
    st, _, body = http("POST", url + "/v1/topics", {"name": topic, "partitions": 2})
    assert st == 200 and body["error"] == "TOPIC_ALREADY_EXISTS"
    assert http("POST", url + "/v1/topics", {"name": "bad/name", "partitions": 1})[2]["error"] == "INVALID_TOPIC_EXCEPTION"
    assert http("POST", url + "/v1/topics", {"name": unique_topic("z"), "partitions": 0})[2]["error"] == "INVALID_PARTITIONS"
    body = http("POST", url + f"/v1/topics/{topic}/configs", {"set": "no.such.config=1"})[2]
    assert body["error"] == "INVALID_CONFIG"
    assert http("POST", url + f"/v1/topics/{topic}/configs", {"set": "cleanup.policy=compact"})[2]["error"] == "NONE"
    configs = {c["name"]: c for c in http("GET", url + f"/v1/topics/{topic}/configs")[2]["configs"]}
    assert configs["cleanup.policy"]["value"] == "compact"
    assert configs["cleanup.policy"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert http("POST", url + f"/v1/topics/{topic}/configs", {"delete": "cleanup.policy"})[2]["error"] == "NONE"
    assert http("POST", url + f"/v1/topics/{topic}/partitions", {"count": 1})[2]["error"] == "INVALID_PARTITIONS"
    assert http("POST", url + f"/v1/topics/{topic}/partitions", {"count": 3})[2]["error"] == "NONE"

    # Produce then browse by offset, by timestamp and from the end.
    before = int(time.time() * 1000) - 1000
    for i in range(3):
        body = http("POST", url + f"/v1/topics/{topic}/records",
                    {"partition": 2, "key": f"k{i}", "value": f"value {i}", "headers": "a=1\nb=2"})[2]
        assert body["error"] == "NONE" and body["offset"] == i
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=2&offset=1&limit=1")[2]
    assert [r["offset"] for r in body["records"]] == [1] and body["next_offset"] == 2
    rec = body["records"][0]
    assert base64.b64decode(rec["key"]) == b"k1" and base64.b64decode(rec["value"]) == b"value 1"
    assert [(h["key"], base64.b64decode(h["value"])) for h in rec["headers"]] == [("a", b"1"), ("b", b"2")]
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=2&timestamp={before}")[2]
    assert [r["offset"] for r in body["records"]] == [0, 1, 2]
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=2&limit=2")[2]
    assert [r["offset"] for r in body["records"]] == [1, 2] and body["high_watermark"] == 3
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=2&timestamp={int(time.time() * 1000) + 60000}")[2]
    assert body["records"] == [] and body["start_offset"] == 3
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=7&offset=0")[2]
    assert body["error"] == "UNKNOWN_TOPIC_OR_PARTITION"
    body = http("POST", url + f"/v1/topics/{topic}/records", {"partition": 9, "value": "x"})[2]
    assert body["error"] == "UNKNOWN_TOPIC_OR_PARTITION"

    # Bad input: 400, never a crash; wrong methods 405.
    assert http("GET", url + f"/v1/topics/{topic}/records?partition=abc")[0] == 400
    assert http("GET", url + f"/v1/topics/{topic}/records?partition=0&limit=99999999999999999999")[0] == 200
    assert http("PUT", url + f"/v1/topics/{topic}/records", {})[0] == 405
    assert http("GET", url + "/v1/group/offsets")[0] == 405
    assert http("POST", url + "/v1/group/offsets", {"group": "g", "topic": topic, "to": "sideways"})[0] == 400
    assert http("GET", url + "/v1/group")[0] == 400

    # A change without the console's header (a form posted by another site: CSRF) is refused.
    st, _, body = http("DELETE", url + f"/v1/topics/{topic}", console_header=False)
    assert st == 403 and "X-Samsa-Console" in body["message"]
    assert http("POST", url + "/v1/topics", {"name": unique_topic("csrf"), "partitions": 1}, console_header=False)[0] == 403
    assert http("DELETE", url + f"/v1/topics/{topic}")[2]["error"] == "NONE"
    assert http("DELETE", url + f"/v1/topics/{topic}")[2]["error"] == "UNKNOWN_TOPIC_OR_PARTITION"


def test_console_reset_refused_while_the_group_is_active(broker):
    url = broker.http_url
    topic = unique_topic("console-active")
    assert http("POST", url + "/v1/topics", {"name": topic, "partitions": 1})[2]["error"] == "NONE"
    produce_values(broker.bootstrap, topic, 5, 1)
    group = f"console-active-{uuid.uuid4().hex[:6]}"
    g = group_consumer(broker.bootstrap, group)
    try:
        g.subscribe([topic])
        assert len(consume_n(g, 5)) == 5
        g.commit(asynchronous=False)
        body = http("GET", url + "/v1/group?" + urllib.parse.urlencode({"group": group}))[2]
        assert body["state"] == "Stable" and len(body["members"]) == 1
        assert body["members"][0]["assignment"] == [{"topic": topic, "partitions": [0]}]
        fields = {"group": group, "topic": topic, "to": "offset", "offset": 99}
        body = http("POST", url + "/v1/group/offsets", fields)[2]
        assert body["applied"] is False and body["inactive"] is False
        assert [(p["current_offset"], p["new_offset"]) for p in body["partitions"]] == [(5, 5)]  # clamped to the end
        body = http("POST", url + "/v1/group/offsets", {**fields, "apply": "true"})[2]
        assert body["applied"] is False and body["error"] == "GROUP_NOT_EMPTY"
    finally:
        g.close()


# ---- login and ACLs -------------------------------------------------------------------------

USERS = {"admin": "admin-secret", "alice": "alice-secret"}
SCRAM_USERS = {"carol": "carol-secret"}


def jaas(module, users):
    return (f"org.apache.kafka.common.security.{module} required "
            + " ".join(f'user_{u}="{p}"' for u, p in users.items()) + ";")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("console-sasl"))
    sasl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas("plain.PlainLoginModule", USERS),
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": jaas("scram.ScramLoginModule", SCRAM_USERS),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin;User:ANONYMOUS",  # ANONYMOUS: the PLAINTEXT listener of the fixture's readiness check
    })
    b.start()
    yield b
    _finish_broker(b)


def test_console_asks_for_a_login_when_sasl_is_on(secured):
    url = secured.http_url
    status, headers, _ = http("GET", url + "/v1/cluster")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    assert http("GET", url + "/v1/cluster", auth=("alice", "wrong"))[0] == 401
    assert http("GET", url + "/v1/cluster", auth=("mallory", "x"))[0] == 401
    assert http("POST", url + "/v1/topics", {"name": "t", "partitions": 1})[0] == 401
    # The pages themselves, the probes and the scrape stay open.
    assert http("GET", url + "/console/")[0] == 200
    assert http("GET", url + "/v1/health/live")[0] == 200
    assert http("GET", url + "/metrics")[0] == 200
    assert http("GET", url + "/v1/whoami", auth=("alice", "alice-secret"))[2]["principal"] == "User:alice"
    assert http("GET", url + "/v1/whoami", auth=("carol", "carol-secret"))[2]["principal"] == "User:carol"  # SCRAM
    assert http("GET", url + "/v1/whoami", auth=("carol", "nope"))[0] == 401


def test_console_login_in_browser(secured, browser_tools, tmp_path):
    topic = unique_topic("console-login")
    assert http("POST", secured.http_url + "/v1/topics", {"name": topic, "partitions": 1},
                auth=("admin", "admin-secret"))[2]["error"] == "NONE"
    res = run_console_ui({"phase": "login", "url": secured.http_url, "shots": str(tmp_path), "topic": topic,
                          "credentials": {"username": "admin", "password": "admin-secret"}})
    assert res["who"] == "User:admin"


def test_console_honours_acls(secured):
    url = secured.http_url
    admin, alice = ("admin", "admin-secret"), ("alice", "alice-secret")
    topic = unique_topic("console-acl")
    body = http("POST", url + "/v1/topics", {"name": topic, "partitions": 1}, auth=alice)[2]
    assert body["error"] == "TOPIC_AUTHORIZATION_FAILED"
    assert http("POST", url + "/v1/topics", {"name": topic, "partitions": 1}, auth=admin)[2]["error"] == "NONE"
    body = http("POST", url + f"/v1/topics/{topic}/records", {"partition": 0, "value": "x"}, auth=alice)[2]
    assert body["error"] == "TOPIC_AUTHORIZATION_FAILED"
    body = http("GET", url + f"/v1/topics/{topic}/records?partition=0", auth=alice)[2]
    assert body["error"] == "TOPIC_AUTHORIZATION_FAILED" and body["records"] == []
    assert http("DELETE", url + f"/v1/topics/{topic}", auth=alice)[2]["error"] == "TOPIC_AUTHORIZATION_FAILED"
    body = http("POST", url + f"/v1/topics/{topic}/records", {"partition": 0, "value": "x"}, auth=admin)[2]
    assert body["error"] == "NONE"
    assert len(http("GET", url + f"/v1/topics/{topic}/records?partition=0", auth=admin)[2]["records"]) == 1


def test_console_lists_only_what_the_user_may_describe(secured):
    url = secured.http_url
    admin, alice = ("admin", "admin-secret"), ("alice", "alice-secret")
    topic = unique_topic("console-hidden")
    assert http("POST", url + "/v1/topics", {"name": topic, "partitions": 1}, auth=admin)[2]["error"] == "NONE"
    names = lambda who: [t["name"] for t in http("GET", url + "/v1/topics?search=console-hidden", auth=who)[2]["topics"]]
    assert topic in names(admin)
    assert names(alice) == []
    assert http("GET", url + f"/v1/topics/{topic}", auth=alice)[0] == 403
    assert http("GET", url + f"/v1/topics/{topic}", auth=admin)[0] == 200
