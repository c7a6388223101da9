/**
 * The ioredis and node-redis integrations end to end: a real app (test/fixtures/redis) started as a child
 * `node` through the real preloader (`--require` for CommonJS, `--import` for ESM), talking to the real
 * Redis, its spans read back from the test agent. Every run exercises callbacks, promises, pipelines,
 * transactions, unknown commands, a failing command whose promise the app never handles, a failing AUTH, long and binary arguments, a command issued during
 * connection setup, a refused connection and (node-redis 5+) a client pool with a queue.
 *
 * The oldest supported majors, ioredis 4 and redis 4 (which brings its own @redis/client 1.x), are installed
 * as the aliases `ioredis4` and `redis4`, names no app requires. The test installs them the way npm would
 * for an app: copies of the packages at `test/fixtures/redis/v4/node_modules/{ioredis,redis}` (git-ignored);
 * the v4 entry files' `require('ioredis')` / `import 'redis'` resolve to them through the ordinary resolver.
 * The app prints where each module resolved from and the preloader's debug log says which versions it
 * patched; both are checked.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixture, stopAllApps, ROOT, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, versionOf, type ResultAppRun } from './helpers/db-apps';
import { freePort } from './helpers/ports';
import { oneNamed as one, ownMeta, ownMetrics } from './helpers/span-set';

const HOST = process.env.REDIS_HOST || '127.0.0.1';
const PORT = Number(process.env.REDIS_PORT || 6379);
const SERVICE = 'shop';
const SECRET = 'hunter2-not-a-real-password';

/** One command span expected under a step. */
interface Command {
  readonly resource: string;
  readonly raw: string;
  readonly error?: boolean;
  readonly refused?: boolean;
}

/** A step of the fixture: its custom span's name and the command spans expected under it. */
interface Step {
  readonly step: string;
  readonly commands: readonly Command[];
}

/** The raw command of a DEL of 150 keys: cut at 1000 characters, the last three being `...`. */
function longDel(prefix: string, tag: string): string {
  const full = ['DEL', ...Array.from({ length: 150 }, (_, i) => `${prefix}${tag}-${i}`)].join(' ');
  assert.ok(full.length > 1000);
  return full.slice(0, 997) + '...';
}

// ioredis keeps the command as the app called it (`redis.set` is `set`, `redis.call('NOSUCHCMD')` is
// `NOSUCHCMD`), and so does the resource, as in Datadog's tracer; the raw command is upper case.
function ioredisSteps(p: string): Step[] {
  return [
    { step: 'io.cb', commands: [{ resource: 'set', raw: `SET ${p}io1 v1` }] },
    { step: 'io.promise', commands: [{ resource: 'get', raw: `GET ${p}io1` }] },
    {
      step: 'io.pipeline',
      commands: [
        { resource: 'set', raw: `SET ${p}io2 a` },
        { resource: 'incr', raw: `INCR ${p}io3` },
        { resource: 'get', raw: `GET ${p}io2` },
      ],
    },
    {
      step: 'io.multi',
      commands: [
        { resource: 'multi', raw: 'MULTI' },
        { resource: 'set', raw: `SET ${p}io4 b` },
        { resource: 'get', raw: `GET ${p}io4` },
        { resource: 'exec', raw: 'EXEC' },
      ],
    },
    { step: 'io.error', commands: [{ resource: 'NOSUCHCMD', raw: 'NOSUCHCMD x', error: true }] },
    // Fire and forget: the app never handles the failing command's promise; a later command marks the end.
    {
      step: 'io.unhandled',
      commands: [
        { resource: 'NOSUCHCMD', raw: 'NOSUCHCMD unhandled', error: true },
        { resource: 'echo', raw: 'ECHO after-unhandled' },
      ],
    },
    { step: 'io.auth', commands: [{ resource: 'auth', raw: 'AUTH', error: true }] },
    {
      step: 'io.long',
      commands: [
        { resource: 'set', raw: `SET ${p}io5 ${'x'.repeat(97)}...` },
        { resource: 'set', raw: `SET ${p}io6 ?` },
        { resource: 'del', raw: longDel(p, 'io') },
      ],
    },
    // Issued while the client set its connection up: no HELLO, SELECT, INFO or CLIENT span, only the app's.
    {
      step: 'io.connect',
      commands: [
        { resource: 'get', raw: `GET ${p}io1` },
        { resource: 'quit', raw: 'QUIT' },
      ],
    },
    { step: 'io.refused', commands: [{ resource: 'get', raw: `GET ${p}io1`, error: true, refused: true }] },
  ];
}

