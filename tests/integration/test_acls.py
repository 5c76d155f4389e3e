"""Authorization (Kafka's StandardAuthorizer semantics) with SASL/PLAIN principals.

One broker with a SASL_PLAINTEXT listener (users admin, alice, bob), the standard authorizer and
`super.users=User:admin`. ACLs are managed with `samsa acls` (kafka-acls.sh's flags) as the super
user; alice and bob use real clients (confluent-kafka) and are refused what their ACLs do not
allow, with Kafka's error codes. ACLs live in the metadata log: they survive a restart."""

import subprocess
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST, SAMSA_BIN, Broker, _finish_broker, free_port
from helpers import unique_topic

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'username="admin" password="admin-secret" '
              + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")
DEADLINE_S = 20
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    d = tmp_path_factory.mktemp("acls")
    b = Broker(d)
    sasl_port = free_port()
    b.overrides.update({
        "listeners": f"PLAINTEXT://{HOST}:{b.port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.jaas.config": PLAIN_JAAS,
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin",
    })
    for user, password in USERS.items():
        (d / f"{user}.properties").write_text(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{user}" password="{password}";\n')
    b.start()
    b.sasl_port = sasl_port
    b.props_dir = d
    yield b
    _finish_broker(b)


def conf(b, user, **extra):
    c = {"bootstrap.servers": f"{HOST}:{b.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
         "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": USERS[user],
         "socket.timeout.ms": 10000, "broker.address.family": "v4"}
    c.update(extra)
    return c


def acls(b, *args, user="admin", check=True):
    r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", f"{HOST}:{b.sasl_port}",
                        "--command-config", str(b.props_dir / f"{user}.properties"), *args],
                       capture_output=True, timeout=60, text=True)
    if check:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def create_topic(b, topic, user="admin"):
    admin = AdminClient(conf(b, user))
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=DEADLINE_S)


def produce_error(b, user, topic, **extra):
    """The delivery error of one record (None: delivered)."""
    errors = []
    p = Producer(conf(b, user, **{"message.timeout.ms": 8000, **extra}))
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: errors.append(err))
    p.flush(DEADLINE_S)
    assert errors, "no delivery report"
    return errors[0]


def consume(b, user, topic, group=None, n=1):
    """Reads up to n records from the start (assign, or subscribe with a group): (values, first error)."""
    c = Consumer(conf(b, user, **{"group.id": group or f"g-{topic}", "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest"}))
    if group:
        c.subscribe([topic])
    else:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, error = [], None
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < n and error is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                error = m.error()
        else:
            got.append(m.value())
    c.close()
    return got, error


def test_a_principal_without_rights_is_refused_produce_and_fetch(secured):
    topic = unique_topic("acl")
    create_topic(secured, topic)
    err = produce_error(secured, "alice", topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    got, err = consume(secured, "alice", topic)
    # librdkafka looks up the group's coordinator too: whichever refusal it meets first.
    assert got == [] and err is not None and err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                                            KafkaError.GROUP_AUTHORIZATION_FAILED)
    # The super user passes without any ACL.
    assert produce_error(secured, "admin", topic) is None
    # Topics alice may not describe are hidden from her Metadata answers.
    listed = AdminClient(conf(secured, "alice")).list_topics(timeout=DEADLINE_S).topics
    assert topic not in listed
    assert topic in AdminClient(conf(secured, "admin")).list_topics(timeout=DEADLINE_S).topics


def test_acls_grant_produce_and_consume_with_a_group(secured):
    topic = unique_topic("grant")
    group = "grp-" + topic
    create_topic(secured, topic)
    out = acls(secured, "--add", "--allow-principal", "User:alice", "--producer", "--topic", topic).stdout
    assert f"Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name={topic}, patternType=LITERAL)`" in out
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in out
    assert produce_error(secured, "alice", topic, **{"enable.idempotence": False}) is None
    # WRITE on a topic is enough for an idempotent producer (KIP-679).
    assert produce_error(secured, "alice", topic, **{"enable.idempotence": True}) is None
    # Reading needs READ on the topic, and a group join READ on the group.
    got, err = consume(secured, "bob", topic, group=group)
    assert err is not None and err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                              KafkaError.GROUP_AUTHORIZATION_FAILED)
    acls(secured, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic)
    got, err = consume(secured, "bob", topic, group=group)
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    acls(secured, "--add", "--allow-principal", "User:bob", "--consumer", "--topic", topic, "--group", group)
    got, err = consume(secured, "bob", topic, group=group, n=2)
    assert err is None and len(got) == 2


