/**
 * The ioredis and node-redis patchers called directly, in this process, on fresh copies of the real clients
 * (ioredis 6 and 4, @redis/client 6 and 1.x) talking to the real Redis: what the app can observe of a
 * patched method or a replaced class, idempotency, the inactive fast path, falling back to the original
 * when the integration's own code throws, errors of the client's own classes, promises left untouched (a
 * failing command nobody handles still reaches `unhandledRejection`), and the hooks' version ranges as the
 * real instrumenter applies them. End-to-end behaviour through the preloader is in
 * redis-app.test.ts.
 */
import * as assert from 'node:assert/strict';
import { patchIoredis } from '../integrations/redis/ioredis';
import { patchCommandsQueue, patchSocket } from '../integrations/redis/node-redis';
import { hooks } from '../integrations/redis/hooks';
import { Instrumenter, hookKey } from '../hooks/instrumenter';
import { captureTracer, type CaptureExporter } from './helpers/capture';
import type { Tracer } from '../lib/tracer';
import { freshCopy } from './helpers/fresh-copy';
import { makeTestContext, resetTestContext, type TestContext } from './helpers/patch-context';
import { unhandledReports } from './helpers/unhandled-rejections';
import { fakePackageDirs } from './helpers/package-dirs';

const HOST = process.env.REDIS_HOST || '127.0.0.1';
const PORT = Number(process.env.REDIS_PORT || 6379);
const KEY = `ddtr-patch-${process.pid}`;

