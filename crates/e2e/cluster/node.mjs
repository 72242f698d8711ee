// One node of the test cluster (issue 12): an Aedes broker that shares its messages
// (mqemitter-redis) and its sessions, retained messages and offline queues
// (aedes-persistence-redis) with every other node on the same Redis. Configuration only: the
// broker is Aedes. Started by scripts/cluster and by the end-to-end tests (crates/e2e).
//
//   node node.mjs --ws 9011 --tcp 1885 --redis 6379 [--id node-1]
//
// Prints "ready <id> ws://127.0.0.1:<ws> mqtt://127.0.0.1:<tcp>" once both listeners are up.
import http from 'node:http'
import net from 'node:net'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { Aedes } from 'aedes'
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js'
import mqemitterRedis from 'mqemitter-redis'
import { WebSocketServer, createWebSocketStream } from 'ws'

const { values: opt } = parseArgs({
  options: {
    ws: { type: 'string', default: '9011' },
    tcp: { type: 'string', default: '1885' },
    redis: { type: 'string', default: '6379' },
    id: { type: 'string', default: `node-${process.pid}` },
    host: { type: 'string', default: '127.0.0.1' }
  }
})
const redis = { host: '127.0.0.1', port: Number(opt.redis) }

// aedes 1.2.0 pipes the retained messages of a SUBSCRIBE, and the Redis persistence 12.0.0
// hands them over as an async generator: make it a stream, as the in-memory one does.
//
// And aedes 1.2.0 stores a persistent session's SUBSCRIBE once per filter, each time with
// every filter of the packet; the Redis persistence then waits for its own broadcast under
// one key per call, the second call takes the first's place, and the first never answers:
// no SUBACK for a SUBSCRIBE of two filters or more. Calls that are alike share one store.
class Persistence extends AsyncRedisPersistence {
  #storing = new Map()

  createRetainedStreamCombi (patterns) {
    return Readable.from(super.createRetainedStreamCombi(patterns))
  }

  addSubscriptions (client, subs) {
    const key = JSON.stringify([client.id, subs.map((s) => [s.topic, s.qos])])
    let stored = this.#storing.get(key)
    if (!stored) {
      stored = super.addSubscriptions(client, subs).finally(() => this.#storing.delete(key))
      this.#storing.set(key, stored)
    }
    return stored
  }
}

const broker = await Aedes.createBroker({
  id: opt.id,
  mq: mqemitterRedis(redis),
  persistence: new Persistence(redis),
  // A crashed node's clients' wills fire when its heartbeat is 3 beats stale: seconds.
  heartbeatInterval: 1000,
  // The app's client ids are longer than 3.1.0's 23 characters.
  maxClientsIdLength: 64,
  drainTimeout: 10000
})

// Every message passes through Redis pub/sub, whose output limit drops very large ones
// silently: refuse WebSocket frames over 256 KiB, as the shipped mosquitto.conf does.
const MAX_PACKET = 256 * 1024

// Connections logged in Mosquitto's words, so the tests (and a person) read both logs alike.
broker.on('client', (client) => {
  const from = client.conn?.remoteAddress ?? client.req?.socket?.remoteAddress ?? 'unknown'
  const p = client.version === 5 ? 5 : client.version === 3 ? 1 : 2
  console.log(`New client connected from ${from} as ${client.id} (p${p}, c${client.clean ? 1 : 0}).`)
})
broker.on('clientDisconnect', (client) => {
  // _disconnected: the client sent DISCONNECT (aedes lib/handlers/index.js).
  console.log(client._disconnected ? `Client ${client.id} disconnected.` : `Client ${client.id} closed its connection.`)
})

const tcp = net.createServer(broker.handle)
const web = http.createServer((_, res) => res.writeHead(426).end('MQTT over WebSockets only\n'))
const wss = new WebSocketServer({
  server: web,
  maxPayload: MAX_PACKET,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false)
})
wss.on('connection', (ws, req) => broker.handle(createWebSocketStream(ws), req))

const listen = (server, port) =>
  new Promise((resolve, reject) => server.once('error', reject).listen(port, opt.host, resolve))
await listen(tcp, Number(opt.tcp))
await listen(web, Number(opt.ws))
console.log(`ready ${opt.id} ws://${opt.host}:${opt.ws} mqtt://${opt.host}:${opt.tcp}`)

const stop = () => {
  wss.clients.forEach((c) => c.terminate())
  broker.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
