// One member of a KIP-848 consumer group (group.protocol=consumer) with
// @confluentinc/kafka-javascript (bundled librdkafka), driven by
// tests/integration/test_kip848.py. Runs until killed or sent SIGTERM (then closes
// cleanly: a static member leaves with epoch -2). Prints one JSON object a line:
//   {"ev":"assign","partitions":[...]}, {"ev":"revoke",...}, {"ev":"msg","p":P,"o":O,"v":"..."},
//   {"ev":"error","msg":"..."}
const Kafka = require('@confluentinc/kafka-javascript');

const args = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const conf = {
  'bootstrap.servers': args.brokers.join(','),
  'group.id': args.group,
  'group.protocol': 'consumer',
  'client.id': args.name,
  'enable.auto.commit': true,
  'auto.commit.interval.ms': 200,
  'topic.metadata.refresh.interval.ms': 2000,
  'rebalance_cb': function (err, assignment) {
    const parts = assignment.map((a) => a.partition).sort((a, b) => a - b);
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      out({ ev: 'assign', partitions: parts });
      this.incrementalAssign(assignment);
    } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      out({ ev: 'revoke', partitions: parts });
      this.incrementalUnassign(assignment);
    } else {
      out({ ev: 'error', msg: String(err) });
    }
  },
};
if (args.instanceId) conf['group.instance.id'] = args.instanceId;
if (args.assignor) conf['group.remote.assignor'] = args.assignor;

const consumer = new Kafka.KafkaConsumer(conf, { 'auto.offset.reset': 'earliest' });
consumer.on('event.error', (e) => out({ ev: 'error', msg: String(e) }));
consumer.on('ready', () => {
  consumer.subscribe([args.topic]);
  consumer.consume();
  out({ ev: 'ready' });
});
consumer.on('data', (m) => out({ ev: 'msg', p: m.partition, o: m.offset, v: m.value.toString() }));
consumer.connect();

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  consumer.disconnect(() => {
    out({ ev: 'closed' });
    process.exit(0);
  });
  setTimeout(() => process.exit(3), 20000).unref();
});
