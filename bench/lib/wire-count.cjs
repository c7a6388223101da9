'use strict';
// Span counting for the sink: walks the bytes of a trace payload without building any object, so the sink
// costs the machine (which the traced server shares) as little as possible.
//   - Datadog v0.4: [ trace: [ span map... ]... ]
//   - Datadog v0.5: [ [strings...], [ trace: [ span array... ]... ] ]
//   - OTLP/HTTP protobuf: ExportTraceServiceRequest { resource_spans=1 { scope_spans=2 { spans=2 } } }
//   - OTLP/HTTP JSON: the same structure as JSON.

/** Position after the msgpack value that starts at `p`. */
function skip(b, p) {
  const t = b[p];
  if (t <= 0x7f || t >= 0xe0) return p + 1; // fixint
  if (t >= 0x80 && t <= 0x8f) return skipN(b, p + 1, (t & 0x0f) * 2);
  if (t >= 0x90 && t <= 0x9f) return skipN(b, p + 1, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return p + 1 + (t & 0x1f);
  switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return p + 1;
    case 0xc4: case 0xd9: return p + 2 + b[p + 1];
    case 0xc5: case 0xda: return p + 3 + b.readUInt16BE(p + 1);
    case 0xc6: case 0xdb: return p + 5 + b.readUInt32BE(p + 1);
    case 0xc7: return p + 3 + b[p + 1];
    case 0xc8: return p + 4 + b.readUInt16BE(p + 1);
    case 0xc9: return p + 6 + b.readUInt32BE(p + 1);
    case 0xca: return p + 5;
    case 0xcb: return p + 9;
    case 0xcc: case 0xd0: return p + 2;
    case 0xcd: case 0xd1: return p + 3;
    case 0xce: case 0xd2: return p + 5;
    case 0xcf: case 0xd3: return p + 9;
    case 0xd4: return p + 3;
    case 0xd5: return p + 4;
    case 0xd6: return p + 6;
    case 0xd7: return p + 10;
    case 0xd8: return p + 18;
    case 0xdc: return skipN(b, p + 3, b.readUInt16BE(p + 1));
    case 0xdd: return skipN(b, p + 5, b.readUInt32BE(p + 1));
    case 0xde: return skipN(b, p + 3, b.readUInt16BE(p + 1) * 2);
    case 0xdf: return skipN(b, p + 5, b.readUInt32BE(p + 1) * 2);
    default: throw new Error(`bad msgpack byte 0x${t.toString(16)} at ${p}`);
  }
}

function skipN(b, p, n) {
  for (let i = 0; i < n; i++) p = skip(b, p);
  return p;
}

/** [length, position of the first element] of the msgpack array at `p`. */
function arrayHeader(b, p) {
  const t = b[p];
  if (t >= 0x90 && t <= 0x9f) return [t & 0x0f, p + 1];
  if (t === 0xdc) return [b.readUInt16BE(p + 1), p + 3];
  if (t === 0xdd) return [b.readUInt32BE(p + 1), p + 5];
  throw new Error(`expected a msgpack array at ${p}, found 0x${t.toString(16)}`);
}

/** Traces and spans in an array of traces (arrays of spans) starting at `p`. */
function countTraces(b, p) {
  const [traces, first] = arrayHeader(b, p);
  let spans = 0;
  p = first;
  for (let i = 0; i < traces; i++) {
    const [n, q] = arrayHeader(b, p);
    spans += n;
    p = skipN(b, q, n);
  }
  return { traces, spans, end: p };
}

/** Spans in a Datadog v0.4 or v0.5 body. */
function countDatadog(body, version) {
  if (version === '0.5') {
    const [n, p] = arrayHeader(body, 0);
    if (n !== 2) throw new Error('a v0.5 body is an array of 2');
    return countTraces(body, skip(body, p));
  }
  return countTraces(body, 0);
}

function varint(b, p) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = b[p++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, p];
    shift += 7;
  }
}

/** Calls `fn(field, start, end)` for each length-delimited field of the protobuf message in b[start, end). */
function eachField(b, start, end, fn) {
  let p = start;
  while (p < end) {
    let key;
    [key, p] = varint(b, p);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) [, p] = varint(b, p);
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      let len;
      [len, p] = varint(b, p);
      fn(field, p, p + len);
      p += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** Spans in an OTLP ExportTraceServiceRequest (protobuf or JSON). */
function countOtlp(body, contentType) {
  if (/json/i.test(contentType || '')) {
    const req = JSON.parse(body.toString('utf8'));
    let spans = 0;
    for (const rs of req.resourceSpans || []) for (const ss of rs.scopeSpans || []) spans += (ss.spans || []).length;
    return { traces: undefined, spans };
  }
  let spans = 0;
  eachField(body, 0, body.length, (f1, s1, e1) => {
    if (f1 !== 1) return;
    eachField(body, s1, e1, (f2, s2, e2) => {
      if (f2 !== 2) return;
      eachField(body, s2, e2, (f3) => {
        if (f3 === 2) spans++;
      });
    });
  });
  return { traces: undefined, spans };
}

module.exports = { countDatadog, countOtlp };