def test_offset_commit_needs_the_group(secured):
    topic = unique_topic("commit")
    create_topic(secured, topic)
    acls(secured, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic)
    # DESCRIBE on the group finds its coordinator; committing needs READ on it.
    acls(secured, "--add", "--allow-principal", "User:bob", "--operation", "Describe", "--group", "nogroup-" + topic)
    c = Consumer(conf(secured, "bob", **{"group.id": "nogroup-" + topic, "enable.auto.commit": False}))
    with pytest.raises(KafkaException) as e:
        c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    c.close()
    assert e.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_transactional_id_needs_write(secured):
    topic = unique_topic("txn")
    create_topic(secured, topic)
    acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", topic)
    p = Producer(conf(secured, "alice", **{"transactional.id": "tx-" + topic}))
    with pytest.raises(KafkaException) as e:
        p.init_transactions(DEADLINE_S)
    assert e.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    acls(secured, "--add", "--allow-principal", "User:alice", "--producer", "--transactional-id", "tx-" + topic,
         "--topic", topic)
    p = Producer(conf(secured, "alice", **{"transactional.id": "tx-" + topic}))
    p.init_transactions(DEADLINE_S)
    p.begin_transaction()
    p.produce(topic, value=b"in-txn")
    p.commit_transaction(DEADLINE_S)


def test_topic_create_and_delete_need_their_operations(secured):
    topic = unique_topic("admin")
    admin = AdminClient(conf(secured, "alice"))
    with pytest.raises(KafkaException) as e:
        admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=DEADLINE_S)
    assert e.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "Create", "--topic", topic)
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=DEADLINE_S)
    with pytest.raises(KafkaException) as e:
        admin.delete_topics([topic], operation_timeout=10)[topic].result(timeout=DEADLINE_S)
    assert e.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "Delete", "--topic", topic)
    admin.delete_topics([topic], operation_timeout=10)[topic].result(timeout=DEADLINE_S)


def test_acl_changes_need_alter_on_the_cluster(secured):
    r = acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "All", "--topic", "*",
             user="alice", check=False)
    assert r.returncode != 0 and "Cluster authorization failed" in r.stderr
    r = acls(secured, "--list", user="alice", check=False)
    assert r.returncode != 0 and "Cluster authorization failed" in r.stderr
    acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "Alter", "--operation", "Describe",
         "--cluster")
    r = acls(secured, "--list", "--cluster", user="alice")
    assert "resourceType=CLUSTER, name=kafka-cluster" in r.stdout
    acls(secured, "--remove", "--allow-principal", "User:alice", "--operation", "Alter", "--operation", "Describe",
         "--cluster", "--force")


def test_voter_changes_through_a_broker_need_alter_on_the_cluster(secured):
    """AddRaftVoter/RemoveRaftVoter reach broker listeners too (KIP-853): as in Kafka, they need ALTER
    on the cluster. alice has no ACL; the super user admin passes the check."""
    def remove_controller(user):
        return subprocess.run([str(SAMSA_BIN), "metadata-quorum", "--bootstrap-server", f"{HOST}:{secured.sasl_port}",
                               "--command-config", str(secured.props_dir / f"{user}.properties"), "--timeout-ms", "5000",
                               "remove-controller", "--controller-id", "7",
                               "--controller-directory-id", "AAAAAAAAAAAAAAAAAAAAAA"],
                              capture_output=True, timeout=60, text=True)
    r = remove_controller("alice")
    assert r.returncode != 0 and "CLUSTER_AUTHORIZATION_FAILED" in r.stderr, r.stderr
    # This single node runs without a quorum: the answer of a static one (kraft.version 0).
    r = remove_controller("admin")
    assert r.returncode != 0 and "UNSUPPORTED_VERSION" in r.stderr, r.stderr


