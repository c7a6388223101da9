import assert from 'node:assert/strict';
import { extractMulti, extractSingle, injectMulti, injectSingle } from '../lib/propagation/b3';
import type { Carrier } from '../lib/types';
import { captureLogLines } from './helpers/log-lines';
import { contextMaker } from './helpers/propagation';

const ctx = contextMaker({ traceId: 0xa3ce929d0e0e4736n, spanId: 0x00f067aa0ba902b7n });

describe('propagation: b3', () => {
  const lines = captureLogLines({ debug: true });

  it('injects multi headers with a 16-hex trace id for 64-bit traces', () => {
    const carrier: Record<string, string> = {};
    injectMulti(ctx({ samplingPriority: 0 }), carrier);
    assert.deepEqual(carrier, {
      'x-b3-traceid': 'a3ce929d0e0e4736',
      'x-b3-spanid': '00f067aa0ba902b7',
      'x-b3-sampled': '0',
    });
  });

  it('round-trips 64- and 128-bit contexts through the multi headers', () => {
    for (const original of [ctx(), ctx({ traceIdHigh: '4bf92f3577b34da6', samplingPriority: 0 })]) {
      const carrier: Record<string, string> = {};
      injectMulti(original, carrier);
      assert.deepEqual(extractMulti(carrier), original);
    }
  });

  it('maps x-b3-flags: 1 to user keep and accepts true/false and uppercase hex', () => {
    assert.equal(extractMulti({ 'x-b3-traceid': 'A3CE929D0E0E4736', 'x-b3-spanid': '00F067AA0BA902B7', 'x-b3-flags': '1' })?.samplingPriority, 2);
    assert.equal(extractMulti({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': 'true' })?.samplingPriority, 1);
    assert.equal(extractMulti({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': 'false' })?.samplingPriority, 0);
    assert.equal(extractMulti({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7' })?.samplingPriority, undefined);
  });

  it('injects and round-trips the single header', () => {
    const carrier: Record<string, string> = {};
    const original = ctx({ traceIdHigh: '4bf92f3577b34da6' });
    injectSingle(original, carrier);
    assert.deepEqual(carrier, { b3: '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1' });
    assert.deepEqual(extractSingle(carrier), original);
    const undecided: Record<string, string> = {};
    injectSingle(ctx({ samplingPriority: undefined }), undecided);
    assert.equal(undecided.b3, 'a3ce929d0e0e4736-00f067aa0ba902b7');
  });

  it('reads the debug flag and a parent span id from the single header', () => {
    const got = extractSingle({ b3: 'a3ce929d0e0e4736-00f067aa0ba902b7-d-0000000000000001' });
    assert.equal(got?.samplingPriority, 2);
    assert.equal(got?.spanId, 0x00f067aa0ba902b7n);
  });

  const malformedSingle = [
    '0', '1', 'd', '', 'garbage', 'a3ce929d0e0e4736', 'a3ce929d0e0e4736-', '-00f067aa0ba902b7',
    '0000000000000000-00f067aa0ba902b7-1', 'a3ce929d0e0e4736-0000000000000000-1',
    'a3ce929d0e0e473-00f067aa0ba902b7', 'a3ce929d0e0e4736a-00f067aa0ba902b7',
    'a3ce929d0e0e4736-00f067aa0ba902b7-x', 'a3ce929d0e0e4736-00f067aa0ba902b7-true',
    'a3ce929d0e0e4736-00f067aa0ba902b7-1-zz', 'a3ce929d0e0e4736-00f067aa0ba902b7-1-0000000000000001-x',
    'a3ce929d0e0e4736-' + 'f'.repeat(100_000),
  ];
  for (const value of malformedSingle) {
    it(`single: returns null without throwing on ${JSON.stringify(value.slice(0, 60))}`, () => {
      assert.equal(extractSingle({ b3: value }), null);
    });
  }

  const malformedMulti: Array<[string, Carrier]> = [
    ['zero trace id', { 'x-b3-traceid': '0000000000000000', 'x-b3-spanid': '00f067aa0ba902b7' }],
    ['zero 128-bit trace id', { 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': '00f067aa0ba902b7' }],
    ['zero span id', { 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '0000000000000000' }],
    ['24-hex trace id', { 'x-b3-traceid': 'a3ce929d0e0e4736a3ce929d', 'x-b3-spanid': '00f067aa0ba902b7' }],
    ['non-hex', { 'x-b3-traceid': 'not-a-trace-id!!', 'x-b3-spanid': '00f067aa0ba902b7' }],
    ['missing span id', { 'x-b3-traceid': 'a3ce929d0e0e4736' }],
    ['huge', { 'x-b3-traceid': 'a'.repeat(100_000), 'x-b3-spanid': 'b'.repeat(100_000) }],
  ];
  for (const [name, carrier] of malformedMulti) {
    it(`multi: returns null without throwing on ${name}`, () => {
      assert.equal(extractMulti(carrier), null);
    });
  }

  it('says why at debug level', () => {
    extractMulti({ 'x-b3-traceid': 'zz', 'x-b3-spanid': '00f067aa0ba902b7' });
    assert.ok(lines.some((l) => l.includes('debug: b3multi extract: malformed trace id')));
  });
});