function nodeRedisSteps(p: string, withPool: boolean): Step[] {
  const steps: Step[] = [
    {
      step: 'nr.promise',
      commands: [
        { resource: 'SET', raw: `SET ${p}nr1 v1` },
        { resource: 'GET', raw: `GET ${p}nr1` },
      ],
    },
    {
      step: 'nr.multi',
      commands: [
        { resource: 'MULTI', raw: 'MULTI' },
        { resource: 'SET', raw: `SET ${p}nr2 b` },
        { resource: 'GET', raw: `GET ${p}nr2` },
        { resource: 'EXEC', raw: 'EXEC' },
      ],
    },
    {
      step: 'nr.pipeline',
      commands: [
        { resource: 'SET', raw: `SET ${p}nr3 c` },
        { resource: 'GET', raw: `GET ${p}nr3` },
      ],
    },
    { step: 'nr.error', commands: [{ resource: 'NOSUCHCMD', raw: 'NOSUCHCMD x', error: true }] },
    { step: 'nr.auth', commands: [{ resource: 'AUTH', raw: 'AUTH', error: true }] },
    {
      step: 'nr.long',
      commands: [
        { resource: 'SET', raw: `SET ${p}nr5 ${'x'.repeat(97)}...` },
        { resource: 'SET', raw: `SET ${p}nr6 ?` },
        { resource: 'DEL', raw: longDel(p, 'nr') },
      ],
    },
    // node-redis refuses to send commands before it is connected: the refused connect makes no span.
    { step: 'nr.refused', commands: [] },
  ];
  if (withPool) for (const i of [1, 2, 3]) steps.push({ step: `nr.pool.${i}`, commands: [{ resource: 'GET', raw: `GET ${p}nr1` }] });
  return steps;
}

/** What one run of the fixture gave, and the prefix of the keys it used. */
interface AppRun extends ResultAppRun {
  readonly prefix: string;
}

/** Fail (not skip) when Redis is down: every test here needs it. */
function assertRedisReachable(): Promise<void> {
  return assertServerReachable({
    host: HOST,
    port: PORT,
    unreachable: (why) => `Redis is not reachable at ${HOST}:${PORT} (${why}); the redis tests need it`,
    ping: { send: 'PING\r\n', answer: '+PONG' },
  });
}

/** Install a copy of `node_modules/<alias>` as `test/fixtures/redis/v4/node_modules/<name>`. Idempotent. */
function installAs(alias: string, name: string): void {
  installPackageCopy(alias, fixture('redis', 'v4', 'node_modules', name));
}

let runCount = 0;

/**
 * Run the fixture once. Traced runs go through the preloader with their own test agent and wait for the
 * last step's span; control runs start plain `node` with the app's tracer stand-in.
 */
async function runFixture(app: string, mode: StartMode, port: number, env: Record<string, string> = {}): Promise<AppRun> {
  const traced = mode !== 'none';
  const prefix = `ddtr-${process.pid}-${++runCount}:`;
  const run = await runResultApp(app, {
    mode,
    env: {
      CLOSED_PORT: String(port),
      REDIS_HOST: HOST,
      REDIS_PORT: String(PORT),
      KEY_PREFIX: prefix,
      DD_SERVICE: SERVICE,
      ...(traced ? {} : { APP_NO_TRACER: '1' }),
      ...env,
    },
    timeoutMs: 60_000,
    lastSpan: (results) => ('nr.pool.1' in results ? 'nr.pool.3.after' : 'nr.refused.after'),
    spanTimeoutMs: 10_000,
  });
  return { prefix, ...run };
}

interface Expectation {
  readonly component: 'ioredis' | 'redis';
  readonly service: string;
  readonly closedPort: number;
}

