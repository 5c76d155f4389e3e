// One member of a consumer group with
// @confluentinc/kafka-javascript (bundled librdkafka), driven by
// tests/integration/test_kip848.py: group.protocol=consumer (KIP-848, the default) or, with
// args.protocol "classic", a classic-protocol member (JoinGroup/SyncGroup; eager "range"
// assignment unless args.strategy says otherwise). Runs until killed or sent SIGTERM (then closes
// cleanly: a static member leaves with epoch -2). Prints one JSON object a line:
//   {"ev":"assign","partitions":[...]}, {"ev":"revoke",...}, {"ev":"msg","p":P,"o":O,"v":"..."},
//   {"ev":"error","msg":"..."}
const Kafka = require('@confluentinc/kafka-javascript');

const args = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const conf = {
  'bootstrap.servers': args.brokers.join(','),
  'group.id': args.group,
  'group.protocol': args.protocol || 'consumer',
  'client.id': args.name,
  'enable.auto.commit': true,
  'auto.commit.interval.ms': 200,
  'enable.auto.offset.store': false,
  'topic.metadata.refresh.interval.ms': 2000,
  'rebalance_cb': function (err, assignment) {
    const parts = assignment.map((a) => a.partition).sort((a, b) => a - b);
    // An eager (classic) assignment replaces the previous one; a cooperative one adds to it.
    const incremental = this.rebalanceProtocol() === 'COOPERATIVE';
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      out({ ev: 'assign', partitions: parts });
      if (incremental) this.incrementalAssign(assignment);
      else this.assign(assignment);
    } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      out({ ev: 'revoke', partitions: parts });
      if (incremental) this.incrementalUnassign(assignment);
      else this.unassign();
    } else {
      out({ ev: 'error', msg: String(err) });
    }
  },
};
if (args.instanceId) conf['group.instance.id'] = args.instanceId;
if (args.debug) conf['debug'] = args.debug;
if (args.assignor) conf['group.remote.assignor'] = args.assignor;
if (args.protocol === 'classic') {
  conf['session.timeout.ms'] = args.sessionTimeoutMs || 6000;
  conf['heartbeat.interval.ms'] = 500;
  if (args.strategy) conf['partition.assignment.strategy'] = args.strategy;
}

const consumer = new Kafka.KafkaConsumer(conf, { 'auto.offset.reset': 'earliest' });
if (args.debug) consumer.on('event.log', (l) => process.stderr.write(`${Date.now()} ${l.fac} ${l.message}\n`));
consumer.on('event.error', (e) => out({ ev: 'error', msg: String(e) }));
consumer.on('ready', () => {
  consumer.subscribe([args.topic]);
  consumer.consume();
  out({ ev: 'ready' });
});
// At least once: a record's offset is stored for the auto-commit only once it was printed (the
// binding fetches batches ahead of the 'data' events, and an automatic store would commit records a
// closing member never handed over).
consumer.on('data', (m) => {
  out({ ev: 'msg', p: m.partition, o: m.offset, v: m.value.toString() });
  try {
    consumer.offsetsStore([{ topic: m.topic, partition: m.partition, offset: m.offset + 1 }]);
  } catch (e) {
    // the partition was revoked meanwhile: its next owner reads the record again
  }
});
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
