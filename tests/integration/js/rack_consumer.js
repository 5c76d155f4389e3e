// A consumer with client.rack (KIP-392) on @confluentinc/kafka-javascript (its bundled,
// current librdkafka), driven by tests/integration/test_fetch_from_follower.py. It assigns
// partition 0 of the topic from offset 0 (no group membership) and prints one JSON object a
// line: {"ev":"ready"}, {"ev":"msg","o":OFFSET,"v":"VALUE"}, {"ev":"error","msg":"..."}.
// Runs until SIGTERM (or its own deadline).
const Kafka = require('@confluentinc/kafka-javascript');

const args = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const consumer = new Kafka.KafkaConsumer({
  'bootstrap.servers': args.brokers.join(','),
  'group.id': args.group,
  'client.rack': args.rack,
  'enable.auto.commit': false,
  'topic.metadata.refresh.interval.ms': 1000,
}, { 'auto.offset.reset': 'earliest' });
consumer.on('event.error', (e) => out({ ev: 'error', msg: String(e) }));
consumer.on('ready', () => {
  consumer.assign([{ topic: args.topic, partition: 0, offset: 0 }]);
  consumer.consume();
  out({ ev: 'ready' });
});
consumer.on('data', (m) => out({ ev: 'msg', o: m.offset, v: m.value.toString() }));
consumer.connect();

const stop = () => consumer.disconnect(() => process.exit(0));
process.on('SIGTERM', stop);
setTimeout(() => process.exit(2), (args.deadlineS || 120) * 1000).unref();
