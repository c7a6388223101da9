'use strict';
// The floor of sending trace payloads: CPU of a process that only PUTs ready-made bodies of a given size to a
// sink in another process over loopback HTTP (keep-alive, at most 2 in flight, as the exporter does), per byte
// and per span-sized share. Nothing is encoded: this is what the span pipeline's "on the wire" part cannot go
// below for that payload size on this machine.
//
//   node bench/tools/loopback-send.cjs [totalMB=60] [payloadKB...=256 1024]
const http = require('node:http');
const { fork } = require('node:child_process');

if (process.argv[2] === '--sink') {
  http
    .createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"rate_by_service":{}}');
      });
    })
    .listen(0, '127.0.0.1', function () {
      process.send(this.address().port);
    });
  return;
}

const totalBytes = Number(process.argv[2] || 60) * 1e6;
const sizesKB = process.argv.slice(3).map(Number);
const SPAN_BYTES = 469; // a one-span trace of the span pipeline benchmark, on v0.4

function put(agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port, method: 'PUT', path: '/v0.4/traces', headers: { 'content-type': 'application/msgpack', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(port, size) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const body = Buffer.alloc(size, 7);
  for (let i = 0; i < 20; i++) await put(agent, port, body);
  const n = Math.ceil(totalBytes / size);
  const c0 = process.cpuUsage();
  const inFlight = [];
  for (let i = 0; i < n; i++) {
    inFlight.push(put(agent, port, body));
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const c = process.cpuUsage(c0);
  agent.destroy();
  const nsPerByte = ((c.user + c.system) * 1000) / (n * size);
  return { payloadKB: size / 1024, payloads: n, userMs: Math.round(c.user / 1000), sysMs: Math.round(c.system / 1000), nsPerByte: +nsPerByte.toFixed(3), nsPerSpan: Math.round(nsPerByte * SPAN_BYTES) };
}

(async () => {
  const sink = fork(__filename, ['--sink']);
  const port = await new Promise((resolve) => sink.once('message', resolve));
  try {
    for (const kb of sizesKB.length > 0 ? sizesKB : [256, 1024]) process.stdout.write(`${JSON.stringify(await measure(port, kb * 1024))}\n`);
  } finally {
    sink.kill();
  }
})();