def test_prefixed_and_deny_acls(secured):
    prefix = unique_topic("pfx") + "-"
    a, b2 = prefix + "a", prefix + "secret"
    for t in (a, b2):
        create_topic(secured, t)
    acls(secured, "--add", "--allow-principal", "User:bob", "--operation", "Write", "--topic", prefix,
         "--resource-pattern-type", "prefixed")
    assert produce_error(secured, "bob", a) is None
    # Deny wins over the prefixed allow.
    acls(secured, "--add", "--deny-principal", "User:bob", "--operation", "Write", "--topic", b2)
    err = produce_error(secured, "bob", b2)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # A topic outside the prefix is not covered.
    other = unique_topic("other")
    create_topic(secured, other)
    err = produce_error(secured, "bob", other)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # --list with MATCH shows every binding that applies to the topic.
    out = acls(secured, "--list", "--topic", b2, "--resource-pattern-type", "match").stdout
    assert f"name={prefix}, patternType=PREFIXED" in out and f"name={b2}, patternType=LITERAL" in out
    assert "(principal=User:bob, host=*, operation=WRITE, permissionType=DENY)" in out


def test_acls_tool_add_list_remove(secured):
    topic = unique_topic("tool")
    acls(secured, "--add", "--allow-principal", "User:alice", "--allow-principal", "User:bob", "--operation",
         "Read", "--operation", "DescribeConfigs", "--topic", topic)
    out = acls(secured, "--list", "--topic", topic).stdout
    assert out.startswith(f"Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name={topic}, "
                          "patternType=LITERAL)`: \n")
    assert out.count("\t(principal=") == 4
    assert "(principal=User:bob, host=*, operation=DESCRIBE_CONFIGS, permissionType=ALLOW)" in out
    out = acls(secured, "--list", "--topic", topic, "--principal", "User:alice").stdout
    assert "User:bob" not in out and "ACLs for principal `User:alice`" in out
    acls(secured, "--remove", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic, "--force")
    out = acls(secured, "--list", "--topic", topic).stdout
    assert out.count("\t(principal=") == 3
    # Without principals, --remove drops every ACL of the resource (after the prompt: yes).
    r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", f"{HOST}:{secured.sasl_port}",
                        "--command-config", str(secured.props_dir / "admin.properties"), "--remove", "--topic",
                        topic], input="y\n", capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stderr
    assert "Are you sure you want to delete all ACLs for resource filter" in r.stdout
    assert acls(secured, "--list", "--topic", topic).stdout.strip() == ""
    # Bad input is refused with Kafka's words, before anything is sent.
    r = acls(secured, "--add", "--allow-principal", "alice", "--topic", topic, check=False)
    assert r.returncode != 0 and "Could not parse principal" in r.stderr
    r = acls(secured, "--add", "--allow-principal", "User:a", "--operation", "Write", "--group", "g", check=False)
    assert r.returncode != 0 and "only supports operations" in r.stderr


def test_acls_survive_a_restart(secured):
    topic = unique_topic("restart")
    create_topic(secured, topic)
    acls(secured, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", topic)
    secured.restart()
    out = acls(secured, "--list", "--topic", topic).stdout
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in out
    assert produce_error(secured, "alice", topic) is None
    err = produce_error(secured, "bob", topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_no_authorizer_answers_security_disabled(make_broker):
    b = make_broker()
    r = subprocess.run([str(SAMSA_BIN), "acls", "--bootstrap-server", b.bootstrap, "--list"],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode != 0 and "No Authorizer is configured" in r.stderr
    # And everything stays allowed, as before.
    topic = unique_topic("open")
    p = Producer({"bootstrap.servers": b.bootstrap})
    errors = []
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: errors.append(err))
    p.flush(DEADLINE_S)
    assert errors == [None]
