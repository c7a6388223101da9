/**
 * The registry runtime in-process: naming, the enable/version decision, lazy loading, fail-safety,
 * idempotence through the marker on exports, ESM namespaces, and the patch context.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { hookKey, Instrumenter, INSTRUMENTED } from '../hooks/instrumenter';
import { Tracer } from '../lib/tracer';
import { suppressTracing } from '../lib/scope';
import { resetLogState, setLogSink } from '../lib/log';
import type { GlobalHook, ModuleHook, Kit, Patcher } from '../lib/kit';

type Lib = { greet(name: string): string; [key: string]: unknown };

function makeLib(): Lib {
  return {
    greet(name: string): string {
      return `hello ${name}`;
    },
  };
}

/** A hook whose patcher wraps `greet` and records every context it was given. */
function greetHook(overrides: Partial<ModuleHook> = {}, contexts: Kit[] = []): ModuleHook & { loads: number } {
  const hook = {
    integration: 'fake',
    module: 'fake-lib',
    loads: 0,
    load(): Patcher {
      hook.loads++;
      return (exports, ctx) => {
        contexts.push(ctx);
        const lib = exports as Lib;
        const original = lib.greet;
        lib.greet = function greet(name: string): string {
          return `${original.call(this, name)} (patched)`;
        };
      };
    },
    ...overrides,
  };
  return hook;
}

