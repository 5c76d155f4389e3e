// kafkajs 2.2.4 against a cluster: what describeCluster and the topic metadata say (brokers,
// controller, each partition's leader), then one record produced to and read back from every
// partition of `topic`, whichever broker leads it.
//
// Args (JSON): { brokers, topic, partitions }
// Prints one line `RESULT {...}`.
'use strict'

const { readArgs, makeKafka, armDeadline, emitResult, main, check } = require('./common')

const args = readArgs()
armDeadline(100)

main(async () => {
  const kafka = makeKafka(args)
  const admin = kafka.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  const metadata = await admin.fetchTopicMetadata({ topics: [args.topic] })
  await admin.disconnect()

  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const sent = []
  for (let p = 0; p < args.partitions; p++) {
    const [r] = await producer.send({ topic: args.topic, acks: -1, messages: [{ partition: p, value: `js-${p}` }] })
    check(r.errorCode === 0, `produce to partition ${p}`)
    sent.push({ partition: p, offset: r.baseOffset })
  }
  await producer.disconnect()

  // Read each partition from the offset kafkajs was given, through a group (the coordinator is
  // whichever broker leads the group's __consumer_offsets partition).
  const consumer = kafka.consumer({ groupId: `js-cluster-${args.topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  const got = {}
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (message.value.toString() === `js-${partition}`) got[partition] = message.offset
        if (Object.keys(got).length === args.partitions) resolve()
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  emitResult({ cluster, metadata, sent, got })
})
