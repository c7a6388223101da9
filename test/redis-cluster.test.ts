/**
 * The ioredis patcher on a real two-node Redis Cluster (ioredis 6 and 4, fresh copies patched in this
 * process). A Cluster layers its redirect handling over each command's `reject`; the integration must end
 * the command's span under that layer, so that a MOVED reply followed to the right node leaves one span, not
 * in error, and a real failure still ends it in error without marking the app's promise handled.
 *
 * The shared Redis on 6379 is not cluster-enabled, so this file starts its own two `redis-server`
 * processes (the binary the CI script starts Redis with) on free ports, forms the cluster with
 * `CLUSTER ADDSLOTSRANGE` / `CLUSTER MEET`, and stops them at the end.
 */
import * as assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { patchIoredis } from '../integrations/redis/ioredis';
import { captureTracer, type CaptureExporter } from './helpers/capture';
import type { Tracer } from '../lib/tracer';
import { freePorts } from './helpers/ports';
import { freshCopy } from './helpers/fresh-copy';
import { makeTestContext, type TestContext } from './helpers/patch-context';
import { unhandledReports } from './helpers/unhandled-rejections';

const HOST = '127.0.0.1';
const run = promisify(execFile);

/** One cluster node: its client port, its cluster bus port and its process. */
interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  readonly process: ChildProcess;
  id: string;
}

/** Run a Redis command on one node with redis-cli; its reply, trimmed. */
async function cli(port: number, ...args: Array<string | number>): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...args.map(String)]);
  return stdout.trim();
}

