// kafkajs 2.2.4 moving a partition between brokers (KIP-455), driven by
// tests/integration/test_reassignment_clients.py. Every wait is a bounded poll.
//
// Args (JSON): { brokers, topic, partition, mode, target, expect, badReplicas, boundMs }
//   mode "move":   describeCluster; alterPartitionReassignments to `badReplicas` (when given: the
//                  error kafkajs reports) and then to `target`; listPartitionReassignments until
//                  the partition is no longer listed; fetchTopicMetadata until replicas == target
//                  and the ISR is the same set.
//   mode "start":  alterPartitionReassignments to `target` (one new broker cannot catch up); list
//                  until the partition is listed; then tries to cancel it (replicas: null).
//   mode "settle": list until the partition is no longer listed; fetchTopicMetadata until the
//                  replicas and the ISR are both the set `expect`.
// Prints one JSON object per line on stdout, each with a `step`; the last is {"step":"done"}.
// kafkajs's own log goes to stderr.
'use strict'

const { readArgs, makeKafka, armDeadline, main, check } = require('./common')

const args = readArgs()
const bound = args.boundMs || 30000
armDeadline(Math.ceil(bound / 1000) * 2 + 20)

const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join()

// Polls `probe` (which returns {ok, seen}) every 200 ms until ok or the bound.
async function poll(what, probe) {
  const started = Date.now()
  let seen
  while (Date.now() - started < bound) {
    const r = await probe()
    seen = r.seen
    if (r.ok) return { seen, ms: Date.now() - started }
    await sleep(200)
  }
  emit({ step: 'timeout', what, seen })
  throw new Error(`${what} not reached within ${bound} ms; last seen ${JSON.stringify(seen)}`)
}

// This topic's ongoing reassignment of `partition` as listPartitionReassignments shows it, or null.
async function listed(admin) {
  const { topics } = await admin.listPartitionReassignments({ topics: [{ topic: args.topic, partitions: [args.partition] }] })
  for (const t of topics) {
    if (t.name !== args.topic) continue
    for (const p of t.partitions) if (p.partition === args.partition) return p
  }
  return null
}

async function partitionMetadata(admin) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [args.topic] })
  const t = topics.find(x => x.name === args.topic)
  return t && t.partitions.find(p => p.partitionId === args.partition)
}

function errorOf(e) {
  return {
    name: e.name,
    type: e.type || null,
    message: e.message,
    retriable: e.retriable,
    errors: (e.errors || []).map(x => ({ name: x.name, type: x.type, topic: x.topic, partition: x.partition })),
  }
}

async function alter(admin, replicas) {
  await admin.alterPartitionReassignments({
    topics: [{ topic: args.topic, partitionAssignment: [{ partition: args.partition, replicas }] }],
  })
}

async function settle(admin, expect) {
  // Whether the reassignment was seen in progress on the way is reported, not required: a
  // small partition may finish between two polls.
  let inProgress = null
  const gone = await poll('the reassignment no longer listed', async () => {
    const p = await listed(admin)
    if (p && !inProgress) inProgress = p
    return { ok: p === null, seen: p }
  })
  emit({ step: 'unlisted', ms: gone.ms, inProgress })
  const done = await poll(`replicas and ISR ${expect}`, async () => {
    const p = await partitionMetadata(admin)
    return { ok: !!p && sameSet(p.replicas, expect) && sameSet(p.isr, expect) && p.leader >= 0, seen: p }
  })
  emit({ step: 'metadata', ms: done.ms, partition: done.seen })
}

main(async () => {
  const kafka = makeKafka(args)
  const admin = kafka.admin()
  await admin.connect()

  if (args.mode === 'move') {
    emit({ step: 'describeCluster', cluster: await admin.describeCluster() })
    const before = await partitionMetadata(admin)
    emit({ step: 'before', partition: before, listed: await listed(admin) })
    if (args.badReplicas) {
      try {
        await alter(admin, args.badReplicas)
        emit({ step: 'bad', error: null })
      } catch (e) {
        emit({ step: 'bad', error: errorOf(e) })
      }
    }
    const started = Date.now()
    await alter(admin, args.target)
    emit({ step: 'altered', target: args.target })
    await settle(admin, args.target)
    emit({ step: 'moved', ms: Date.now() - started })
  } else if (args.mode === 'start') {
    await alter(admin, args.target)
    emit({ step: 'altered', target: args.target })
    const found = await poll('the reassignment listed', async () => {
      const p = await listed(admin)
      return { ok: p !== null, seen: p }
    })
    emit({ step: 'listed', reassignment: found.seen, all: (await admin.listPartitionReassignments({})).topics })
    // KIP-455 cancels with null replicas; kafkajs 2.2.4 checks `replicas` is an array before
    // sending anything (and its encoder has no way to write a null array here).
    try {
      await alter(admin, null)
      emit({ step: 'cancel', error: null })
    } catch (e) {
      emit({ step: 'cancel', error: errorOf(e) })
    }
    // Still in progress: nothing was sent.
    emit({ step: 'still', reassignment: await listed(admin) })
  } else if (args.mode === 'settle') {
    await settle(admin, args.expect)
  } else {
    check(false, `unknown mode ${args.mode}`)
  }
  await admin.disconnect()
  emit({ step: 'done' })
})
