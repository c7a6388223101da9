'use strict';
// The floor experiment of the README's "Where the time goes": the least a tracer of this design can do per
// request, to tell what ddtrace-run's own code costs from what AsyncLocalStorage and msgpackr cost on Node 20.
// It runs each request's listeners in AsyncLocalStorage.run() with a span-shaped object and, unless
// FLOOR_ENCODE=0, packs that object with msgpackr when the response finishes (batches are concatenated and
// dropped: nothing is sent). FLOOR_SPAN=0 keeps only the AsyncLocalStorage run.
//
//   node bench/tools/compare-throughput.cjs /hello 6 3 "untraced=node bench/apps/web.cjs" \
//     "floor=node -r ./bench/tools/floor-tracer.cjs bench/apps/web.cjs" \
//     "floor-no-pack=FLOOR_ENCODE:0|node -r ./bench/tools/floor-tracer.cjs bench/apps/web.cjs" \
//     "als-only=FLOOR_SPAN:0|node -r ./bench/tools/floor-tracer.cjs bench/apps/web.cjs"
const { AsyncLocalStorage } = require('node:async_hooks');
const http = require('node:http');
const { Packr } = require('msgpackr');

const packr = new Packr({ useRecords: false });
const storage = new AsyncLocalStorage();
const SPAN = process.env.FLOOR_SPAN !== '0';
const ENCODE = SPAN && process.env.FLOOR_ENCODE !== '0';
const KEY = Symbol('floor-span');
let nextId = 1n;
let batch = [];

const serverEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function emit(event, req) {
  if (event !== 'request') return serverEmit.apply(this, arguments);
  const span = SPAN
    ? {
        trace_id: nextId++, span_id: nextId++, parent_id: 0n, name: 'web.request', resource: 'GET', service: 'bench-web',
        type: 'web', error: 0, start: BigInt(Date.now()) * 1000000n, duration: 0,
        meta: { language: 'javascript', 'runtime-id': 'runtime', component: 'http', 'span.kind': 'server', 'http.method': req.method,
          'http.url': `http://${req.headers.host}${req.url}`, 'http.useragent': String(req.headers['user-agent']) },
        metrics: { process_id: process.pid, _sampling_priority_v1: 1, '_dd.top_level': 1 },
      }
    : {};
  req[KEY] = span;
  return storage.run(span, () => serverEmit.apply(this, arguments));
};

const responseEmit = http.ServerResponse.prototype.emit;
http.ServerResponse.prototype.emit = function emit(event) {
  if (event === 'finish' && SPAN) {
    const span = this.req[KEY];
    span.duration = 1000;
    span.meta['http.status_code'] = String(this.statusCode);
    if (ENCODE) {
      batch.push(packr.pack([span]));
      if (batch.length >= 1000) {
        Buffer.concat(batch);
        batch = [];
      }
    }
  }
  return responseEmit.apply(this, arguments);
};
