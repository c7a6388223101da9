/**
 * The gRPC integration end to end: a client and a server (test/fixtures/grpc, the Greeter service of
 * greeter.proto loaded with @grpc/proto-loader) in two separate processes, both through the real
 * preloader, one CommonJS and the other ESM (and the other way round), every kind of call once. The
 * client's trace context must reach the server in the call's metadata: each `grpc.server` span is the
 * child of the `grpc.client` span that called it, and a server that calls on (`Relay`) carries it further.
 *
 * Runs on the newest @grpc/grpc-js and on 1.10 (the oldest supported), installed under the alias
 * `grpc-js1_10` and copied as `node_modules/@grpc/grpc-js` beside copies of the fixture files. The
 * client's results are compared with the same client and server run without the tracer.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { ROOT, fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { installPackageCopy, runResultApp, versionOf } from './helpers/db-apps';
import { startListening, spansOnceSeen, type ListeningApp } from './helpers/http-apps';
import { SpanSet } from './helpers/span-set';

const FIXTURE_FILES = ['client.cjs', 'client.mjs', 'server.cjs', 'server.mjs', 'service.cjs', 'greeter.proto'];
const PATH = '/demo.v1.Greeter/';

let grpc110: string | undefined;
/** The directory from which the apps load @grpc/grpc-js 1.10 under its real name; one per test process. */
function grpc110Dir(): string {
  if (grpc110 !== undefined) return grpc110;
  const dir = fixture('grpc', '.tmp', `grpc-js1_10-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules', '@grpc'), { recursive: true });
  installPackageCopy('grpc-js1_10', join(dir, 'node_modules', '@grpc', 'grpc-js'));
  for (const file of FIXTURE_FILES) copyFileSync(fixture('grpc', file), join(dir, file));
  grpc110 = dir;
  return dir;
}

const VARIANTS = [
  { label: 'newest @grpc/grpc-js', dir: (): string => fixture('grpc'), pkg: (): string => join(ROOT, 'node_modules', '@grpc', 'grpc-js') },
  { label: '@grpc/grpc-js 1.10 (oldest supported)', dir: grpc110Dir, pkg: (): string => join(grpc110Dir(), 'node_modules', '@grpc', 'grpc-js') },
];
interface Pair {
  readonly label: string;
  readonly client: string;
  readonly clientMode: StartMode;
  readonly server: string;
  readonly serverMode: StartMode;
  /** Error statuses set in the environment: NOT_FOUND (5) is no error for this client; the server's value is invalid. */
  readonly statuses: boolean;
}
const PAIRS: Pair[] = [
  { label: 'CommonJS client (--require) → ESM server (--import)', client: 'client.cjs', clientMode: 'require', server: 'server.mjs', serverMode: 'import', statuses: false },
  {
    label: 'ESM client (--import) → CommonJS server (--require), error statuses from the environment',
    client: 'client.mjs',
    clientMode: 'import',
    server: 'server.cjs',
    serverMode: 'require',
    statuses: true,
  },
];
const CLIENT_STATUSES = { DD_GRPC_CLIENT_ERROR_STATUSES: '1-4,6-16' };
const SERVER_STATUSES = { DD_GRPC_SERVER_ERROR_STATUSES: 'two-16' };

/**
 * One SayHello from this (untraced) test process, with the grpc-js of `dir`: a call that carries no trace
 * context.
 */
function untracedCall(dir: string, port: number): Promise<void> {
  const paths = { paths: [dir] };
  const grpc = require(require.resolve('@grpc/grpc-js', paths)) as any;
  const loader = require(require.resolve('@grpc/proto-loader', paths)) as any;
  const Greeter = grpc.loadPackageDefinition(loader.loadSync(join(dir, 'greeter.proto'))).demo.v1.Greeter;
  const client = new Greeter(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.SayHello({ name: 'root' }, (err: Error | null) => {
      client.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Lookups across the client's and the server's spans. */
class GrpcSpans extends SpanSet {
  /** The one `grpc.client` span made in scenario span `scenario`. */
  clientIn(scenario: string): DecodedSpan {
    const found = this.childrenOf(this.one(scenario), 'grpc.client');
    assert.equal(found.length, 1, `expected one grpc.client under ${scenario}, got ${found.length}`);
    return found[0];
  }

  /** The one `grpc.server` span whose parent is `client`. */
  serverOf(client: DecodedSpan): DecodedSpan {
    const found = this.childrenOf(client, 'grpc.server');
    assert.equal(found.length, 1, `expected one grpc.server child of ${client.resource}, got ${found.length}`);
    return found[0];
  }
}

function assertMethodTags(span: DecodedSpan, method: string, kind: string): void {
  assert.equal(span.resource, PATH + method);
  assert.equal(span.meta.component, 'grpc');
  assert.equal(span.meta['grpc.method.path'], PATH + method);
  assert.equal(span.meta['grpc.method.package'], 'demo.v1');
  assert.equal(span.meta['grpc.method.service'], 'Greeter');
  assert.equal(span.meta['grpc.method.name'], method);
  assert.equal(span.meta['grpc.method.kind'], kind);
}

describe('gRPC integration: a client and a server in two processes', function () {
  this.timeout(60_000);

  after(async () => {
    await stopAllApps();
    if (grpc110 !== undefined) rmSync(grpc110, { recursive: true, force: true });
    grpc110 = undefined;
  });

  for (const variant of VARIANTS) {
    for (const pair of PAIRS) {
      describe(`${variant.label}: ${pair.label}`, () => {
        let agent: TestAgent;
        let server: ListeningApp;
        let plainServer: ListeningApp;
        let clientRun: Awaited<ReturnType<typeof runResultApp>>;
        let control: Awaited<ReturnType<typeof runResultApp>>;
        let set: GrpcSpans;

        before(async () => {
          const dir = variant.dir();
          agent = await TestAgent.start();
          [server, plainServer] = await Promise.all([
            startListening(join(dir, pair.server), {
              mode: pair.serverMode,
              agent,
              env: { DD_SERVICE: 'grpc-server', WITH_TRACER: '1', DD_TRACE_DEBUG: 'true', ...(pair.statuses ? SERVER_STATUSES : {}) },
            }),
            startListening(join(dir, pair.server), { mode: 'none', env: {} }),
          ]);
          const client = join(dir, pair.client);
          [clientRun, control] = await Promise.all([
            runResultApp(client, {
              mode: pair.clientMode,
              env: {
                DD_SERVICE: 'grpc-client',
                WITH_TRACER: '1',
                DD_TRACE_DEBUG: 'true',
                GRPC_SERVER: `127.0.0.1:${server.port}`,
                ...(pair.statuses ? CLIENT_STATUSES : {}),
              },
              lastSpan: () => 'scenario.relay',
            }),
            runResultApp(client, { mode: 'none', env: { GRPC_SERVER: `127.0.0.1:${plainServer.port}` }, lastSpan: () => '' }),
          ]);
          // The server's spans of every call that reached it (all but the expired one), Relay's second hop included.
          const clientSpans = new SpanSet(clientRun.spans);
          const expired = clientSpans.childrenOf(clientSpans.one('scenario.deadline'), 'grpc.client')[0]?.span_id;
          const serverSpans = await spansOnceSeen(agent, (spans) => {
            const callers = [...clientRun.spans, ...spans].filter((s) => s.name === 'grpc.client' && s.span_id !== expired);
            return callers.length === 12 && callers.every((c) => spans.some((s) => s.name === 'grpc.server' && s.parent_id === c.span_id));
          });
          set = new GrpcSpans([...clientRun.spans, ...serverSpans]);
        });
        after(async () => {
          server?.app.kill();
          plainServer?.app.kill();
          await agent?.close();
        });

        it('patches the expected @grpc/grpc-js in both processes', () => {
          const v = versionOf(variant.pkg()).replace(/\./g, '\\.');
          assert.match(clientRun.stderr, new RegExp(`grpc: patched @grpc/grpc-js/build/src/client(\\.js)?@${v}`));
          assert.match(server.app.stderr, new RegExp(`grpc: patched @grpc/grpc-js/build/src/server(\\.js)?@${v}`));
        });

        it('leaves the calls unchanged: same replies, errors and metadata as without the tracer', () => {
          const r = control.results as Record<string, any>;  
          assert.deepEqual(r.unary.reply, { message: 'hello Ann' });
          assert.deepEqual(r.metadata, { error: null, reply: { message: 'hello Bo (user 42)' }, keys: ['x-user'] });
          assert.equal(r.unaryError.error.code, 5);
          assert.equal(r.unaryThrows.error.code, 2);
          assert.deepEqual(r.serverStream.messages, ['hello Cy #0', 'hello Cy #1', 'hello Cy #2']);
          assert.equal(r.serverStreamError.code, 3);
          assert.deepEqual(r.clientStream.reply, { message: 'hello a, b, c' });
          assert.deepEqual(r.bidi.messages, ['echo x', 'echo y']);
          assert.deepEqual(r.relay.reply, { message: 'hello relayed Di' });
          assert.deepEqual(r.options.reply, { message: 'hello Eve' });
          assert.deepEqual(r.deadline, { error: 4 });
          assert.deepEqual(r.streamMetadata.messages, ['hello Fa #0']);
          assert.deepEqual(clientRun.results, control.results);
        });

        it('unary: grpc.client → grpc.server across the processes, with the handler’s span under the server span', () => {
          const client = set.clientIn('scenario.unary');
          assertMethodTags(client, 'SayHello', 'unary');
          assert.equal(client.type, 'http');
          assert.equal(client.service, 'grpc-client');
          assert.equal(client.meta['span.kind'], 'client');
          assert.equal(client.meta['rpc.service'], 'demo.v1.Greeter');
          assert.equal(client.metrics['grpc.status.code'], 0);
          assert.equal(client.meta['network.destination.ip'], '127.0.0.1');
          assert.equal(client.meta['network.destination.port'], String(server.port));
          assert.equal(client.error, 0);
          const srv = set.serverOf(client);
          assertMethodTags(srv, 'SayHello', 'unary');
          assert.equal(srv.type, 'web');
          assert.equal(srv.service, 'grpc-server');
          assert.equal(srv.meta['span.kind'], 'server');
          assert.equal(srv.metrics['grpc.status.code'], 0);
          assert.equal(srv.error, 0);
          assert.equal(set.childrenOf(srv, 'handler.SayHello').length, 1);
        });

        it('the caller’s own metadata still arrives, and the trace context travels beside it', () => {
          const client = set.clientIn('scenario.metadata');
          const srv = set.serverOf(client);
          assert.equal(srv.trace_id, client.trace_id);
        });

        it('options without metadata, metadata then options on a stream, and an expired deadline (DEADLINE_EXCEEDED, 4)', () => {
          const options = set.clientIn('scenario.options');
          assert.equal(set.serverOf(options).error, 0);
          const stream = set.clientIn('scenario.stream-metadata');
          assert.equal(set.serverOf(stream).trace_id, stream.trace_id);
          const late = set.clientIn('scenario.deadline');
          assert.equal(late.error, 1);
          assert.equal(late.metrics['grpc.status.code'], 4);
        });

        it('an error status marks both spans with its code; a throwing handler is UNKNOWN with its error', () => {
          const client = set.clientIn('scenario.unary-error');
          assert.equal(client.metrics['grpc.status.code'], 5);
          if (pair.statuses) {
            assert.equal(client.error, 0, 'NOT_FOUND is left out of DD_GRPC_CLIENT_ERROR_STATUSES');
          } else {
            assert.equal(client.error, 1);
            assert.match(client.meta['error.message'], /NOT_FOUND: no such user/);
          }
          const srv = set.serverOf(client);
          assert.equal(srv.error, 1);
          assert.equal(srv.metrics['grpc.status.code'], 5);
          assert.equal(srv.meta['error.message'], 'no such user');
          const thrown = set.serverOf(set.clientIn('scenario.unary-throws'));
          assert.equal(thrown.error, 1);
          assert.equal(thrown.metrics['grpc.status.code'], 2);
          assert.equal(thrown.meta['error.message'], 'handler threw');
        });

        if (pair.statuses) {
          it('an invalid DD_GRPC_SERVER_ERROR_STATUSES is warned about once, naming the variable, and 2-16 applies', () => {
            const warnings = server.app.stderr.split('\n').filter((line) => line.includes('warning') && line.includes('DD_GRPC_SERVER_ERROR_STATUSES'));
            assert.equal(warnings.length, 1, server.app.stderr);
            assert.match(warnings[0], /"two-16"/);
          });
        }

        it('server streaming: one span each side, ended by the status; an error status marks them', () => {
          const client = set.clientIn('scenario.server-stream');
          assertMethodTags(client, 'ListGreetings', 'server_streaming');
          assert.equal(client.metrics['grpc.status.code'], 0);
          const srv = set.serverOf(client);
          assertMethodTags(srv, 'ListGreetings', 'server_streaming');
          // The stream's events run in the caller's context: a span made in a `data` listener is the caller's child.
          for (const scenario of ['scenario.server-stream', 'scenario.bidi']) {
            assert.equal(set.childrenOf(set.one(scenario), 'client.data').length, 1, `client.data under ${scenario}`);
          }
          assert.equal(set.childrenOf(srv, 'handler.ListGreetings').length, 1);
          const failed = set.clientIn('scenario.server-stream-error');
          assert.equal(failed.error, 1);
          assert.equal(failed.metrics['grpc.status.code'], 3);
          const failedServer = set.serverOf(failed);
          assert.equal(failedServer.error, 1);
          assert.equal(failedServer.metrics['grpc.status.code'], 3);
        });

        it('client streaming and bidi: the handler’s event listeners run in the server span', () => {
          const collect = set.clientIn('scenario.client-stream');
          assertMethodTags(collect, 'Collect', 'client_streaming');
          const collectServer = set.serverOf(collect);
          assertMethodTags(collectServer, 'Collect', 'client_streaming');
          assert.equal(set.childrenOf(collectServer, 'handler.Collect.end').length, 1);
          const chat = set.clientIn('scenario.bidi');
          assertMethodTags(chat, 'Chat', 'bidi_streaming');
          assert.equal(chat.metrics['grpc.status.code'], 0);
          const chatServer = set.serverOf(chat);
          assertMethodTags(chatServer, 'Chat', 'bidi_streaming');
          assert.equal(set.childrenOf(chatServer, 'handler.Chat.data').length, 2);
        });

        it('a call without trace context starts a new trace on the server', async () => {
          await untracedCall(variant.dir(), server.port);
          const spans = await spansOnceSeen(agent, (all) => all.some((s) => s.name === 'grpc.server' && s.parent_id === 0n));
          const root = spans.find((s) => s.name === 'grpc.server' && s.parent_id === 0n)!;
          assert.equal(root.resource, PATH + 'SayHello');
          assert.equal(root.error, 0);
          assert.ok(spans.some((s) => s.name === 'handler.SayHello' && s.parent_id === root.span_id), 'the handler’s span is its child');
        });

        it('a server that calls on passes the trace along: client → Relay → client → SayHello', () => {
          const client = set.clientIn('scenario.relay');
          const relay = set.serverOf(client);
          assert.equal(relay.resource, PATH + 'Relay');
          const [hop] = set.childrenOf(relay, 'grpc.client');
          assert.ok(hop, 'the Relay handler’s call is a child of its server span');
          assert.equal(hop.resource, PATH + 'SayHello');
          assert.equal(hop.service, 'grpc-server');
          const second = set.serverOf(hop);
          assert.equal(second.trace_id, client.trace_id);
        });
      });
    }
  }
});
