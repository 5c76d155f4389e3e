// kafkajs 2.2.4 consumer in a consumer group (needs FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, OffsetFetch/Commit in the broker): subscribes from the beginning and collects
// `expected` records, then prints them.
//
// Args (JSON): { brokers, topic, groupId, expected }
'use strict'

const { readArgs, makeKafka, armDeadline, emitResult, main } = require('./common')

const args = readArgs()
armDeadline(90)

const str = b => (b === null || b === undefined ? null : b.toString('utf8'))

main(async () => {
  const kafka = makeKafka(args)
  const consumer = kafka.consumer({ groupId: args.groupId, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  const records = []
  let resolveDone, rejectDone
  const done = new Promise((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  // A crash kafkajs will not retry ends the program at once instead of at the deadline.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) rejectDone(payload.error)
  })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = {}
      for (const [name, value] of Object.entries(message.headers || {})) {
        headers[name] = Array.isArray(value) ? value.map(str) : str(value)
      }
      records.push({
        partition,
        offset: Number(message.offset),
        key: str(message.key),
        value: str(message.value),
        headers,
      })
      if (records.length >= args.expected) resolveDone()
    },
  })
  await done
  await consumer.disconnect()
  emitResult({ records })
})
