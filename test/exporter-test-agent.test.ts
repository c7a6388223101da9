/**
 * The test agent itself: every other test trusts it to catch what the real agent would reject, so its
 * checks are tested here with hand-made requests (no exporter involved).
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { Packr } from 'msgpackr';
import { TestAgent } from './helpers/test-agent';

interface Answer {
  status: number;
  body: string;
}

function request(agent: TestAgent, method: string, path: string, body: Buffer | undefined, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: agent.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const GOOD_HEADERS = {
  'Content-Type': 'application/msgpack',
  'Datadog-Meta-Lang': 'nodejs',
  'Datadog-Meta-Tracer-Version': '0.0.0-test',
};

function v04Span(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    trace_id: 1n,
    span_id: 2n,
    parent_id: 0,
    name: 'n',
    resource: 'r',
    service: 's',
    type: 't',
    error: 0,
    start: 1_700_000_000_000_000_000n,
    duration: 10,
    meta: {},
    metrics: {},
    ...over,
  };
}

describe('test agent', () => {
  let agent: TestAgent;
  const packr = new Packr({ useRecords: false });

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => agent.reset());

  it('answers GET /info like the agent', async () => {
    const answer = await request(agent, 'GET', '/info', undefined);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { version: 'test', endpoints: ['/v0.4/traces', '/v0.5/traces'] });
  });

  it('accepts a correct v0.4 request, records it and answers rate_by_service', async () => {
    agent.setRates({ 'service:s,env:': 0.5 });
    const body = packr.pack([[v04Span()]]);
    const answer = await request(agent, 'PUT', '/v0.4/traces', body, { ...GOOD_HEADERS, 'X-Datadog-Trace-Count': '1' });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { rate_by_service: { 'service:s,env:': 0.5 } });
    assert.deepEqual(agent.violations, []);
    assert.equal(agent.requests.length, 1);
    assert.deepEqual(agent.requests[0].body, body);
    assert.equal(agent.spans()[0].span_id, 2n);
    agent.setRates({ 'service:,env:': 1 });
  });

  it('flags what the real agent rejects: float ids, a wrong trace count, missing headers, bad meta.events', async () => {
    // msgpackr writes a JS number above 2^32 as float64: exactly the mistake the agent refuses.
    const body = packr.pack([[v04Span({ trace_id: 2 ** 40, meta: { events: '{"not":"an array"}' } })]]);
    const answer = await request(agent, 'PUT', '/v0.4/traces', body, {
      'Content-Type': 'application/json',
      'X-Datadog-Trace-Count': '3',
    });
    assert.equal(answer.status, 400);
    const all = agent.violations.join('\n');
    assert.match(all, /trace_id is a float/);
    assert.match(all, /X-Datadog-Trace-Count is 3 but the body has 1 traces/);
    assert.match(all, /Datadog-Meta-Tracer-Version is missing/);
    assert.match(all, /Content-Type is application\/json/);
    assert.match(all, /meta\.events is not a JSON array/);
  });

  it('decodes v0.5 into the same span objects and flags a string index out of range', async () => {
    const strings = ['', 'svc', 'op', 'res', 'k', 'v', 'web'];
    const span = [1, 2, 3, 10n, 11n, 0, 1_700_000_000_000_000_000n, 5, 0, new Map([[4, 5]]), new Map([[4, 1.5]]), 6];
    const good = packr.pack([strings, [[span]]]);
    await request(agent, 'PUT', '/v0.5/traces', good, { ...GOOD_HEADERS, 'X-Datadog-Trace-Count': '1' });
    assert.deepEqual(agent.violations, []);
    assert.deepEqual(agent.spans()[0], {
      trace_id: 10n,
      span_id: 11n,
      parent_id: 0n,
      name: 'op',
      resource: 'res',
      service: 'svc',
      type: 'web',
      error: 0,
      start: 1_700_000_000_000_000_000n,
      duration: 5,
      meta: { k: 'v' },
      metrics: { k: 1.5 },
    });
    const bad = packr.pack([strings, [[[99, ...span.slice(1)]]]]);
    await request(agent, 'PUT', '/v0.5/traces', bad, { ...GOOD_HEADERS, 'X-Datadog-Trace-Count': '1' });
    assert.match(agent.violations.join('\n'), /string index 99 out of range/);
  });

  it('waitForSpans resolves on a later request and rejects listing what did arrive', async () => {
    const waiting = agent.waitForSpans((spans) => spans.some((s) => s.name === 'late'), 2000);
    await request(agent, 'PUT', '/v0.4/traces', packr.pack([[v04Span({ name: 'late' })]]), { ...GOOD_HEADERS, 'X-Datadog-Trace-Count': '1' });
    assert.equal((await waiting).length, 1);
    await assert.rejects(
      agent.waitForSpans((spans) => spans.length > 5, 100),
      /no match after 100 ms; received 1 span\(s\): late \(service=s, resource=r\)/,
    );
  });

  it('respondWith sets the answer of trace requests', async () => {
    agent.respondWith(503, { error: 'busy' });
    const answer = await request(agent, 'PUT', '/v0.4/traces', packr.pack([]), { ...GOOD_HEADERS, 'X-Datadog-Trace-Count': '0' });
    assert.equal(answer.status, 503);
    assert.deepEqual(JSON.parse(answer.body), { error: 'busy' });
  });
});
