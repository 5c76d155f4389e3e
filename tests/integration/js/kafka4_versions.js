// @confluentinc/kafka-javascript (bundled librdkafka 2.15) against the Kafka 4.x API versions,
// driven by tests/integration/test_kafka4_versions.py: produces `count` records to partition 0
// of `topic`, then asks the watermarks and the offset of timestamp 0. librdkafka's protocol
// debug log says which version of each request it sent.
//
// Args (JSON): { brokers, topic, count }
// Prints one line `RESULT {...}`: delivered offsets, watermarks, the offset for timestamp 0,
// and {api name: highest version sent}.
'use strict'

const Kafka = require('@confluentinc/kafka-javascript')

const args = JSON.parse(process.argv[2])
const versions = {}
// librdkafka logs e.g. "Sent ProduceRequest (v10, 123 bytes @ 0, CorrId 5)".
function noteLog(log) {
  const m = /Sent (\w+)Request \(v(\d+),/.exec(log.message)
  if (m) versions[m[1]] = Math.max(versions[m[1]] || 0, Number(m[2]))
}

const timer = setTimeout(() => {
  process.stdout.write('RESULT ' + JSON.stringify({ error: 'timed out', versions }) + '\n')
  process.exit(1)
}, 60000)

const common = { 'bootstrap.servers': args.brokers.join(','), debug: 'protocol' }
const producer = new Kafka.Producer({ ...common, 'linger.ms': 0, dr_cb: true })
const offsets = []
producer.on('event.log', noteLog)
producer.on('delivery-report', (err, report) => {
  offsets.push(err ? String(err) : report.offset)
  if (offsets.length === args.count) {
    producer.disconnect()
  }
})
producer.on('disconnected', () => {
  const consumer = new Kafka.KafkaConsumer({ ...common, 'group.id': args.topic + '-g' }, {})
  consumer.on('event.log', noteLog)
  consumer.on('ready', () => {
    consumer.queryWatermarkOffsets(args.topic, 0, 10000, (err, marks) => {
      if (err) throw err
      consumer.offsetsForTimes([{ topic: args.topic, partition: 0, offset: 0 }], 10000, (err2, found) => {
        if (err2) throw err2
        clearTimeout(timer)
        const result = { offsets, marks, forTime: found[0].offset, versions }
        consumer.disconnect(() => {
          process.stdout.write('RESULT ' + JSON.stringify(result) + '\n')
          process.exit(0)
        })
      })
    })
  })
  consumer.connect()
})
producer.on('ready', () => {
  for (let i = 0; i < args.count; i++) producer.produce(args.topic, 0, Buffer.from('v' + i), null)
  const poller = setInterval(() => producer.poll(), 50)
  producer.once('disconnected', () => clearInterval(poller))
})
producer.connect()
