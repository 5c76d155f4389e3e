// kafkajs 2.2.4: an idempotent producer, and a transactional producer that commits one
// transaction (records + consumer offsets through sendOffsets) and aborts another; then a
// read_committed kafkajs consumer reads the topic back.
//
// Args (JSON): { brokers, idemTopic, txnTopic, group, count }
// Prints `RESULT {...}`: what the producers were answered, what the consumer saw and the
// group's committed offsets.
'use strict'

const { readArgs, makeKafka, armDeadline, emitResult, main, check } = require('./common')

const args = readArgs()
armDeadline(90)

main(async () => {
  const kafka = makeKafka(args)
  const result = {}

  const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await idem.connect()
  result.idem = []
  for (let i = 0; i < args.count; i += 10) {
    const msgs = []
    for (let j = i; j < i + 10; j++) msgs.push({ value: `idem-${j}`, partition: 0 })
    const meta = await idem.send({ topic: args.idemTopic, acks: -1, messages: msgs })
    result.idem.push(meta[0].baseOffset)
  }
  await idem.disconnect()

  const txp = kafka.producer({ transactionalId: `js-${args.group}`, maxInFlightRequests: 1, idempotent: true })
  await txp.connect()
  const t1 = await txp.transaction()
  await t1.send({ topic: args.txnTopic, messages: [0, 1, 2, 3, 4].map(i => ({ value: `commit-${i}`, partition: 0 })) })
  await t1.sendOffsets({ consumerGroupId: args.group, topics: [{ topic: args.idemTopic, partitions: [{ partition: 0, offset: '5' }] }] })
  await t1.commit()
  const t2 = await txp.transaction()
  await t2.send({ topic: args.txnTopic, messages: [0, 1, 2].map(i => ({ value: `abort-${i}`, partition: 0 })) })
  await t2.abort()
  const t3 = await txp.transaction()
  await t3.send({ topic: args.txnTopic, messages: [{ value: 'last', partition: 0 }] })
  await t3.commit()
  await txp.disconnect()

  const admin = kafka.admin()
  await admin.connect()
  result.offsets = await admin.fetchOffsets({ groupId: args.group, topics: [args.idemTopic] })
  await admin.disconnect()

  const consumer = kafka.consumer({ groupId: `${args.group}-reader`, readUncommitted: false, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: args.txnTopic, fromBeginning: true })
  result.seen = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        result.seen.push(message.value.toString())
        if (message.value.toString() === 'last') resolve()
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  check(result.seen.length > 0, 'the consumer saw records')
  emitResult(result)
})
