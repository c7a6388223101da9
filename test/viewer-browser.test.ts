/**
 * End to end, the way a new user meets the viewer: an app started with `bin/ddtrace-run` and no agent
 * reachable, requests sent to it, and the page driven in a real headless Chromium — the list updates live,
 * filters work, a click opens the waterfall with the expected spans in tree order, errors are red, and the
 * page talks to nothing but the local agent; the services page draws a row and charts per resource from a
 * trace stats payload and links to that resource's traces. Screenshots go to `test-artifacts/`.
 *
 * Chromium is required: the test fails (it is not skipped) when `/usr/bin/chromium` is missing.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { pack } from 'msgpackr';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fixture, ROOT, runApp, stopAllApps, type AppHandle } from './helpers/run-app';
import { freePort } from './helpers/ports';

// Code run in the page is written as strings: this project compiles without the DOM's types.

/** A trace row as the list shows it. */
interface ListRow {
  service: string;
  resource: string;
  op: string;
  duration: string;
  spans: string;
  status: string;
  error: boolean;
}

const LIST_ROWS = `Array.from(document.querySelectorAll('tr.trace-row')).map((tr) => ({
  service: tr.querySelector('.c-service').textContent,
  resource: tr.querySelector('.resource').textContent,
  op: tr.querySelector('.op').textContent,
  duration: tr.querySelector('.dur-text').textContent,
  spans: tr.querySelector('.c-spans').textContent,
  status: tr.querySelector('.c-status').textContent,
  error: tr.classList.contains('is-error'),
}))`;

/** A waterfall row: operation, depth (from its indentation) and its bar's place in %. */
interface WaterfallRow {
  op: string;
  depth: number;
  left: number;
  width: number;
  error: boolean;
}

const WATERFALL_ROWS = `Array.from(document.querySelectorAll('.wf-row')).map((r) => ({
  op: r.querySelector('.wf-op').textContent,
  depth: (parseInt(r.querySelector('.wf-name-col').style.paddingLeft, 10) - 10) / 16,
  left: parseFloat(r.querySelector('.wf-bar').style.left),
  width: parseFloat(r.querySelector('.wf-bar').style.width),
  error: r.classList.contains('is-error'),
}))`;

const rowCount = (selector: string, n: number): string => `document.querySelectorAll(${JSON.stringify(selector)}).length === ${n}`;

/**
 * Wait until `expression` is true in the page. Polled from here with CDP evaluations: the page's own
 * Content-Security-Policy (no eval) stays in force and blocks Playwright's string predicates.
 */
