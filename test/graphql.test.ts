/**
 * The graphql integration end to end, in real processes through the real preloader:
 *
 * - graphql-js called directly (test/fixtures/graphql/app.cjs and app.mjs, scenarios in scenarios.cjs), on
 *   the newest graphql 16 and on graphql 15 (installed under the alias `graphql15`; the test copies it
 *   as `node_modules/graphql` beside copies of the fixture files, so the app loads it by its real name);
 * - Apollo Server 5 (standalone, Node's http server) serving the same schema, CommonJS and ESM, queried
 *   over HTTP: the graphql spans must be children of the `web.request` span.
 *
 * Every traced run is compared with the same app run without the tracer: same data, same errors.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedSpan } from './helpers/test-agent';
import { TestAgent } from './helpers/test-agent';
import { ROOT, fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { installPackageCopy, runResultApp, versionOf } from './helpers/db-apps';
import { startListening, spansOnceSeen, type ListeningApp } from './helpers/http-apps';
import { SpanSet } from './helpers/span-set';

const SERVICE = 'graphql-fixture';
const FIXTURE_FILES = ['app.cjs', 'app.mjs', 'scenarios.cjs', 'schema.cjs'];

/** The directory from which an app loads graphql 15 under its real name; one per test process. */
let gql15: string | undefined;
function graphql15Dir(): string {
  if (gql15 !== undefined) return gql15;
  const dir = fixture('graphql', '.tmp', `graphql15-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  installPackageCopy('graphql15', join(dir, 'node_modules', 'graphql'));
  for (const file of FIXTURE_FILES) copyFileSync(fixture('graphql', file), join(dir, file));
  gql15 = dir;
  return dir;
}

/**
 * A directory whose `node_modules/graphql` is graphql 16's code claiming to be 17.0.0: only the version
 * gate is under test (graphql 17 itself loads as ES modules on recent Node, and is not supported).
 */
let gql17: string | undefined;
function graphql17Dir(): string {
  if (gql17 !== undefined) return gql17;
  const dir = fixture('graphql', '.tmp', `graphql17-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  const pkg = join(dir, 'node_modules', 'graphql');
  installPackageCopy('graphql', pkg);
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ ...manifest, version: '17.0.0' }));
  for (const file of FIXTURE_FILES) copyFileSync(fixture('graphql', file), join(dir, file));
  gql17 = dir;
  return dir;
}

interface AppRun {
  readonly version: string;
  readonly result: Record<string, unknown>;
  readonly stderr: string;
  readonly spans: DecodedSpan[];
}

async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const traced = mode !== 'none';
  const run = await runResultApp(app, {
    mode,
    env: { DD_SERVICE: SERVICE, ...(traced ? { WITH_TRACER: '1', DD_TRACE_DEBUG: 'true', ...env } : {}) },
    mustPrint: [/^GRAPHQLVERSION (.*)$/m],
    lastSpan: () => 'scenario.depth',
  });
  const version = /^GRAPHQLVERSION (.*)$/m.exec(run.stdout)![1];
  return { version, result: run.results, stderr: run.stderr, spans: run.spans };
}

/** Lookups of the graphql spans made inside one scenario span. */
class GraphqlSpans extends SpanSet {
  /** The one span called `name` that is a child of scenario span `scenario`. */
  childOf(scenario: string, name: string): DecodedSpan {
    const found = this.childrenOf(this.one(scenario), name);
    assert.equal(found.length, 1, `expected one ${name} under ${scenario}, got ${found.length}`);
    return found[0];
  }

  /** Every span of `scenario`'s trace called `name`. */
  inTrace(scenario: string, name: string): DecodedSpan[] {
    return this.traceOf(this.one(scenario)).filter((s) => s.name === name);
  }
}

interface ErrorEvent {
  name: string;
  attributes: Record<string, unknown>;
}

