// Consume-transform-produce with @confluentinc/kafka-javascript (bundled librdkafka) where the
// consumer uses the KIP-848 protocol (group.protocol=consumer): each batch of input records is
// written as "out:" + value to the output topic and the consumer's positions are sent with
// sendOffsetsToTransaction — which names the member id and the member epoch (KIP-447) — in one
// transaction. Exits once the group's position reaches `expect` records consumed and committed:
// prints `RESULT {"copied":N}`; on a failed transaction step prints `ERROR <message>` and exits 1.
//
// Args (JSON): { brokers, inTopic, outTopic, group, txnId, expect }
const Kafka = require('@confluentinc/kafka-javascript');

const args = JSON.parse(process.argv[2]);
setTimeout(() => {
  process.stdout.write('ERROR deadline\n');
  process.exit(2);
}, 120000).unref();

const fail = (what, err) => {
  process.stdout.write(`ERROR ${what}: ${err}\n`);
  process.exit(1);
};
const step = (f) => new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

const producer = new Kafka.Producer({
  'bootstrap.servers': args.brokers.join(','),
  'transactional.id': args.txnId,
  'dr_cb': false,
});
const consumer = new Kafka.KafkaConsumer({
  'bootstrap.servers': args.brokers.join(','),
  'group.id': args.group,
  'group.protocol': 'consumer',
  'enable.auto.commit': false,
  'isolation.level': 'read_committed',
}, { 'auto.offset.reset': 'earliest' });

async function run() {
  await step((cb) => producer.connect({}, (err) => cb(err)));
  await step((cb) => producer.initTransactions(30000, cb));
  await step((cb) => consumer.connect({}, (err) => cb(err)));
  consumer.subscribe([args.inTopic]);
  let copied = 0;
  const idleDeadline = Date.now() + 90000;
  while (copied < args.expect && Date.now() < idleDeadline) {
    const msgs = await step((cb) => consumer.consume(100, cb));
    if (msgs.length === 0) continue;
    const next = {};
    await step((cb) => producer.beginTransaction(cb)).catch((e) => fail('begin', e));
    for (const m of msgs) {
      producer.produce(args.outTopic, m.partition, Buffer.from('out:' + m.value.toString()));
      next[m.partition] = m.offset + 1;
    }
    const offsets = Object.entries(next).map(([p, o]) => ({ topic: args.inTopic, partition: Number(p), offset: o }));
    await step((cb) => producer.sendOffsetsToTransaction(offsets, consumer, 30000, cb)).catch((e) => fail('sendOffsets', e));
    await step((cb) => producer.commitTransaction(30000, cb)).catch((e) => fail('commit', e));
    copied += msgs.length;
  }
  process.stdout.write(`RESULT ${JSON.stringify({ copied })}\n`);
  consumer.disconnect(() => producer.disconnect(() => process.exit(0)));
  setTimeout(() => process.exit(0), 10000).unref();
}

run().catch((e) => fail('run', e));