async function waitUntil(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.evaluate(`Boolean(${expression})`)) === true) return;
    if (Date.now() > until) throw new Error(`timed out waiting in the page for: ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** A trace stats payload as a tracer sends it: `hits` spans of `payment.charge` ("charge card") in the last closed bucket, `errors` of them failed. */
function statsPayload(hits: number, errors: number): Buffer {
  const ok = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 2048 });
  const failed = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 2048 });
  let total = 0;
  for (let i = 0; i < hits; i++) {
    const ns = 1_000_000 + i * 50_000;
    total += ns;
    if (i < errors) failed.accept(ns);
    else ok.accept(ns);
  }
  const now = BigInt(Date.now()) * 1_000_000n;
  const start = now - (now % 10_000_000_000n) - 10_000_000_000n;
  return pack({
    Hostname: '', Env: '', Version: '', Lang: 'javascript', TracerVersion: '0.0.0-test', RuntimeID: 'browser-test', Sequence: 1, Service: 'shop',
    Stats: [{
      Start: start,
      Duration: 10_000_000_000n,
      Stats: [{
        Service: 'shop', Name: 'payment.charge', Resource: 'charge card', Type: '', HTTPStatusCode: 0, Synthetics: false,
        Hits: hits, Errors: errors, Duration: BigInt(total), TopLevelHits: 0,
        OkSummary: Buffer.from(ok.toProto()), ErrorSummary: Buffer.from(failed.toProto()),
        SpanKind: '', PeerTags: [], IsTraceRoot: 2, HTTPMethod: '', HTTPEndpoint: '', GRPCStatusCode: '',
      }],
    }],
  });
}

function putStats(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-type': 'application/msgpack' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A resource row of the services page. */
interface StatsRow {
  service: string;
  resource: string;
  rps: string;
  hits: string;
  errors: string;
  charts: number;
  /** Lines and dots drawn in the charts. */
  marks: number;
}

const STATS_ROWS = `Array.from(document.querySelectorAll('tr.stats-row')).map((tr) => ({
  service: tr.dataset.service,
  resource: tr.querySelector('.resource').textContent,
  rps: tr.querySelector('.c-rps .metric-value').textContent,
  hits: tr.querySelector('.c-rps .metric-sub').textContent,
  errors: tr.querySelector('.c-err .metric-value').textContent,
  charts: tr.querySelectorAll('svg.chart').length,
  marks: tr.querySelectorAll('svg.chart path.chart-line, svg.chart circle.chart-dot').length,
}))`;

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('trace viewer in a real browser (app under ddtrace-run, no agent)', function () {
  this.timeout(90_000);
  let app: AppHandle;
  let appPid = 0;
  let appPort = 0;
  let viewerUrl = '';
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `Chromium is required for this test and is missing at ${CHROMIUM} (apt-get install -y chromium)`);
    const localPort = await freePort();
    app = runApp(fixture('local-agent', 'app.js'), {
      mode: 'launcher',
      env: { DD_SERVICE: 'shop', DD_TRACE_LOCAL_AGENT_PORT: String(localPort) },
      flushIntervalMs: 100,
      timeoutMs: 85_000,
    });
    const ready = await app.waitForOutput(/READY (\{.*\})/, { stream: 'stdout' });
    const info = JSON.parse(ready[1]) as { port: number; pid: number };
    appPid = info.pid;
    appPort = info.port;
    const line = await app.waitForOutput(/see them at (http:\/\/127\.0\.0\.1:\d+\/)/, { stream: 'stderr' });
    viewerUrl = line[1];
    assert.equal(viewerUrl, `http://127.0.0.1:${localPort}/`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(viewerUrl)) foreignRequests.push(req.url());
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (appPid) {
      try {
        process.kill(appPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await stopAllApps();
  });

  it('shows an empty list first, then the requests as they arrive, without a reload', async () => {
    await page.goto(viewerUrl);
    await page.waitForSelector('#empty:not([hidden])');
    assert.match(await page.textContent('#empty') ?? '', /No traces yet/);
    await page.waitForSelector('#live.is-on', { timeout: 10_000 });

    assert.equal(await get(`http://127.0.0.1:${appPort}/checkout`), 200);
    assert.equal(await get(`http://127.0.0.1:${appPort}/fail`), 500);

    // The list fills in live; the /checkout trace is complete once its six spans are in.
    await waitUntil(page, `(() => {
      const rows = ${LIST_ROWS};
      return rows.some((r) => r.resource === 'GET/checkout' && r.spans === '6') && rows.some((r) => r.resource === 'GET/fail');
    })()`, 20_000);

    const rows = (await page.evaluate(LIST_ROWS)) as ListRow[];
    const checkout = rows.find((r) => r.resource.includes('/checkout'));
    const fail = rows.find((r) => r.resource.includes('/fail'));
    assert.ok(checkout && fail, JSON.stringify(rows));
    assert.equal(checkout.service, 'shop');
    assert.equal(checkout.resource, 'GET/checkout');
    assert.equal(checkout.op, 'web.request200');
    assert.match(checkout.duration, /^\d[\d.]* (ms|µs|s)$/);
    assert.equal(checkout.status, 'OK');
    assert.equal(checkout.error, false);
    assert.equal(fail.error, true);
    assert.match(fail.status, /^2 errors$/, 'the request span (500) and payment.charge');
    assert.match(await page.textContent('#counts') ?? '', /^2 traces kept$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-list.png') });
  });

  it('filters by status, resource and service', async () => {
    const resources = async (): Promise<string[]> => ((await page.evaluate(LIST_ROWS)) as ListRow[]).map((r) => r.resource);
    await page.selectOption('#f-error', 'true');
    await waitUntil(page, rowCount('tr.trace-row', 1));
    assert.deepEqual(await resources(), ['GET/fail']);
    await page.selectOption('#f-error', '');
    // Both rows back first: otherwise the one-row wait below could pass on the error filter's stale list.
    await waitUntil(page, rowCount('tr.trace-row', 2));
    await page.fill('#f-resource', 'inventory');
    await waitUntil(page, rowCount('tr.trace-row', 1));
    assert.deepEqual(await resources(), ['GET/checkout'], 'a span deep in the trace matches');
    await page.fill('#f-resource', 'no-such-thing');
    await page.waitForSelector('#empty:not([hidden])');
    assert.match(await page.textContent('#empty') ?? '', /No trace matches these filters/);
    await page.fill('#f-resource', '');
    await waitUntil(page, rowCount('tr.trace-row', 2));
    const services = await page.evaluate(`Array.from(document.querySelectorAll('#f-service option')).map((o) => o.value)`);
    assert.deepEqual(services, ['', 'shop']);
    await page.selectOption('#f-service', 'shop');
    await waitUntil(page, rowCount('tr.trace-row', 2));
    await page.selectOption('#f-service', '');
  });

  it('opens the waterfall of a trace: spans in tree order, timing bars, details with tags and events', async () => {
    await page.click('tr.trace-row:has(.path:text-is("/checkout"))');
    await waitUntil(page, `location.hash.startsWith('#/trace/') && ${rowCount('.wf-row', 6)}`);
    const spans = (await page.evaluate(WATERFALL_ROWS)) as WaterfallRow[];
    assert.deepEqual(
      spans.map((s) => [s.op, s.depth]),
      [
        ['web.request', 0],
        ['cart.load', 1],
        ['pricing.compute', 2],
        ['http.request', 1],
        ['web.request', 2],
        ['inventory.lookup', 3],
      ],
      'parent/child structure across the fetch to /inventory',
    );
    assert.equal(spans[0].left, 0);
    assert.ok(Math.abs(spans[0].width - 100) < 0.01, 'the root spans the whole trace');
    for (const s of spans.slice(1)) {
      assert.ok(s.left >= 0 && s.width > 0 && s.left + s.width <= 100.0001, JSON.stringify(s));
      assert.equal(s.error, false);
    }
    assert.ok(spans[2].left >= spans[1].left, 'a child starts after its parent');
    const head = await page.textContent('#trace-head') ?? '';
    assert.match(head, /shop·?\s*GET\/checkout200/);
    assert.match(head, /Spans6/);

    await page.click('.wf-row:has(.wf-op:text-is("pricing.compute"))');
    await page.waitForSelector('.wf-details');
    const details = await page.textContent('.wf-details') ?? '';
    assert.match(details, /discount\.applied/);
    assert.match(details, /code="WELCOME10"/);
    assert.match(details, /languagejavascript/);
    assert.match(details, /_sampling_priority_v1/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer.png'), fullPage: true });
  });

  it('shows errors in red with the error message and stack', async () => {
    await page.click('#back');
    await page.waitForSelector('tr.trace-row.is-error');
    await page.click('tr.trace-row.is-error');
    await waitUntil(page, rowCount('.wf-row', 2));
    const rows = (await page.evaluate(WATERFALL_ROWS)) as WaterfallRow[];
    assert.deepEqual(rows.map((r) => [r.op, r.depth, r.error]), [['web.request', 0, true], ['payment.charge', 1, true]]);
    const barColor = (await page.evaluate(`getComputedStyle(document.querySelectorAll('.wf-row .wf-bar')[1]).backgroundColor`)) as string;
    const [r, g, b] = (barColor.match(/\d+/g) ?? []).map(Number);
    assert.ok(r > 150 && g < 100 && b < 120, `error bars are red, got ${barColor}`);
    await page.click('.wf-row:has(.wf-op:text-is("payment.charge"))');
    const box = await page.textContent('.error-box') ?? '';
    assert.match(box, /^Error: card declined/);
    assert.match(box, /at .*app\.js:\d+/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-error.png'), fullPage: true });
  });

  it('shows the services page from trace stats: a row per resource with its charts, linking to its traces', async () => {
    const traceHash = (await page.evaluate('location.hash')) as string;
    await page.click('#tab-services');
    await page.waitForSelector('#services-view:not([hidden])');
    assert.equal((await putStats(`${viewerUrl}v0.6/stats`, statsPayload(40, 10))), 200);
    // The page polls every 5 s; the row appears without a reload.
    await waitUntil(page, `${STATS_ROWS}.some((r) => r.resource === 'charge card')`, 20_000);
    const rows = (await page.evaluate(STATS_ROWS)) as StatsRow[];
    const charge = rows.find((r) => r.resource === 'charge card');
    assert.ok(charge, JSON.stringify(rows));
    assert.equal(charge.service, 'shop');
    // The rate is over the period stats cover, which the tracer's own stats (once it sends them) lengthen.
    assert.match(charge.rps, /^\d[\d.]*\/s$/);
    assert.equal(charge.hits, '40 hits');
    assert.equal(charge.errors, '25%');
    assert.equal(charge.charts, 3, 'requests, error rate and latency');
    assert.ok(charge.marks >= 5, `a line or dot per chart, three for the latency quantiles (got ${charge.marks})`);
    const latency = await page.textContent('tr.stats-row[data-resource="charge card"] .c-lat .metric-value') ?? '';
    assert.match(latency, /^[\d.]+ ms · [\d.]+ ms · [\d.]+ ms$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-services.png'), fullPage: true });

    await page.click('tr.stats-row[data-resource="charge card"] .traces-link');
    await waitUntil(page, `location.hash.startsWith('#/?') && !document.getElementById('list-view').hidden && ${rowCount('tr.trace-row', 1)}`);
    assert.equal(await page.inputValue('#f-service'), 'shop');
    assert.equal(await page.inputValue('#f-resource'), 'charge card');
    const listed = (await page.evaluate(LIST_ROWS)) as ListRow[];
    assert.deepEqual(listed.map((r) => r.resource), ['GET/fail'], 'the sampled trace holding a charge card span');
    await page.fill('#f-resource', '');
    await page.selectOption('#f-service', '');
    // Back to the trace the next test starts from.
    await page.evaluate(`location.hash = ${JSON.stringify(traceHash)}`);
    await waitUntil(page, rowCount('.wf-row', 2));
  });

  it('deep links to a trace, and the page used nothing but the local agent and raised no error', async () => {
    const id = (await page.evaluate(`location.hash.slice('#/trace/'.length)`)) as string;
    assert.match(id, /^\d+$/);
    const second = await (browser as Browser).newPage();
    await second.goto(`${viewerUrl}#/trace/${id}`);
    await waitUntil(second, rowCount('.wf-row', 2));
    await second.goto(`${viewerUrl}#/trace/123`);
    await second.waitForSelector('#trace-missing:not([hidden])');
    assert.match(await second.textContent('#trace-missing') ?? '', /no trace 123/);
    await second.close();
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
