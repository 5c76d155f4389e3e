// Two kafkajs 2.2.4 consumers in one group with the round-robin assigner
// (PartitionAssigners.roundRobin). Once both hold their share of the topic, the
// program produces `count` records (record i to partition i % partitions) and
// collects what each member consumes, waiting `graceMs` after the last one to
// see duplicates.
//
// Args (JSON): { brokers, topic, groupId, partitions, count, graceMs }
'use strict'

const { PartitionAssigners } = require('kafkajs')
const { readArgs, makeKafka, armDeadline, emitResult, main } = require('./common')

const args = readArgs()
armDeadline(100)

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

main(async () => {
  const kafka = makeKafka(args)
  const members = [0, 1].map(i => ({
    index: i,
    consumer: kafka.consumer({
      groupId: args.groupId,
      maxWaitTimeInMs: 100,
      partitionAssigners: [PartitionAssigners.roundRobin],
    }),
    join: null,  // the last GROUP_JOIN payload
    records: [],
  }))
  let failure = null
  for (const m of members) {
    m.consumer.on(m.consumer.events.GROUP_JOIN, ({ payload }) => { m.join = payload })
    m.consumer.on(m.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) failure = payload.error
    })
    await m.consumer.connect()
    await m.consumer.subscribe({ topic: args.topic, fromBeginning: true })
    await m.consumer.run({
      eachMessage: async ({ partition, message }) => {
        m.records.push({ partition, offset: Number(message.offset), key: message.key.toString() })
      },
    })
  }
  const share = m => (m.join && m.join.memberAssignment[args.topic]) || []
  // Settled: both members in the same generation, the partitions split between them.
  for (;;) {
    if (failure) throw failure
    const a = share(members[0])
    const b = share(members[1])
    if (a.length + b.length === args.partitions && new Set([...a, ...b]).size === args.partitions &&
        members[0].join.leaderId === members[1].join.leaderId && a.length > 0 && b.length > 0) break
    await sleep(100)
  }
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = 0; i < args.count; i++) messages.push({ key: `rr-${i}`, value: 'v', partition: i % args.partitions })
  await producer.send({ topic: args.topic, messages })
  await producer.disconnect()
  const total = () => members.reduce((n, m) => n + m.records.length, 0)
  while (total() < args.count) {
    if (failure) throw failure
    await sleep(50)
  }
  await sleep(args.graceMs)
  const result = members.map(m => ({
    memberId: m.join.memberId,
    protocol: m.join.groupProtocol,
    assignment: share(m).slice().sort((x, y) => x - y),
    records: m.records,
  }))
  for (const m of members) await m.consumer.disconnect()
  emitResult({ members: result })
})