/** What the fixture's `io.unhandled` step saw (see `unhandledFailure` in scenario.cjs). */
interface UnhandledResult {
  readonly returnedPromise: boolean;
  readonly unhandled: ReadonlyArray<{ readonly err: AppError; readonly samePromise: boolean }>;
}

/** The error the app saw in a step: caught, or (`io.unhandled`) reported to its `unhandledRejection` listener. */
function appErrorOf(result: unknown): AppError | undefined {
  const r = (result ?? {}) as { err?: AppError; value?: Partial<UnhandledResult> };
  return r.err ?? r.value?.unhandled?.[0]?.err;
}

interface AppError {
  readonly name: string;
  readonly message: string;
  /** node-redis 4 drops the stack of server error replies; the span can only carry what the error has. */
  readonly hasStack: boolean;
}

/**
 * Check every step of a client in one run: exactly the expected `redis.command` spans under the step's
 * custom span (one per command, pipelines and transactions included), each with the full Datadog shape;
 * the app's code after the command runs in the step's span; errors mark the span with what the app got.
 */
function checkSteps(run: AppRun, steps: readonly Step[], want: Expectation): void {
  for (const step of steps) {
    const where = `${want.component} step ${step.step}`;
    const parent = one(run.spans, step.step);
    const children = run.spans.filter((s) => s.parent_id === parent.span_id && s.trace_id === parent.trace_id && s.name !== `${step.step}.after`);
    const byRaw = (a: { raw: string }, b: { raw: string }): number => (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0);
    assert.deepEqual(
      children.map((s) => ({ name: s.name, raw: s.meta['redis.raw_command'] })).sort(byRaw),
      step.commands.map((c) => ({ name: 'redis.command', raw: c.raw })).sort(byRaw),
      `${where}: one redis.command span per command, nothing else`,
    );
    const appError = appErrorOf(run.results[step.step]);
    for (const command of step.commands) {
      const span = children.find((s) => s.meta['redis.raw_command'] === command.raw)!;
      const at = `${where} ${command.resource}`;
      assert.deepEqual(
        { resource: span.resource, service: span.service, type: span.type, error: span.error },
        { resource: command.resource, service: want.service, type: 'redis', error: command.error ? 1 : 0 },
        at,
      );
      if (command.error) assert.ok(appError, `${at}: the app got the error`);
      const meta = ownMeta(span);
      const stack = meta['error.stack'];
      delete meta['error.stack'];
      assert.deepEqual(
        meta,
        {
          component: want.component,
          'span.kind': 'client',
          'db.type': 'redis',
          'out.host': HOST,
          'redis.raw_command': command.raw,
          ...(command.error && appError ? { 'error.message': appError.message, 'error.type': appError.name } : {}),
        },
        `${at}: meta`,
      );
      if (command.error && appError!.hasStack) assert.ok(typeof stack === 'string' && stack.includes(appError!.message), `${at}: error.stack`);
      else assert.equal(stack, undefined, `${at}: no error.stack`);
      assert.equal(span.meta.language, 'javascript');
      assert.deepEqual(
        ownMetrics(span),
        { 'network.destination.port': command.refused ? want.closedPort : PORT, '_dd.measured': 1, '_dd.top_level': 1 },
        `${at}: metrics`,
      );
    }
    const after = one(run.spans, `${step.step}.after`);
    assert.equal(after.parent_id, parent.span_id, `${where}: the app's code after the command runs in the step's span`);
  }
}

