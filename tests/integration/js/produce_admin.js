// kafkajs 2.2.4: admin (createTopics, listTopics, describeCluster, fetchTopicMetadata,
// fetchTopicOffsets, deleteTopics) and a producer sending keyed records with headers, gzip-
// compressed and uncompressed, to a multi-partition topic.
//
// Args (JSON): { brokers, topic, partitions, count, scratchTopic }
// Prints one line `RESULT {...}` with what was sent and what the broker answered; the Python
// side checks the answers and reads the data back with librdkafka.
'use strict'

const { CompressionTypes, Partitioners } = require('kafkajs')
const { readArgs, makeKafka, armDeadline, emitResult, main, check } = require('./common')

const args = readArgs()
armDeadline(90)

function makeMessages(from, to, tag, partitions) {
  const messages = []
  for (let i = from; i < to; i++) {
    const m = {
      key: `key-${i % 5}`,
      value: `${tag}-${i}-` + 'z'.repeat(i % 37),
      headers: { idx: String(i), src: 'kafkajs' },
    }
    if (i % 4 === 0) m.partition = i % partitions
    messages.push(m)
  }
  return messages
}

main(async () => {
  const kafka = makeKafka(args)
  const admin = kafka.admin()
  await admin.connect()
  const result = {}
  try {
    result.created = await admin.createTopics({
      topics: [{
        topic: args.topic,
        numPartitions: args.partitions,
        replicationFactor: 1,
        configEntries: [{ name: 'retention.ms', value: '86400000' }],
      }],
      waitForLeaders: true,
      timeout: 10000,
    })
    // kafkajs answers false (not an error) when every topic already exists.
    result.createdAgain = await admin.createTopics({
      topics: [{ topic: args.topic, numPartitions: args.partitions }],
      waitForLeaders: false,
      timeout: 10000,
    })
    result.cluster = await admin.describeCluster()
    result.metadata = await admin.fetchTopicMetadata({ topics: [args.topic] })

    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    await producer.connect()
    const half = Math.floor(args.count / 2)
    const batches = [
      { compression: CompressionTypes.GZIP, messages: makeMessages(0, half, 'gzip', args.partitions) },
      { compression: CompressionTypes.None, messages: makeMessages(half, args.count, 'none', args.partitions) },
    ]
    // One tombstone (null value) with a key, uncompressed.
    batches[1].messages.push({ key: 'tomb', value: null, partition: 0 })
    result.sent = []
    result.sends = []
    for (const batch of batches) {
      const meta = await producer.send({
        topic: args.topic,
        acks: -1,
        timeout: 10000,
        compression: batch.compression,
        messages: batch.messages,
      })
      result.sends.push(meta)
      result.sent.push(...batch.messages.map(m => ({
        key: m.key, value: m.value, headers: m.headers || {},
        partition: m.partition === undefined ? null : m.partition,
      })))
    }
    await producer.disconnect()

    result.offsets = await admin.fetchTopicOffsets(args.topic)

    await admin.createTopics({ topics: [{ topic: args.scratchTopic, numPartitions: 2 }], timeout: 10000 })
    const listed = await admin.listTopics()
    check(listed.includes(args.scratchTopic), 'scratch topic listed after create')
    await admin.deleteTopics({ topics: [args.scratchTopic], timeout: 10000 })
    let stillListed = true
    for (let i = 0; i < 100 && stillListed; i++) {
      stillListed = (await admin.listTopics()).includes(args.scratchTopic)
      if (stillListed) await new Promise(r => setTimeout(r, 100))
    }
    result.scratchDeleted = !stillListed
    result.topicsAfter = await admin.listTopics()
  } finally {
    await admin.disconnect()
  }
  emitResult(result)
})
