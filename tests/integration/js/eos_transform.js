// kafkajs 2.2.4 consume-transform-produce with transactions: each fetched batch of one input
// partition is written as "out:" + value to the same partition of the output topic and its input
// offsets are sent with sendOffsets, in one transaction; every third transaction is aborted and
// the batch processed again (seek back). With pauseAt = n > 0 the n-th transaction is left open
// after its records and offsets were sent: the program prints PAUSED and waits to be killed.
// Exits once the group's offsets reach the input's end: prints `RESULT {...}`.
//
// Args (JSON): { brokers, inTopic, outTopic, group, txnId, pauseAt }
'use strict'

const { readArgs, makeKafka, armDeadline, emitResult, main } = require('./common')

const args = readArgs()
armDeadline(240)

main(async () => {
  const kafka = makeKafka(args)
  const producer = kafka.producer({ transactionalId: args.txnId, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()  // InitProducerId: fences a killed predecessor and aborts its transaction
  const admin = kafka.admin()
  await admin.connect()
  const ends = {}
  for (const p of await admin.fetchTopicOffsets(args.inTopic)) ends[p.partition] = Number(p.high)
  const done = {}
  for (const t of await admin.fetchOffsets({ groupId: args.group, topics: [args.inTopic] })) {
    for (const p of t.partitions) done[p.partition] = Math.max(Number(p.offset), 0)
  }
  await admin.disconnect()
  const finished = () => Object.keys(ends).every(p => (done[p] || 0) >= ends[p])

  const consumer = kafka.consumer({ groupId: args.group, readUncommitted: false, sessionTimeout: 6000,
                                    rebalanceTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 100,
                                    maxBytesPerPartition: 16384 })
  await consumer.connect()
  await consumer.subscribe({ topic: args.inTopic, fromBeginning: true })
  let txns = 0
  let committed = 0
  let aborted = 0
  let resolveDone
  const allDone = new Promise(resolve => { resolveDone = resolve })
  if (finished()) resolveDone()
  consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, isStale, resolveOffset }) => {
      if (isStale() || batch.messages.length === 0) return
      const txn = await producer.transaction()
      await txn.send({
        topic: args.outTopic,
        messages: batch.messages.map(m => ({ key: m.key, value: 'out:' + m.value.toString(), partition: batch.partition })),
      })
      const next = Number(batch.messages[batch.messages.length - 1].offset) + 1
      await txn.sendOffsets({
        consumerGroupId: args.group,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(next) }] }],
      })
      txns += 1
      if (txns === args.pauseAt) {
        process.stdout.write('PAUSED\n')
        await new Promise(() => {})
      }
      if (txns % 3 === 0) {
        await txn.abort()
        aborted += 1
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: batch.messages[0].offset })
        return
      }
      await txn.commit()
      resolveOffset(batch.messages[batch.messages.length - 1].offset)  // fetch on after it
      committed += 1
      done[batch.partition] = next
      if (finished()) resolveDone()
    },
  })
  await allDone
  await consumer.disconnect()
  await producer.disconnect()
  emitResult({ committed, aborted, ends, done })
})