/** Run a client's first commands; when they fail, fail (not skip) saying Redis is down. */
async function reachRedis(first: () => Promise<unknown>): Promise<void> {
  try {
    await first();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${HOST}:${PORT} (${(err as Error).message}); the redis tests need it`);
  }
}

function redisSpans(exporter: CaptureExporter): Array<{ resource: string; raw: string; parentId: bigint; error: number; host?: string; port?: number; db?: string }> {
  return exporter
    .spans()
    .filter((s) => s.name === 'redis.command')
    .map((s) => ({
      resource: s.resource,
      raw: s.meta['redis.raw_command'],
      parentId: s.parentId,
      error: s.error,
      host: s.meta['out.host'],
      port: s.metrics['network.destination.port'],
      db: s.meta['db.name'],
    }));
}

interface IoredisClient {
  status: string;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
  call(...args: string[]): Promise<unknown>;
  echo(text: string): Promise<unknown>;
  quit(): Promise<unknown>;
  once(event: string, listener: () => void): unknown;
}
type IoredisClass = (new (options: object) => IoredisClient) & { prototype: { sendCommand: Function }; ReplyError: Function };

for (const dir of ['ioredis', 'ioredis4']) {
  describe(`ioredis patcher, in process (${dir})`, () => {
    let Redis: IoredisClass;
    let originalSendCommand: Function;
    let tracer: Tracer;
    let exporter: CaptureExporter;
    let ctx: TestContext;
    let client: IoredisClient;

    before(async () => {
      [Redis] = freshCopy(dir, ['built/index.js']) as [IoredisClass];
      originalSendCommand = Redis.prototype.sendCommand;
      ({ tracer, exporter } = captureTracer({ service: 'unit' }));
      ctx = makeTestContext(tracer, 'ioredis');
      patchIoredis(Redis, ctx);
      client = new Redis({ host: HOST, port: PORT, db: 3, maxRetriesPerRequest: 1, retryStrategy: () => null });
      await reachRedis(() => client.set(KEY, 'v'));
    });

    after(async () => {
      await client?.del(KEY);
      await client?.quit();
    });

    beforeEach(() => resetTestContext(ctx, exporter));

    it('sendCommand keeps its name and length; patching twice wraps once', () => {
      const wrapped = Redis.prototype.sendCommand;
      assert.notEqual(wrapped, originalSendCommand);
      assert.equal(wrapped.name, originalSendCommand.name);
      assert.equal(wrapped.length, originalSendCommand.length);
      patchIoredis(Redis, ctx);
      assert.equal(Redis.prototype.sendCommand, wrapped);
    });

    it('one span per command, under the caller, with the connection’s host, port and database', async () => {
      const value = await tracer.trace('parent', () => client.get(KEY));
      assert.equal(value, 'v');
      assert.deepEqual(redisSpans(exporter), [
        { resource: 'get', raw: `GET ${KEY}`, parentId: exporter.one('parent').spanId, error: 0, host: HOST, port: PORT, db: undefined },
      ]);
    });

    it('a server error rejects with ioredis’s own ReplyError, and marks the span', async () => {
      const err = await client.call('NOSUCHCMD').then(
        () => assert.fail('NOSUCHCMD must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof Redis.ReplyError, 'the error is the client’s own class');
      const [span] = redisSpans(exporter);
      assert.equal(span.error, 1);
    });

    it('the command’s promise is left alone: a failure nobody handles still reaches unhandledRejection, and the span is in error', async () => {
      const reports = await unhandledReports(
        () => client.call('NOSUCHCMD', 'unhandled'),
        () => client.echo('after'),
      );
      assert.equal(reports.length, 1, 'reported once, as without the tracer');
      assert.ok(reports[0].samePromise, 'for the promise the app got');
      assert.ok(reports[0].reason instanceof Redis.ReplyError);
      const failed = exporter.spans().filter((s) => s.name === 'redis.command' && s.meta['redis.raw_command'] === 'NOSUCHCMD unhandled');
      assert.equal(failed.length, 1);
      assert.equal(failed[0].error, 1);
      assert.equal(failed[0].meta['error.message'], (reports[0].reason as Error).message);
    });

    it('a command the client rejects inside sendCommand (connection closed) ends its span in error', async () => {
      const closed = new Redis({ host: HOST, port: PORT, retryStrategy: () => null });
      await closed.quit();
      if (closed.status !== 'end') await new Promise<void>((resolve) => closed.once('end', resolve));
      exporter.chunks.length = 0;
      const err = await closed.get(KEY).then(
        () => assert.fail('a closed client must refuse the command'),
        (e: unknown) => e as Error,
      );
      const spans = redisSpans(exporter);
      assert.equal(spans.length, 1, 'the span ended although the command settled before sendCommand returned');
      assert.equal(spans[0].error, 1);
      assert.equal(exporter.one('redis.command').meta['error.message'], err.message);
    });

    it('inactive: no span, same result', async () => {
      ctx.on = false;
      assert.equal(await client.get(KEY), 'v');
      assert.equal(redisSpans(exporter).length, 0);
    });

    it('when the integration’s own code throws, the command runs untraced and the failure is reported, not thrown', async () => {
      ctx.throwInSettings = true;
      assert.equal(await client.get(KEY), 'v');
      assert.equal(ctx.failures.length, 1);
      assert.equal(redisSpans(exporter).length, 0);
    });
  });
}

interface NodeRedisClient {
  connect(): Promise<unknown>;
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
  on(event: string, listener: () => void): unknown;
}
type Constructor = (new (...args: unknown[]) => object) & { prototype: { addCommand?: Function } };

const NODE_REDIS = [
  { dir: '@redis/client', queueArgs: [2, undefined, (): void => undefined, 'id'] },
  { dir: 'redis4/node_modules/@redis/client', queueArgs: [undefined, (): void => undefined] },
];

for (const { dir, queueArgs } of NODE_REDIS) {
  describe(`node-redis patchers, in process (${dir})`, () => {
    let main: { createClient(options: object): NodeRedisClient; ErrorReply: Function };
    let queueModule: { default: Constructor };
    let socketModule: { default: Constructor };
    let OriginalQueue: Constructor;
    let OriginalSocket: Constructor;
    let originalAddCommand: Function;
    let tracer: Tracer;
    let exporter: CaptureExporter;
    let ctx: TestContext;
    let client: NodeRedisClient;

    before(async () => {
      [main, queueModule, socketModule] = freshCopy(dir, ['dist/index.js', 'dist/lib/client/commands-queue.js', 'dist/lib/client/socket.js']) as [
        typeof main,
        typeof queueModule,
        typeof socketModule,
      ];
      OriginalQueue = queueModule.default;
      OriginalSocket = socketModule.default;
      originalAddCommand = OriginalQueue.prototype.addCommand!;
      ({ tracer, exporter } = captureTracer({ service: 'unit' }));
      ctx = makeTestContext(tracer, 'redis');
      patchCommandsQueue(queueModule, ctx);
      patchSocket(socketModule, ctx);
      client = main.createClient({ url: `redis://${HOST}:${PORT}/4`, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      await reachRedis(async () => {
        await client.connect();
        await client.set(KEY, 'v');
      });
    });

    after(async () => {
      await client?.del(KEY);
      await client?.quit();
    });

    beforeEach(() => resetTestContext(ctx, exporter));

    it('the replaced classes build exactly the original objects, and keep name, length, statics and subclassing', () => {
      for (const [Replacement, Original] of [
        [queueModule.default, OriginalQueue],
        [socketModule.default, OriginalSocket],
      ]) {
        assert.notEqual(Replacement, Original);
        assert.equal(Replacement.name, Original.name);
        assert.equal(Replacement.length, Original.length);
        assert.equal(Replacement.prototype, Original.prototype);
        assert.equal(Object.getPrototypeOf(Replacement), Original, 'statics are inherited');
        assert.throws(() => (Replacement as unknown as () => void)(), TypeError, 'calling without new fails as the class does');
      }
      const queue = new queueModule.default(...queueArgs);
      assert.equal(queue.constructor, OriginalQueue);
      assert.ok(queue instanceof OriginalQueue && queue instanceof queueModule.default);
      class Sub extends queueModule.default {}
      const sub = new Sub(...queueArgs);
      assert.ok(sub instanceof Sub && sub instanceof OriginalQueue);
    });

    it('addCommand keeps its name and length; patching twice changes nothing', () => {
      const Queue = queueModule.default;
      const wrapped = Queue.prototype.addCommand!;
      assert.notEqual(wrapped, originalAddCommand);
      assert.equal(wrapped.name, originalAddCommand.name);
      assert.equal(wrapped.length, originalAddCommand.length);
      patchCommandsQueue(queueModule, ctx);
      patchSocket(socketModule, ctx);
      assert.equal(queueModule.default, Queue);
      assert.equal(Queue.prototype.addCommand, wrapped);
    });

    it('one span per command, under the caller, with the host and port its socket was given and the selected database', async () => {
      const value = await tracer.trace('parent', () => client.get(KEY));
      assert.equal(value, 'v');
      assert.deepEqual(redisSpans(exporter), [
        { resource: 'GET', raw: `GET ${KEY}`, parentId: exporter.one('parent').spanId, error: 0, host: HOST, port: PORT, db: undefined },
      ]);
    });

    it('a server error rejects with node-redis’s own ErrorReply, and marks the span', async () => {
      const err = await client.sendCommand(['NOSUCHCMD']).then(
        () => assert.fail('NOSUCHCMD must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof main.ErrorReply, 'the error is the client’s own class');
      assert.equal(redisSpans(exporter)[0].error, 1);
    });

    it('inactive: no span, same result', async () => {
      ctx.on = false;
      assert.equal(await client.get(KEY), 'v');
      assert.equal(redisSpans(exporter).length, 0);
    });

    it('when the integration’s own code throws, the command runs untraced and the failure is reported, not thrown', async () => {
      ctx.throwInSettings = true;
      assert.equal(await client.get(KEY), 'v');
      assert.equal(ctx.failures.length, 1);
      assert.equal(redisSpans(exporter).length, 0);
    });
  });
}