function events(span: DecodedSpan): ErrorEvent[] {
  return span.meta.events === undefined ? [] : (JSON.parse(span.meta.events) as ErrorEvent[]);
}

function assertGraphqlSpan(span: DecodedSpan, name: string): void {
  assert.equal(span.name, name);
  assert.equal(span.type, 'graphql');
  assert.equal(span.meta.component, 'graphql');
  assert.equal(span.service, SERVICE);
}

const VARIANTS: Array<{ label: string; dir: () => string; pkg: () => string; major: number; env: Record<string, string> }> = [
  { label: 'graphql 16 (newest supported)', dir: (): string => fixture('graphql'), pkg: (): string => join(ROOT, 'node_modules', 'graphql'), major: 16, env: {} },
  // A depth that is not a number: warned about once, naming the variable; the default (no resolver spans) applies.
  {
    label: 'graphql 15 (oldest supported)',
    dir: graphql15Dir,
    pkg: (): string => join(graphql15Dir(), 'node_modules', 'graphql'),
    major: 15,
    env: { DD_TRACE_GRAPHQL_DEPTH: 'deep' },
  },
];
const FORMATS: Array<{ label: string; file: string; mode: StartMode }> = [
  { label: 'CommonJS, --require', file: 'app.cjs', mode: 'require' },
  { label: 'ESM, --import', file: 'app.mjs', mode: 'import' },
];