describe('Instrumenter (registry runtime)', () => {
  let dir: string;
  let logs: string[];
  let previousSink: ReturnType<typeof setLogSink>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'instrumenter-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fake-lib', version: '1.4.0' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    logs = [];
    resetLogState();
    previousSink = setLogSink((line) => logs.push(line));
  });
  afterEach(() => {
    setLogSink(previousSink);
    resetLogState();
  });

  describe('hookKey', () => {
    const cases: Array<[string, string | undefined, string]> = [
      ['pg', undefined, 'pg'],
      ['node:http', undefined, 'http'],
      ['pg', 'lib/client.js', 'pg/lib/client'],
      ['pg', './lib/client.js', 'pg/lib/client'],
      ['x', 'lib/index.js', 'x/lib'],
      ['@redis/client', 'dist/lib/client/index.js', '@redis/client/dist/lib/client'],
      ['mysql2', 'lib\\connection.js', 'mysql2/lib/connection'],
    ];
    for (const [module, file, key] of cases) {
      it(`${module} ${file ?? ''} -> ${key}`, () => assert.equal(hookKey(module, file), key));
    }
  });

  it('derives the names for require-in-the-middle and import-in-the-middle', () => {
    const inst = new Instrumenter({
      tracer: new Tracer(),
      moduleHooks: [greetHook(), greetHook({ file: 'lib/internal.js' }), greetHook({ module: 'node:http', integration: 'http' })],
    });
    assert.deepEqual([...inst.requireNames].sort(), ['fake-lib', 'fake-lib/lib/internal', 'http']);
    assert.deepEqual([...inst.importNames].sort(), ['fake-lib', 'http']);
    assert.equal(inst.hasFileHooks, true);
  });

  it('patches a supported version once, loading the patch code once', () => {
    const contexts: Kit[] = [];
    const hook = greetHook({ versions: '>=1 <2' }, contexts);
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
    const lib = makeLib();
    assert.equal(inst.onRequire(lib, 'fake-lib', dir), lib);
    assert.equal(lib.greet('a'), 'hello a (patched)');
    assert.equal(inst.onRequire(lib, 'fake-lib', dir), lib, 'seen again (e.g. by the ESM hook)');
    assert.equal(lib.greet('a'), 'hello a (patched)', 'not wrapped twice');
    assert.equal(hook.loads, 1);
    assert.equal(contexts.length, 1);
    assert.equal(contexts[0].version, '1.4.0');
    assert.equal(contexts[0].integration, 'fake');
    assert.ok((lib as { [INSTRUMENTED]?: Set<string> })[INSTRUMENTED]!.has('fake:fake-lib'));
    assert.equal(Object.keys(lib).includes(String(INSTRUMENTED)), false);
  });

  it('applies every hook one integration registers for the same module, in order', () => {
    const order: string[] = [];
    const hook = (tag: string): ModuleHook => ({
      integration: 'fake',
      module: 'fake-lib',
      load: () => () => void order.push(tag),
    });
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook('first'), hook('second')] });
    const lib = makeLib();
    inst.onRequire(lib, 'fake-lib', undefined);
    inst.onRequire(lib, 'fake-lib', undefined);
    assert.deepEqual(order, ['first', 'second']);
  });

  it('leaves an unsupported or unknown version unpatched without loading anything', () => {
    const hook = greetHook({ versions: '>=2' });
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
    const lib = makeLib();
    inst.onRequire(lib, 'fake-lib', dir);
    inst.onRequire(makeLib(), 'fake-lib', join(dir, 'no-such-dir'));
    assert.equal(lib.greet('a'), 'hello a');
    assert.equal(hook.loads, 0);
  });

  it('a built-in (no baseDir) needs no version', () => {
    const hook = greetHook({ module: 'http', integration: 'http' });
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
    const lib = makeLib();
    inst.onRequire(lib, 'node:http', undefined);
    assert.equal(lib.greet('a'), 'hello a (patched)');
  });

  it('an internal-file hook matches the names both hook libraries give the file', () => {
    const hook = greetHook({ file: 'lib/internal.js' });
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
    const fromRequire = makeLib();
    inst.onRequire(fromRequire, 'fake-lib/lib/internal', dir);
    assert.equal(fromRequire.greet('a'), 'hello a (patched)');
    const fromImport = makeLib();
    inst.onImport({ default: fromImport, greet: fromImport.greet }, `fake-lib${sep}lib/internal.js`, dir, 'commonjs');
    assert.equal(fromImport.greet('b'), 'hello b (patched)');
    const main = makeLib();
    inst.onRequire(main, 'fake-lib', dir);
    assert.equal(main.greet('c'), 'hello c', 'the main export is not the internal file');
  });

  it('keeps a replacement export and hands it out again, even for frozen exports', () => {
    let calls = 0;
    const replacement = { replaced: true };
    const hook: ModuleHook = {
      integration: 'fake',
      module: 'fake-lib',
      load: () => () => {
        calls++;
        return replacement;
      },
    };
    const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
    const frozen = Object.freeze({ greet: () => 'x' });
    assert.equal(inst.onRequire(frozen, 'fake-lib', undefined), replacement);
    assert.equal(inst.onRequire(frozen, 'fake-lib', undefined), replacement);
    assert.equal(calls, 1);
  });

  for (const where of ['load', 'patch'] as const) {
    it(`a throw in ${where} leaves the exports as they were, turns the integration off and warns once`, () => {
      const hook: ModuleHook = {
        integration: 'fake',
        module: 'fake-lib',
        load: () => {
          if (where === 'load') throw new Error('load broke');
          return () => {
            throw new Error('patch broke');
          };
        },
      };
      const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
      const lib = makeLib();
      assert.equal(inst.onRequire(lib, 'fake-lib', undefined), lib);
      const second = makeLib();
      assert.equal(inst.onRequire(second, 'fake-lib', undefined), second);
      assert.equal(lib.greet('a'), 'hello a');
      assert.equal(second.greet('b'), 'hello b');
      assert.equal(inst.isEnabled('fake'), false);
      assert.equal(logs.filter((l) => l.includes('fake integration failed and is turned off')).length, 1, logs.join('\n'));
      assert.match(logs[0], new RegExp(`${where} broke`));
    });
  }

  describe('patch context', () => {
    it('active() is false inside suppressed tracer I/O and after fail()', () => {
      const contexts: Kit[] = [];
      const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [greetHook({}, contexts)] });
      inst.onRequire(makeLib(), 'fake-lib', undefined);
      const ctx = contexts[0];
      assert.equal(ctx.active(), true);
      assert.equal(
        suppressTracing(() => ctx.active()),
        false,
      );
      ctx.fail(new Error('integration bug'));
      ctx.fail(new Error('integration bug'));
      assert.equal(ctx.active(), false);
      assert.equal(logs.length, 1, 'fail() logs once');
      assert.doesNotThrow(() => ctx.fail(undefined));
    });

    it('follows tracer.use() at once: active() turns off and back on without a settings read or init()', () => {
      const tracer = new Tracer();
      const contexts: Kit[] = [];
      const inst = new Instrumenter({ tracer, moduleHooks: [greetHook({}, contexts)] });
      inst.onRequire(makeLib(), 'fake-lib', undefined);
      const ctx = contexts[0];
      assert.equal(ctx.active(), true);
      tracer.use('fake', { enabled: false, service: 'greeter' });
      assert.equal(ctx.active(), false, 'use() alone turns the hot-path check off');
      assert.equal(ctx.settings().enabled, false);
      assert.equal(ctx.settings().service, 'greeter');
      tracer.use('fake', { enabled: true });
      assert.equal(ctx.active(), true, 'and back on');
    });

    it('builds the tracer only when a patch first uses it', () => {
      let built = 0;
      const tracer = new Tracer();
      const contexts: Kit[] = [];
      const inst = new Instrumenter({
        tracer: () => {
          built++;
          return tracer;
        },
        config: { enabled: true, disabledIntegrations: new Set() },
        moduleHooks: [greetHook({}, contexts)],
      });
      inst.onRequire(makeLib(), 'fake-lib', undefined);
      assert.equal(built, 0, 'patching needs no tracer');
      const span = contexts[0].startSpan({ name: 'probe' });
      assert.equal(span.service, tracer.config.service, 'the span comes from the tracer built on demand');
      contexts[0].settings();
      assert.equal(built, 1, 'built once');
    });

    it('an integration turned off by configuration is not loaded', () => {
      const hook = greetHook();
      const inst = new Instrumenter({
        tracer: () => new Tracer(),
        config: { enabled: true, disabledIntegrations: new Set(['fake']) },
        moduleHooks: [hook],
      });
      const lib = makeLib();
      inst.onRequire(lib, 'fake-lib', undefined);
      assert.equal(lib.greet('a'), 'hello a');
      assert.equal(hook.loads, 0);
    });
  });

  describe('ES module namespaces (import-in-the-middle)', () => {
    it('a CommonJS module: patches default and re-binds the named exports the patcher replaced', () => {
      const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [greetHook()] });
      const lib = makeLib();
      const namespace: Record<string, unknown> = { default: lib, greet: lib.greet };
      assert.equal(inst.onImport(namespace, 'fake-lib', undefined, 'commonjs'), undefined);
      assert.equal((namespace.greet as Lib['greet'])('a'), 'hello a (patched)');
      assert.equal(namespace.greet, lib.greet);
    });

    it('a pure ES module: the patcher works on a plain object, the namespace gets the result', () => {
      const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [greetHook()] });
      // Like import-in-the-middle's namespace: no prototype, so no propertyIsEnumerable & co.
      const namespace = Object.create(null) as Record<string, unknown>;
      namespace.greet = makeLib().greet;
      namespace.default = { other: true };
      inst.onImport(namespace, 'fake-lib', undefined, 'module');
      assert.equal((namespace.greet as Lib['greet'])('a'), 'hello a (patched)');
      const before = namespace.greet;
      inst.onImport(namespace, 'fake-lib', undefined, 'module');
      assert.equal(namespace.greet, before, 'not patched twice');
    });

    it('modules that are not hooked are left alone', () => {
      const hook = greetHook();
      const inst = new Instrumenter({ tracer: new Tracer(), moduleHooks: [hook] });
      const namespace: Record<string, unknown> = { default: makeLib() };
      assert.equal(inst.onImport(namespace, 'other-lib', undefined, 'commonjs'), undefined);
      assert.equal(hook.loads, 0);
    });
  });

  describe('global hooks', () => {
    it('enables enabled ones once, skips disabled ones, survives a throwing one', () => {
      const seen: string[] = [];
      const globalHooks: GlobalHook[] = [
        { integration: 'one', load: () => (ctx) => void seen.push(ctx.integration) },
        { integration: 'off', load: () => () => void seen.push('off') },
        {
          integration: 'bad',
          load: () => () => {
            throw new Error('global broke');
          },
        },
      ];
      const inst = new Instrumenter({
        tracer: () => new Tracer(),
        config: { enabled: true, disabledIntegrations: new Set(['off']) },
        moduleHooks: [],
        globalHooks,
      });
      inst.enableGlobalHooks();
      assert.deepEqual(seen, ['one']);
      assert.equal(inst.isEnabled('bad'), false);
      assert.equal(inst.isEnabled('one'), true);
      assert.match(logs.join('\n'), /bad integration failed and is turned off: global broke/);
    });
  });
});
