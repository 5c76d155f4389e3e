// @platformatic/kafka against Samsa (test_platformatic.py): admin calls (createTopics, metadata,
// listTopics, createPartitions, describeConfigs, deleteTopics, listGroups, describeGroups,
// listConsumerGroupOffsets), a producer sending keyed records with headers, and a consumer group
// that reads them back from the earliest offset and commits. Prints one RESULT line of JSON;
// logs go to stderr. A hard deadline ends a hung client.
'use strict'

const { Admin, Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } =
  require('@platformatic/kafka')

const args = JSON.parse(process.argv[2])
const deadline = setTimeout(() => {
  console.error('platformatic.js: deadline passed')
  process.exit(3)
}, args.deadlineMs || 90000)

const base = { bootstrapBrokers: args.brokers, timeout: 15000, retries: 5, retryDelay: 300 }

async function consumeAll (topic, group, count) {
  const consumer = new Consumer({
    ...base,
    clientId: 'samsa-it-platformatic-consumer',
    groupId: group,
    deserializers: stringDeserializers,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
  })
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
  const got = []
  for await (const message of stream) {
    const headers = {}
    for (const [k, v] of message.headers) headers[k] = v
    got.push({ key: message.key, value: message.value, partition: message.partition,
      offset: Number(message.offset), headers })
    await message.commit()
    if (got.length >= count) break
  }
  await stream.close()
  await consumer.close()
  return got
}

async function main () {
  const admin = new Admin({ ...base, clientId: 'samsa-it-platformatic-admin' })
  const result = {}
  await admin.createTopics({ topics: [args.topic], partitions: args.partitions, replicas: 1 })
  await admin.createTopics({ topics: [args.scratchTopic], partitions: 1, replicas: 1 })
  result.listed = (await admin.listTopics()).filter(t => t === args.topic || t === args.scratchTopic).sort()
  const md = await admin.metadata({ topics: [args.topic] })
  result.brokers = [...md.brokers.keys()]
  result.partitionCount = md.topics.get(args.topic).partitionsCount
  await admin.createPartitions({ topics: [{ name: args.scratchTopic, count: 3, assignments: [] }] })
  const scratch = await admin.metadata({ topics: [args.scratchTopic], forceUpdate: true })
  result.scratchPartitions = scratch.topics.get(args.scratchTopic).partitionsCount
  const configs = await admin.describeConfigs({
    resources: [{ resourceType: 2, resourceName: args.topic, configurationKeys: ['cleanup.policy'] }],
  })
  result.cleanupPolicy = configs[0].configs.find(c => c.name === 'cleanup.policy').value

  const producer = new Producer({ ...base, clientId: 'samsa-it-platformatic-producer', serializers: stringSerializers })
  const messages = []
  for (let i = 0; i < args.count; i++) {
    messages.push({ topic: args.topic, key: `k${i}`, value: `v${i}`, headers: { n: `${i}` } })
  }
  const sent = await producer.send({ messages, acks: -1 })
  result.sentOffsets = (sent.offsets || []).length
  await producer.close()

  result.consumed = await consumeAll(args.topic, args.group, args.count)

  const groups = await admin.listGroups()
  result.groupListed = groups.has(args.group)
  const described = await admin.describeGroups({ groups: [args.group] })
  result.groupState = described.get(args.group).state
  const offsets = await admin.listConsumerGroupOffsets({ groups: [args.group] })
  result.committed = []
  for (const g of offsets) {
    for (const t of g.topics) {
      for (const p of t.partitions) result.committed.push([t.name, p.partitionIndex, Number(p.committedOffset)])
    }
  }
  await admin.deleteTopics({ topics: [args.scratchTopic] })
  result.afterDelete = (await admin.listTopics()).includes(args.scratchTopic)
  await admin.close()
  clearTimeout(deadline)
  console.log('RESULT ' + JSON.stringify(result))
}

main().catch(err => {
  console.error(err && err.stack ? err.stack : err)
  if (err && err.errors) console.error(JSON.stringify(err.errors, null, 1))
  process.exit(1)
})
