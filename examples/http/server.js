'use strict';
// A tiny web app with no tracing code at all. Run it traced:
//
//   npx ddtrace-run node examples/http/server.js
//   curl http://localhost:3000/            # one trace: web.request -> http.request (fetch) + http.request (http.get)
//
// PORT sets the port (default 3000, 0 for any free one); DOWNSTREAM_URL sets what / calls (default: this
// app's own /downstream route, so the trace shows the call on both sides).
const http = require('node:http');

const port = Number(process.env.PORT ?? 3000);

function getText(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname === '/downstream') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ hello: 'from downstream', at: new Date().toISOString() }));
    return;
  }
  if (pathname === '/') {
    const target = process.env.DOWNSTREAM_URL ?? `http://127.0.0.1:${server.address().port}/downstream`;
    try {
      const viaFetch = await fetch(target).then(async (r) => ({ status: r.status, body: await r.text() }));
      const viaHttp = await getText(target);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ viaFetch, viaHttp }, null, 2) + '\n');
    } catch (err) {
      res.statusCode = 502;
      res.end(`downstream call failed: ${err.message}\n`);
    }
    return;
  }
  res.statusCode = 404;
  res.end('not found\n');
});

server.listen(port, () => {
  console.log(`listening on ${server.address().port}`);
});