describe('graphql integration', function () {
  this.timeout(60_000);

  after(async () => {
    await stopAllApps();
    for (const dir of [gql15, gql17]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    gql15 = gql17 = undefined;
  });

  it('leaves a graphql outside 15-16 unpatched: no graphql spans, same results', async () => {
    const app = join(graphql17Dir(), 'app.cjs');
    const [traced, control] = await Promise.all([runFixture(app, 'require'), runFixture(app, 'none')]);
    assert.equal(traced.version, '17.0.0');
    assert.match(traced.stderr, /graphql: graphql\/execution\/execute(\.js)?@17\.0\.0 is outside the supported range/);
    assert.deepEqual(traced.spans.filter((s) => s.name.startsWith('graphql.')), []);
    assert.ok(traced.spans.some((s) => s.name === 'scenario.named'), 'the app itself is traced');
    assert.deepEqual(traced.result, control.result);
  });

  for (const variant of VARIANTS) {
    for (const format of FORMATS) {
      describe(`graphql-js directly: ${variant.label}, ${format.label}`, () => {
        let traced: AppRun;
        let control: AppRun;
        let set: GraphqlSpans;
        let expected: string;

        before(async () => {
          expected = versionOf(variant.pkg());
          const app = join(variant.dir(), format.file);
          [traced, control] = await Promise.all([runFixture(app, format.mode, variant.env), runFixture(app, 'none')]);
          set = new GraphqlSpans(traced.spans);
        });

        it('loads the expected graphql and patches its files through the real hook', () => {
          assert.equal(traced.version, expected);
          assert.equal(control.version, expected);
          assert.equal(Number(expected.split('.')[0]), variant.major);
          const v = expected.replace(/\./g, '\\.');
          for (const file of ['execution/execute', 'language/parser', 'validation/validate']) {
            assert.match(traced.stderr, new RegExp(`graphql: patched graphql/${file}(\\.js)?@${v}`));
          }
        });

        if (variant.env.DD_TRACE_GRAPHQL_DEPTH !== undefined) {
          it('warns once about a DD_TRACE_GRAPHQL_DEPTH that is not a depth, and carries on', () => {
            const warnings = traced.stderr.split('\n').filter((line) => line.includes('warning') && line.includes('DD_TRACE_GRAPHQL_DEPTH'));
            assert.equal(warnings.length, 1, traced.stderr);
            assert.match(warnings[0], /"deep"/);
          });
        }

        it('leaves the app behaviour unchanged: same data and errors as without the tracer', () => {
          const r = control.result as Record<string, any>;  
          assert.deepEqual(r.named.data, { user: { name: 'Ann', friends: [{ name: 'Bo' }, { name: 'Cy' }] }, greet: 'hello secrethello secret' });
          assert.equal(r.resolverError.errors[0].message, 'kaboom');
          assert.match(r.validationError.errors[0].message, /Cannot query field "nope"/);
          assert.match(r.syntaxError.errors[0].message, /^Syntax Error/);
          assert.deepEqual(r.direct.result, { data: { greet: 'hello b' } });
          if (variant.major === 15) assert.deepEqual(r.positional, { data: { greet: 'hello pos' } });
          else assert.match(r.positional.thrown.message, /positional arguments/);
          assert.deepEqual(traced.result, control.result);
        });

        it('a named query: graphql.execute with the signature as resource, parse and validate beside it', () => {
          const execute = set.childOf('scenario.named', 'graphql.execute');
          assertGraphqlSpan(execute, 'graphql.execute');
          assert.equal(execute.resource, 'query GetUser($id:ID!){greet(name:"",times:0)user(id:$id){friends{name}name}}');
          assert.equal(execute.meta['span.kind'], 'server');
          assert.equal(execute.meta['graphql.operation.type'], 'query');
          assert.equal(execute.meta['graphql.operation.name'], 'GetUser');
          assert.equal(execute.meta['graphql.source'], 'query GetUser($id: ID!) {\n  user(id: $id) { name friends { name } }\n  greet(name: ?, times: ?)\n}');
          assert.equal(execute.error, 0);
          for (const name of ['graphql.parse', 'graphql.validate']) {
            const span = set.childOf('scenario.named', name);
            assertGraphqlSpan(span, name);
            assert.equal(span.resource, name);
            assert.equal(span.error, 0);
            assert.doesNotMatch(span.meta['graphql.source'], /secret/);
          }
          for (const span of set.traceOf(execute)) assert.doesNotMatch(JSON.stringify(span.meta), /secret/, `${span.name} must not carry the literal`);
        });

        it('resolver spans are off by default; a resolver’s own span is a child of graphql.execute, across await', () => {
          assert.deepEqual(set.inTrace('scenario.named', 'graphql.resolve'), []);
          const execute = set.childOf('scenario.named', 'graphql.execute');
          const own = set.inTrace('scenario.named', 'resolver.user');
          assert.equal(own.length, 1);
          assert.equal(own[0].parent_id, execute.span_id);
        });

        it('errors in the response mark graphql.execute, one span event per error', () => {
          const execute = set.childOf('scenario.resolver-error', 'graphql.execute');
          assert.equal(execute.resource, 'query Boom{boom greet(name:"")}');
          assert.equal(execute.error, 1);
          assert.equal(execute.meta['error.message'], 'kaboom');
          assert.equal(execute.meta['error.type'], 'GraphQLError');
          const [event] = events(execute);
          assert.equal(event.name, 'dd.graphql.query.error');
          assert.equal(event.attributes.message, 'kaboom');
          assert.deepEqual(event.attributes.path, ['boom']);
          assert.deepEqual(event.attributes.locations, ['1:14']);
        });

        it('a validation error marks graphql.validate, and nothing is executed', () => {
          const validate = set.childOf('scenario.validation-error', 'graphql.validate');
          assert.equal(validate.error, 1);
          assert.match(validate.meta['error.message'], /Cannot query field "nope"/);
          assert.equal(events(validate).length, 1);
          assert.deepEqual(set.inTrace('scenario.validation-error', 'graphql.execute'), []);
        });

        it('a syntax error marks graphql.parse, inside graphql() and thrown from parse()', () => {
          for (const scenario of ['scenario.syntax-error', 'scenario.parse-throws']) {
            const parse = set.childOf(scenario, 'graphql.parse');
            assert.equal(parse.error, 1);
            assert.match(parse.meta['error.message'], /^Syntax Error/);
          }
        });

        it('graphqlSync, and parse/validate/execute called one by one choosing the second operation', () => {
          assert.equal(set.childOf('scenario.sync', 'graphql.execute').resource, '{greet(name:"")}');
          const execute = set.childOf('scenario.direct', 'graphql.execute');
          assert.equal(execute.resource, 'query Second{greet(name:"",times:0)}');
          assert.equal(execute.meta['graphql.operation.name'], 'Second');
          assert.equal(execute.meta['graphql.source'], 'query First { greet(name: ?) } query Second { greet(name: ?, times: ?) }');
          assert.equal(set.childOf('scenario.direct', 'graphql.validate').error, 0);
        });

        it('a document transformed after parsing is recorded as transformed, not as the text it came from', () => {
          const spans = set.childrenOf(set.one('scenario.transformed'), 'graphql.execute').sort((a, b) => (a.start < b.start ? -1 : 1));
          assert.deepEqual(spans.map((s) => s.resource), ['{greet(name:"")}', '{greet}']);
          assert.deepEqual((control.result as { transformed: unknown }).transformed, { first: { data: { greet: 'hello t' } }, second: { data: { greet: 'hello undefined' } } });
        });

        it(variant.major === 15 ? 'graphql 15’s positional execute(schema, document)' : 'graphql 16 throws on positional arguments; the span says so', () => {
          const execute = set.childOf('scenario.positional', 'graphql.execute');
          assert.equal(execute.resource, '{greet(name:"")}');
          assert.equal(execute.error, variant.major === 15 ? 0 : 1);
        });

        it('with depth 2 (tracer.use), one graphql.resolve per field down to the second level, list items collapsed', () => {
          const execute = set.childOf('scenario.depth', 'graphql.execute');
          const resolves = set.inTrace('scenario.depth', 'graphql.resolve');
          const byPath = new Map(resolves.map((s) => [s.meta['graphql.field.path'], s]));
          assert.deepEqual([...byPath.keys()].sort(), ['user', 'user.friends', 'user.name']);
          assert.equal(resolves.length, 3);
          const user = byPath.get('user')!;
          assertGraphqlSpan(user, 'graphql.resolve');
          assert.equal(user.resource, 'user:User');
          assert.equal(user.parent_id, execute.span_id);
          assert.equal(user.meta['graphql.field.name'], 'user');
          assert.equal(user.meta['graphql.field.type'], 'User');
          assert.equal(user.meta['graphql.field.coordinates'], 'Query.user');
          const friends = byPath.get('user.friends')!;
          assert.equal(friends.resource, 'friends:[User!]!');
          assert.equal(friends.meta['graphql.field.type'], 'User');
          assert.equal(friends.meta['graphql.field.coordinates'], 'User.friends');
          assert.equal(friends.parent_id, user.span_id);
          assert.equal(byPath.get('user.name')!.parent_id, user.span_id);
          // The resolver's own span now nests under its resolve span.
          const own = set.named('resolver.user').find((s) => s.trace_id === execute.trace_id)!;
          assert.equal(own.parent_id, user.span_id);
        });
      });
    }
  }

  describe('Apollo Server 5 over HTTP', () => {
    for (const format of [
      { label: 'CommonJS, --require', file: 'apollo.cjs', mode: 'require' as const },
      { label: 'ESM, --import', file: 'apollo.mjs', mode: 'import' as const },
    ]) {
      describe(format.label, () => {
        let agent: TestAgent;
        let traced: ListeningApp;
        let plain: ListeningApp;

        before(async () => {
          agent = await TestAgent.start();
          const app = fixture('graphql', format.file);
          // Resolver spans from the environment this time: the top-level fields only.
          [traced, plain] = await Promise.all([
            startListening(app, { mode: format.mode, agent, env: { DD_SERVICE: SERVICE, WITH_TRACER: '1', DD_TRACE_GRAPHQL_DEPTH: '1' } }),
            startListening(app, { mode: 'none', env: {} }),
          ]);
        });
        after(async () => {
          traced?.app.kill();
          plain?.app.kill();
          await agent?.close();
        });

        const QUERIES = [
          { query: 'query GetUser($id: ID!) { user(id: $id) { name friends { name } } greet(name: "apollo") }', variables: { id: '2' } },
          { query: '{ boom }' },
          { query: '{ nope }' },
          { query: '{ user( ' },
        ];

        it('answers the same with and without the tracer', async () => {
          for (const body of QUERIES) {
            const [a, b] = await Promise.all([post(traced.port, body), post(plain.port, body)]);
            assert.deepEqual(a, b);
          }
          const first = await post(plain.port, QUERIES[0]);
          assert.deepEqual(first.body, { data: { user: { name: 'Bo', friends: [{ name: 'Ann' }] }, greet: 'hello apollo' } });
        });

        it('graphql spans are children of the web.request span; resolvers to depth 1 from DD_TRACE_GRAPHQL_DEPTH', async () => {
          await post(traced.port, { ...QUERIES[0], variables: { id: '3' } });
          const spans = await spansOnceSeen(agent, (all) => all.some((s) => s.name === 'graphql.execute' && s.meta['graphql.operation.name'] === 'GetUser'));
          const set = new SpanSet(spans);
          const execute = spans.find((s) => s.name === 'graphql.execute' && s.meta['graphql.operation.name'] === 'GetUser')!;
          const web = set.traceOf(execute).find((s) => s.name === 'web.request')!;
          assert.ok(web, 'the request has a web.request span');
          assert.equal(web.resource, 'POST');
          assert.equal(execute.parent_id, web.span_id);
          assert.equal(execute.resource, 'query GetUser($id:ID!){greet(name:"")user(id:$id){friends{name}name}}');
          assert.doesNotMatch(execute.meta['graphql.source'], /apollo/);
          // Apollo keeps parsed documents: parse and validate are seen for the first request of a query.
          for (const name of ['graphql.parse', 'graphql.validate']) {
            const span = spans.find((s) => s.name === name && s.meta['graphql.source']?.startsWith('query GetUser'));
            assert.ok(span, `a ${name} span for the query`);
            const parent = spans.find((s) => s.span_id === span.parent_id);
            assert.equal(parent?.name, 'web.request');
          }
          const resolves = set.childrenOf(execute, 'graphql.resolve');
          assert.deepEqual(resolves.map((s) => s.resource).sort(), ['greet:String', 'user:User']);
          assert.deepEqual(set.traceOf(execute).filter((s) => s.name === 'graphql.resolve').length, 2, 'nothing deeper than depth 1');
          const user = resolves.find((s) => s.resource === 'user:User')!;
          const own = set.traceOf(execute).find((s) => s.name === 'resolver.user')!;
          assert.equal(own.parent_id, user.span_id);
        });

        it('a resolver error marks graphql.execute and its resolve span; the request is still a 200', async () => {
          const spans = await spansOnceSeen(agent, (all) => all.some((s) => s.name === 'graphql.execute' && s.resource === '{boom}'));
          const set = new SpanSet(spans);
          const execute = spans.find((s) => s.name === 'graphql.execute' && s.resource === '{boom}')!;
          assert.equal(execute.error, 1);
          assert.equal(execute.meta['error.message'], 'kaboom');
          const [resolve] = set.childrenOf(execute, 'graphql.resolve');
          assert.equal(resolve.error, 1);
          const web = set.traceOf(execute).find((s) => s.name === 'web.request')!;
          assert.equal(web.meta['http.status_code'], '200');
          assert.equal(web.error, 0);
        });
      });
    }
  });
});

/** POST a GraphQL request; the status and the JSON answer. */
function post(port: number, body: object): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, path: '/', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
