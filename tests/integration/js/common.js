// Shared by the kafkajs programs that test_kafkajs.py drives: argument parsing, a logger that
// keeps stdout clean for the RESULT line, and a hard deadline so a hung client cannot hang pytest.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

function readArgs() {
  if (process.argv.length < 3) {
    console.error('usage: node <program>.js \'{"brokers": ["127.0.0.1:9092"], ...}\'')
    process.exit(64)
  }
  return JSON.parse(process.argv[2])
}

// kafkajs's default logger writes INFO to stdout; everything goes to stderr here.
const stderrLogCreator = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
}

// args.tls: {ca, cert, key} file paths (ca alone for SSL, all three for mutual TLS);
// args.sasl: kafkajs's {mechanism, username, password}.
function tlsOptions(tls) {
  if (!tls) return undefined
  const fs = require('fs')
  const out = { ca: [fs.readFileSync(tls.ca, 'utf8')], servername: 'localhost' }
  if (tls.cert) out.cert = fs.readFileSync(tls.cert, 'utf8')
  if (tls.key) out.key = fs.readFileSync(tls.key, 'utf8')
  return out
}

function makeKafka(args) {
  return new Kafka({
    clientId: 'samsa-it-js',
    brokers: args.brokers,
    ssl: tlsOptions(args.tls),
    sasl: args.sasl,
    logLevel: logLevel.WARN,
    logCreator: stderrLogCreator,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 3, initialRetryTime: 200 },
  })
}

// Not unref'd on purpose: it also keeps node from exiting silently (code 0) when a client
// leaves a promise pending forever; main() ends the process explicitly on success or error.
function armDeadline(seconds) {
  setTimeout(() => {
    console.error(`DEADLINE: gave up after ${seconds}s`)
    process.exit(3)
  }, seconds * 1000)
}

function emitResult(result) {
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\n')
}

async function main(body) {
  try {
    await body()
    process.exit(0)
  } catch (e) {
    console.error('FAILED:', e && e.stack ? e.stack : e)
    process.exit(1)
  }
}

function check(condition, what) {
  if (!condition) throw new Error('check failed: ' + what)
}

module.exports = { readArgs, makeKafka, armDeadline, emitResult, main, check }
