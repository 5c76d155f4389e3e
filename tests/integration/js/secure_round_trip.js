// kafkajs over a secured listener (test_security.py): creates the topic, produces `count`
// records with acks=all, reads them back with a consumer group from the beginning.
// RESULT {"values": [...]}.
'use strict'

const { readArgs, makeKafka, armDeadline, emitResult, main } = require('./common')

const args = readArgs()
armDeadline(90)

main(async () => {
  const kafka = makeKafka(args)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: args.topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = 0; i < args.count; i++) messages.push({ value: `js-${i}`, partition: 0 })
  await producer.send({ topic: args.topic, acks: -1, messages })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `g-${args.topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  const values = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value.toString())
        if (values.length >= args.count) resolve()
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  emitResult({ values })
})