describe('ioredis and node-redis integrations: real apps on Redis through the preloader', function () {
  this.timeout(120_000);

  let port: number;
  const runs: Partial<Record<'cjs' | 'esm' | 'v4cjs' | 'v4esm' | 'disabled' | 'control' | 'v4control', AppRun>> = {};
  const versions = {
    ioredis4: versionOf(join(ROOT, 'node_modules', 'ioredis4')),
    redisClient1: versionOf(join(ROOT, 'node_modules', 'redis4', 'node_modules', '@redis', 'client')),
  };

  before(async () => {
    await assertRedisReachable();
    port = await freePort();
    installAs('ioredis4', 'ioredis');
    installAs('redis4', 'redis');
    const latest = (file: string): string => fixture('redis', 'latest', file);
    const v4 = (file: string): string => fixture('redis', 'v4', file);
    // Independent processes, each with its own agent and keys: run them side by side.
    const [cjs, esm, v4cjs, v4esm, disabled, control, v4control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require', port),
      runFixture(latest('app.mjs'), 'import', port, { DD_SERVICE_MAPPING: 'redis:cache' }),
      runFixture(v4('app.cjs'), 'require', port, { DD_SERVICE_MAPPING: 'ioredis:sessions,redis:cache', DD_TRACE_DEBUG: 'true' }),
      runFixture(v4('app.mjs'), 'import', port, { APP_TRACER_USE: 'redis:used-cache', DD_TRACE_DEBUG: 'true' }),
      runFixture(latest('app.cjs'), 'require', port, { DD_TRACE_REDIS_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none', port),
      runFixture(v4('app.cjs'), 'none', port),
    ]);
    Object.assign(runs, { cjs, esm, v4cjs, v4esm, disabled, control, v4control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('ioredis 6 (CommonJS): one redis.command span per command, pipelines and multi included, with the full Datadog shape', () => {
    const run = runs.cjs!;
    checkSteps(run, ioredisSteps(run.prefix), { component: 'ioredis', service: `${SERVICE}-redis`, closedPort: port });
  });

  it('node-redis 6 (CommonJS): one redis.command span per command, pipelines, multi and pool included, with the full Datadog shape', () => {
    const run = runs.cjs!;
    checkSteps(run, nodeRedisSteps(run.prefix, true), { component: 'redis', service: `${SERVICE}-redis`, closedPort: port });
  });

  it('AUTH never shows its password, and the client’s own connection setup makes no span', () => {
    for (const run of [runs.cjs!, runs.esm!, runs.v4cjs!, runs.v4esm!]) {
      const wire = JSON.stringify(run.spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      assert.ok(!wire.includes(SECRET), 'the AUTH argument is nowhere in the spans');
      const auth = run.spans.filter((s) => s.resource.toUpperCase() === 'AUTH');
      assert.equal(auth.length, 2, 'the app’s two AUTH calls are traced');
      for (const span of auth) assert.equal(span.meta['redis.raw_command'], 'AUTH');
      const setup = run.spans.filter((s) => ['HELLO', 'SELECT', 'INFO', 'CLIENT', 'PING'].includes(s.resource.toUpperCase()));
      assert.deepEqual(setup.map((s) => s.meta['redis.raw_command']), [], 'no connection-setup span');
    }
  });

  it('the app sees exactly the same results and errors with and without the tracer', () => {
    const control = runs.control!.results;
    assert.ok(Object.keys(control).length > 15, 'the control run did every step');
    assert.deepEqual(runs.cjs!.results, control);
    assert.deepEqual(runs.esm!.results, control);
    assert.deepEqual(runs.disabled!.results, control);
    assert.deepEqual(runs.v4cjs!.results, runs.v4control!.results);
    assert.deepEqual(runs.v4esm!.results, runs.v4control!.results);
    const err = (step: string): Record<string, unknown> => (control[step] as { err: Record<string, unknown> }).err;
    assert.equal(err('io.error').name, 'ReplyError');
    assert.match(String(err('nr.error').message), /unknown command 'NOSUCHCMD'/);
    assert.deepEqual({ code: err('nr.refused').code, message: err('nr.refused').message }, { code: 'ECONNREFUSED', message: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('a failing ioredis command whose promise the app never handles reaches the app’s unhandledRejection listener as without the tracer, and its span is exported in error', () => {
    const expected = (control: AppRun): UnhandledResult => {
      const result = (control.results['io.unhandled'] as { value: UnhandledResult }).value;
      // The control run shows what "as without the tracer" is: exactly one report, for the promise the app got.
      assert.equal(result.returnedPromise, true);
      assert.equal(result.unhandled.length, 1, 'untraced, the failure is reported once');
      assert.equal(result.unhandled[0].samePromise, true, 'for the promise the command returned');
      assert.equal(result.unhandled[0].err.name, 'ReplyError');
      assert.match(result.unhandled[0].err.message, /unknown command 'NOSUCHCMD'/);
      return result;
    };
    const latest = expected(runs.control!);
    const v4 = expected(runs.v4control!);
    const traced: Array<[string, AppRun, UnhandledResult]> = [
      ['ioredis 6 CommonJS', runs.cjs!, latest],
      ['ioredis 6 ESM', runs.esm!, latest],
      ['ioredis 4 CommonJS', runs.v4cjs!, v4],
      ['ioredis 4 ESM', runs.v4esm!, v4],
    ];
    for (const [what, run, want] of traced) {
      assert.deepEqual((run.results['io.unhandled'] as { value: UnhandledResult }).value, want, `${what}: the same unhandledRejection report`);
      const parent = one(run.spans, 'io.unhandled');
      const failed = run.spans.filter((s) => s.parent_id === parent.span_id && s.meta['redis.raw_command'] === 'NOSUCHCMD unhandled');
      assert.equal(failed.length, 1, `${what}: the failing command has its span`);
      assert.equal(failed[0].error, 1, `${what}: in error`);
      assert.equal(failed[0].meta['error.message'], want.unhandled[0].err.message, `${what}: with the error the app was told about`);
    }
  });

  it('ESM: the same spans; DD_SERVICE_MAPPING=redis:cache covers node-redis and ioredis', () => {
    const run = runs.esm!;
    checkSteps(run, ioredisSteps(run.prefix), { component: 'ioredis', service: 'cache', closedPort: port });
    checkSteps(run, nodeRedisSteps(run.prefix, true), { component: 'redis', service: 'cache', closedPort: port });
  });

  it('ioredis 4 and redis 4 (@redis/client 1.x), loaded by their real names through the preloader (CommonJS and ESM)', () => {
    assert.match(versions.ioredis4, /^4\./);
    assert.match(versions.redisClient1, /^1\./);
    for (const run of [runs.v4cjs!, runs.v4esm!]) {
      const resolved = run.results.resolved as Record<string, string>;
      assert.ok(resolved.ioredis.startsWith(fixture('redis', 'v4', 'node_modules', 'ioredis') + '/'), resolved.ioredis);
      assert.ok(resolved['@redis/client'].startsWith(fixture('redis', 'v4', 'node_modules', 'redis', 'node_modules', '@redis', 'client') + '/'), resolved['@redis/client']);
      assert.ok(run.stderr.includes(`ioredis: patched ioredis@${versions.ioredis4}`), `the preloader patched ioredis ${versions.ioredis4}:\n${run.stderr}`);
      assert.ok(run.stderr.includes(`redis: patched @redis/client/dist/lib/client/commands-queue@${versions.redisClient1}`), 'and @redis/client 1.x');
      assert.ok(run.stderr.includes(`redis: patched @redis/client/dist/lib/client/socket@${versions.redisClient1}`), 'and its socket');
    }
    // CommonJS run: `ioredis` mapped on its own, `redis` mapped for node-redis.
    const cjs = runs.v4cjs!;
    checkSteps(cjs, ioredisSteps(cjs.prefix), { component: 'ioredis', service: 'sessions', closedPort: port });
    checkSteps(cjs, nodeRedisSteps(cjs.prefix, false), { component: 'redis', service: 'cache', closedPort: port });
    // ESM run: the app called tracer.use('redis', { service }), which ioredis falls back to.
    const esm = runs.v4esm!;
    checkSteps(esm, ioredisSteps(esm.prefix), { component: 'ioredis', service: 'used-cache', closedPort: port });
    checkSteps(esm, nodeRedisSteps(esm.prefix, false), { component: 'redis', service: 'used-cache', closedPort: port });
  });

  it('DD_TRACE_REDIS_ENABLED=false leaves node-redis unpatched and ioredis traced', () => {
    const run = runs.disabled!;
    assert.equal(run.spans.filter((s) => s.meta.component === 'redis').length, 0, 'no node-redis span');
    for (const step of nodeRedisSteps(run.prefix, true)) {
      const parent = one(run.spans, step.step);
      assert.equal(run.spans.filter((s) => s.parent_id === parent.span_id && s.name === 'redis.command').length, 0, `${step.step}: no command span`);
    }
    checkSteps(run, ioredisSteps(run.prefix), { component: 'ioredis', service: `${SERVICE}-redis`, closedPort: port });
  });
});
