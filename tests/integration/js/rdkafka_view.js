// @confluentinc/kafka-javascript (bundled librdkafka 2.15) after a partition moved, driven by
// tests/integration/test_reassignment_clients.py. This binding has no reassignment call and no
// describeCluster, so it reports what librdkafka sees: the brokers and the partition in a
// Metadata answer (Producer.getMetadata), the partition as the KafkaJS-style admin's
// fetchTopicMetadata (librdkafka's DescribeTopics) shows it, and the offsets of `count` records
// produced to `partition` (idempotent, acks=all).
//
// Args (JSON): { brokers, topic, partition, count, prefix }
// Prints one line `RESULT {...}`.
'use strict'

const Kafka = require('@confluentinc/kafka-javascript')

const args = JSON.parse(process.argv[2])
const timer = setTimeout(() => {
  process.stderr.write('DEADLINE: gave up after 60s\n')
  process.exit(3)
}, 60000)

function fail(what, err) {
  process.stderr.write(`FAILED: ${what}: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
}

function produceAndDescribe() {
  return new Promise((resolve, reject) => {
    const producer = new Kafka.Producer({
      'bootstrap.servers': args.brokers.join(','),
      'enable.idempotence': true,
      acks: 'all',
      'linger.ms': 5,
      dr_msg_cb: true,
    })
    const delivered = []
    let metadata = null
    producer.on('event.error', reject)
    producer.on('delivery-report', (err, report) => {
      delivered.push(err ? { error: String(err) } : { value: report.value.toString(), offset: report.offset })
      if (delivered.length === args.count) {
        clearInterval(poller)
        producer.disconnect(() => resolve({ metadata, delivered }))
      }
    })
    let poller = null
    producer.on('ready', () => {
      producer.getMetadata({ topic: args.topic, timeout: 10000 }, (err, md) => {
        if (err) return reject(err)
        metadata = md
        for (let i = 0; i < args.count; i++) {
          producer.produce(args.topic, args.partition, Buffer.from(`${args.prefix}${i}`), null)
        }
        poller = setInterval(() => producer.poll(), 50)
      })
    })
    producer.connect()
  })
}

async function describe() {
  const kafka = new Kafka.KafkaJS.Kafka({ kafkaJS: { brokers: args.brokers, logLevel: Kafka.KafkaJS.logLevel.NOTHING } })
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await admin.fetchTopicMetadata({ topics: [args.topic] })
  } finally {
    await admin.disconnect()
  }
}

produceAndDescribe()
  .then(async ({ metadata, delivered }) => {
    const described = await describe()
    clearTimeout(timer)
    const topic = metadata.topics.find(t => t.name === args.topic)
    const result = {
      brokers: metadata.brokers,
      partition: topic ? topic.partitions.find(p => p.id === args.partition) : null,
      described: described.map(t => ({
        name: t.name,
        partitions: t.partitions.map(p => ({ partitionId: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      })),
      delivered,
    }
    process.stdout.write('RESULT ' + JSON.stringify(result) + '\n')
    process.exit(0)
  })
  .catch(err => fail('produce/describe', err))
