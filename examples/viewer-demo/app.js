// A small shop for trying the local trace viewer:
//
//   ddtrace-run node examples/viewer-demo/app.js        (no Datadog Agent needed)
//   curl localhost:3000/checkout ; curl localhost:3000/fail
//
// then open the page ddtrace-run printed. Plain `http` and `fetch`, plus a few custom spans, so it runs
// with nothing installed.
'use strict';
const http = require('node:http');
const { tracer } = require('ddtrace-run');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loadCart(id) {
  return tracer.trace('cart.load', { resource: 'cart ' + id }, async (span) => {
    span.setTag('cart.id', id);
    await sleep(3);
    const total = await tracer.trace('pricing.compute', { resource: 'compute totals' }, async (pricing) => {
      await sleep(2);
      pricing.addEvent('discount.applied', { code: 'WELCOME10', percent: 10 });
      return 42.5;
    });
    return { id, items: 3, total };
  });
}

const server = http.createServer(async (req, res) => {
  const port = server.address().port;
  try {
    if (req.url === '/checkout') {
      const cart = await loadCart('c-1001');
      const stock = await fetch(`http://127.0.0.1:${port}/inventory`).then((r) => r.json());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ cart, stock }));
    } else if (req.url === '/inventory') {
      await tracer.trace('inventory.lookup', { resource: 'sku-7' }, () => sleep(4));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sku: 'sku-7', available: 12 }));
    } else if (req.url === '/fail') {
      await tracer.trace('payment.charge', { resource: 'charge card' }, async () => {
        await sleep(2);
        throw new Error('card declined');
      });
    } else {
      res.writeHead(404);
      res.end('not found\n');
    }
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err && err.message) + '\n');
  }
});

server.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
  process.stdout.write(`viewer demo listening on ${server.address().port}\n`);
});

// Stop cleanly on Ctrl-C or kill, so the last traces are flushed on exit.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
