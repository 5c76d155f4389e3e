"""Gaps that real clients and tools found (issue 17), each checked the way that client sees it:
DescribeConfigs synonyms of topic keys (kafkajs' and librdkafka's admin tests), AlterConfigs of
deprecated and less common keys (librdkafka's admin tests), the console consumer's commits on exit
(kafka-console-consumer.sh then kafka-consumer-groups.sh --describe).
"""

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import ConfigResource, ConfigSource

from helpers import CLIENT_TIMEOUT_S, Msg, admin_client, create_topic, produce, unique_topic
from test_cli import samsa

INVALID_CONFIG = 40


@pytest.fixture(scope="module")
def broker_config():
    # No wait for more members before a new group's first rebalance: the console consumer's
    # group is assigned at once, so a short --timeout-ms still sees its assignment.
    return 1, {"group.initial.rebalance.delay.ms": "0"}


def _source(entry):
    src = entry.source
    return ConfigSource(src.value if isinstance(src, ConfigSource) else int(src))


def describe(admin, resource):
    fut = admin.describe_configs([resource], request_timeout=CLIENT_TIMEOUT_S)
    return fut[resource].result(timeout=CLIENT_TIMEOUT_S + 5)


def alter(admin, resource):
    """Legacy AlterConfigs (what librdkafka's admin test uses); raises KafkaException on error."""
    fut = admin.alter_configs([resource], request_timeout=CLIENT_TIMEOUT_S)
    return list(fut.values())[0].result(timeout=CLIENT_TIMEOUT_S + 5)


# ---- DescribeConfigs synonyms ------------------------------------------------------------------

def test_topic_config_synonyms_are_kafkas(broker):
    """retention.ms with nothing set: Kafka lists no synonym (log.retention.ms, its canonical broker
    key, is unset, and Kafka drops everything before it, so log.retention.hours' default is not
    listed); max.message.bytes lists message.max.bytes' default; an override comes first."""
    admin = admin_client(broker.bootstrap)
    topic = unique_topic("gap-syn")
    create_topic(broker.bootstrap, topic, 1)
    configs = describe(admin, ConfigResource("topic", topic))
    retention = configs["retention.ms"]
    assert retention.value == "604800000"
    assert _source(retention) == ConfigSource.DEFAULT_CONFIG
    assert dict(retention.synonyms) == {}, {k: (v.value, v.source) for k, v in retention.synonyms.items()}
    assert dict(configs["segment.ms"].synonyms) == {} and dict(configs["flush.ms"].synonyms) == {}
    max_bytes = configs["max.message.bytes"]
    assert list(max_bytes.synonyms) == ["message.max.bytes"]
    assert _source(max_bytes.synonyms["message.max.bytes"]) == ConfigSource.DEFAULT_CONFIG

    alter(admin, ConfigResource("topic", topic, set_config={"retention.ms": "60000"}))
    retention = describe(admin, ConfigResource("topic", topic))["retention.ms"]
    assert retention.value == "60000" and _source(retention) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert list(retention.synonyms) == ["retention.ms"]
    assert _source(retention.synonyms["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG


# ---- AlterConfigs of deprecated and less common keys -------------------------------------------

def test_alter_message_format_version_short_and_long_forms(broker):
    """librdkafka's mixed-message-version test sets message.format.version=0.10.0.0 on a topic:
    Kafka 3.x parses the release in short or long form and ignores the (deprecated) setting."""
    admin = admin_client(broker.bootstrap)
    topic = unique_topic("gap-mfv")
    create_topic(broker.bootstrap, topic, 1, config={"message.format.version": "2.8"})
    for version in ("0.10.0.0", "0.10.0", "2.8.1", "3.0-IV1"):
        alter(admin, ConfigResource("topic", topic, set_config={"message.format.version": version}))
        entry = describe(admin, ConfigResource("topic", topic))["message.format.version"]
        assert entry.value == version and _source(entry) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    with pytest.raises(KafkaException) as exc:
        alter(admin, ConfigResource("topic", topic, set_config={"message.format.version": "0.10.5"}))
    assert exc.value.args[0].code() == INVALID_CONFIG
    assert "Version 0.10.5 is not a valid version" in exc.value.args[0].str()


def test_alter_kafka_broker_keys_known_to_kafka(broker):
    """librdkafka's admin test sets sasl.kerberos.min.time.before.relogin on a broker: a per-broker
    dynamic key in Kafka. A read-only Kafka key is refused as Kafka refuses it."""
    admin = admin_client(broker.bootstrap)
    alter(admin, ConfigResource("broker", "1", set_config={"sasl.kerberos.min.time.before.relogin": "58000"}))
    entry = describe(admin, ConfigResource("broker", "1"))["sasl.kerberos.min.time.before.relogin"]
    assert entry.value == "58000" and _source(entry) == ConfigSource.DYNAMIC_BROKER_CONFIG
    for key, value, message in (("zookeeper.session.timeout.ms", "20000", "Cannot update these configs dynamically"),
                                ("remote.log.reader.threads", "3", "Cannot update these configs dynamically")):
        with pytest.raises(KafkaException) as exc:
            alter(admin, ConfigResource("broker", "1", set_config={key: value}))
        assert message in exc.value.args[0].str(), exc.value


# ---- console-consumer --group commits every assigned partition ---------------------------------

def describe_offsets(broker, group):
    """{partition: (current offset, log end offset, lag)} from `consumer-groups --describe`."""
    out = samsa("consumer-groups", "--bootstrap-server", broker.bootstrap, "--describe", "--group", group).stdout
    rows = [l.split() for l in out.splitlines()[2:] if l.strip()]
    return {int(r[2]): (r[3], r[4], r[5]) for r in rows}


def test_console_consumer_commits_every_assigned_partition(broker):
    """Records only in partition 0 of 3: after `console-consumer --group ... --from-beginning`,
    `consumer-groups --describe` shows an offset and a lag for all three partitions, as after
    kafka-console-consumer.sh (its consumer commits every assigned position on close)."""
    topic, group = unique_topic("gap-cc"), unique_topic("g")[:12]
    create_topic(broker.bootstrap, topic, 3)
    produce(broker.bootstrap, topic, [Msg(value=b"v%d" % i, partition=0) for i in range(5)])
    out = samsa("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--group", group,
                "--from-beginning", "--max-messages", "5").stdout
    assert out.splitlines() == ["v%d" % i for i in range(5)]
    assert describe_offsets(broker, group) == {0: ("5", "5", "0"), 1: ("0", "0", "0"), 2: ("0", "0", "0")}

    # Without --from-beginning (auto.offset.reset=latest) and nothing printed: every partition is
    # committed at its log end, including the one whose records arrived before the consumer.
    group2 = unique_topic("h")[:12]
    produce(broker.bootstrap, topic, [Msg(value=b"w%d" % i, partition=2) for i in range(3)])
    p = samsa("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--group", group2,
              "--timeout-ms", "8000")
    assert p.stdout == "" and "Processed a total of 0 messages" in p.stderr
    assert describe_offsets(broker, group2) == {0: ("5", "5", "0"), 1: ("0", "0", "0"), 2: ("3", "3", "0")}