function startNode(dir: string, port: number, busPort: number): Promise<ClusterNode> {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--cluster-enabled', 'yes',
      '--cluster-port', String(busPort),
      '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--dir', dir,
      '--bind', HOST,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not start redis-server for the cluster tests: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code}:\n${output}`)));
    const ready = (): void => {
      if (!/Ready to accept connections/.test(output)) return;
      child.stdout!.off('data', ready);
      resolve({ port, busPort, process: child, id: '' });
    };
    child.stdout!.on('data', ready);
  });
}

async function stopNode(node: ClusterNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  const exited = new Promise((resolve) => node.process.once('exit', resolve));
  node.process.kill('SIGTERM');
  await exited;
}

/** Poll until `check` holds (every 100 ms, at most `ms`). */
async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Hand `slot` from node `from` to node `to` the way a resharding does (the slot holds no key). */
async function moveSlot(slot: number, from: ClusterNode, to: ClusterNode): Promise<void> {
  assert.equal(await cli(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id), 'OK');
  assert.equal(await cli(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id), 'OK');
  assert.equal(await cli(to.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id), 'OK');
  assert.equal(await cli(from.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id), 'OK');
}

interface ClusterClient {
  /** ioredis's slot table: for each slot, the `host:port` keys of its nodes, master first. */
  readonly slots: Array<string[] | undefined>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  incr(key: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
  once(event: string, listener: (err?: unknown) => void): unknown;
}
type IoredisModule = { Cluster: new (nodes: object[], options?: object) => ClusterClient; ReplyError: Function };

function commandSpans(exporter: CaptureExporter, raw: string): ReturnType<CaptureExporter['spans']> {
  return exporter.spans().filter((s) => s.name === 'redis.command' && s.meta['redis.raw_command'] === raw);
}

describe('ioredis Cluster, on a real two-node Redis Cluster', function () {
  this.timeout(60_000);
  const nodes: ClusterNode[] = [];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddtr-redis-cluster-'));
    const [a, b, busA, busB] = await freePorts(4, HOST);
    nodes.push(await startNode(dir, a, busA), await startNode(dir, b, busB));
    for (const node of nodes) node.id = await cli(node.port, 'CLUSTER', 'MYID');
    assert.equal(await cli(nodes[0].port, 'CLUSTER', 'ADDSLOTSRANGE', 0, 8191), 'OK');
    assert.equal(await cli(nodes[1].port, 'CLUSTER', 'ADDSLOTSRANGE', 8192, 16383), 'OK');
    assert.equal(await cli(nodes[0].port, 'CLUSTER', 'MEET', HOST, nodes[1].port, nodes[1].busPort), 'OK');
    await waitFor('the cluster to form', async () => {
      for (const node of nodes) {
        const info = await cli(node.port, 'CLUSTER', 'INFO');
        if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:2')) return false;
      }
      return true;
    });
  });

  after(async () => {
    await Promise.all(nodes.map(stopNode));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const moduleDir of ['ioredis', 'ioredis4']) {
    describe(`${moduleDir}`, () => {
      let ioredis: IoredisModule;
      let tracer: Tracer;
      let exporter: CaptureExporter;
      let ctx: TestContext;
      let cluster: ClusterClient;
      const key = `ddtr-cluster-${moduleDir}-${process.pid}`;

      before(async () => {
        [ioredis] = freshCopy(moduleDir, ['built/index.js']) as [IoredisModule];
        ({ tracer, exporter } = captureTracer({ service: 'unit' }));
        ctx = makeTestContext(tracer, 'ioredis');
        patchIoredis(ioredis, ctx);
        cluster = new ioredis.Cluster([{ host: HOST, port: nodes[0].port }], { clusterRetryStrategy: () => null });
        await new Promise<void>((resolve, reject) => {
          cluster.once('ready', () => resolve());
          cluster.once('error', reject);
        });
      });

      after(async () => {
        await cluster?.del(key);
        await cluster?.quit();
      });

      beforeEach(() => {
        exporter.chunks.length = 0;
      });

      it('a MOVED reply followed to the slot’s new node: one span for the command, not in error, under the caller', async () => {
        const slot = Number(await cli(nodes[0].port, 'CLUSTER', 'KEYSLOT', key));
        const believed = cluster.slots[slot]?.[0];
        const from = nodes.find((n) => `${HOST}:${n.port}` === believed)!;
        const to = nodes.find((n) => n !== from)!;
        assert.ok(from, `the client knows the slot’s node (${believed})`);
        await moveSlot(slot, from, to);

        const value = await tracer.trace('parent', async () => {
          const reply = await cluster.set(key, 'v');
          tracer.startSpan('after').finish();
          return reply;
        });
        assert.equal(value, 'OK');
        assert.equal(cluster.slots[slot]?.[0], `${HOST}:${to.port}`, 'the client was redirected (MOVED updated its slot table)');
        assert.equal(await cli(to.port, 'GET', key), 'v', 'the value is on the new node');

        const spans = commandSpans(exporter, `SET ${key} v`);
        assert.equal(spans.length, 1, 'one span for the command, across the redirect');
        assert.equal(spans[0].error, 0, 'the redirect is not an error');
        assert.equal(spans[0].meta['error.message'], undefined);
        const parent = exporter.one('parent');
        assert.equal(spans[0].parentId, parent.spanId);
        assert.equal(exporter.one('after').parentId, parent.spanId, 'the app resumes in its own context');
        assert.deepEqual(ctx.failures, []);
      });

      it('a failing command nobody handles still reaches unhandledRejection, and its span is in error', async () => {
        await cluster.set(key, 'not a number');
        exporter.chunks.length = 0;
        const reports = await unhandledReports(
          () => cluster.incr(key),
          () => cluster.get(key), // same slot, so same connection: answered after the INCR
        );
        assert.equal(reports.length, 1, 'reported once, as without the tracer');
        assert.ok(reports[0].samePromise, 'for the promise the app got');
        assert.ok(reports[0].reason instanceof ioredis.ReplyError);
        const spans = commandSpans(exporter, `INCR ${key}`);
        assert.equal(spans.length, 1);
        assert.equal(spans[0].error, 1);
        assert.equal(spans[0].meta['error.message'], (reports[0].reason as Error).message);
      });
    });
  }
});