describe('redis hooks: version ranges, as the real instrumenter applies them', () => {
  const packageDir = fakePackageDirs('ddtr-redis-');

  const cases: Array<[string, string | undefined, string, boolean]> = [
    ['ioredis', undefined, '3.2.2', false],
    ['ioredis', undefined, '4.0.0', true],
    ['ioredis', undefined, '6.0.0', true],
    ['@redis/client', 'dist/lib/client/commands-queue.js', '0.9.0', false],
    ['@redis/client', 'dist/lib/client/commands-queue.js', '1.6.1', true],
    ['@redis/client', 'dist/lib/client/commands-queue.js', '6.3.1', true],
  ];
  for (const [module, file, version, patched] of cases) {
    it(`${file ? `${module}/${file}` : module}@${version} is ${patched ? '' : 'left un'}patched`, () => {
      const { tracer } = captureTracer();
      const instrumenter = new Instrumenter({ tracer, moduleHooks: hooks });
      const method = file ? 'addCommand' : 'sendCommand';
      const original = function command(): void {};
      class Fake {}
      (Fake.prototype as Record<string, unknown>)[method] = original;
      const exports = file ? { default: Fake } : Fake;
      instrumenter.patch(exports, hookKey(module, file), packageDir(version));
      assert.equal((Fake.prototype as Record<string, unknown>)[method] !== original, patched);
    });
  }
});
