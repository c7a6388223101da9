/**
 * Building the {@link Kit} handed to one integration's patch. Only the instrumenter (in `hooks/`) calls
 * this; the tracer is resolved on first use, so a process whose patched modules never make a span never
 * builds one.
 *
 * @internal
 */
import type { Span } from '../span';
import type { Tracer } from '../tracer';
import type { PropagatedContext } from '../types';
import { storage, isTracingSuppressed, type Frame } from '../scope';
import { debug, warnOnce } from '../log';
import type { AnyFunction, Kit, KitConfig, KitSettings, SpanRecipe } from './types';
import { startFromRecipe } from './recipe';
import { bindEmitterTo, bindTo, finishingCallback, runIn, settleSpan } from './context';

/** The instrumenter's per-integration switches, read on every patched call. */
export interface KitState {
  /** Enabled by configuration. */
  on: boolean;
  /** Turned off for good by `fail()`. */
  failed: boolean;
}

/** What the kit needs from the instrumenter. */
export interface KitHost {
  /** The process-wide tracer (built on first call). */
  tracer(): Tracer;
  /** Turn the integration off and say why, once. Never throws. */
  fail(integration: string, err: unknown): void;
}

/** Build the kit of `integration` (module at `version`). */
export function createKit(host: KitHost, integration: string, version: string | undefined, state: KitState): Kit {
  const fail = (err: unknown): void => host.fail(integration, err);
  const finish = (span: Span, err: unknown): void => {
    try {
      if (span.finished) return;
      if (err !== undefined && err !== null && err !== false) span.setError(err);
      span.finish();
    } catch (failure) {
      fail(failure);
    }
  };
  const kit: Kit = {
    integration,
    version,
    get config(): KitConfig {
      return host.tracer().config;
    },
    active: (): boolean => state.on && !state.failed && !isTracingSuppressed(),
    fail,
    settings: (): KitSettings => {
      const settings = host.tracer().integrationSettings(integration);
      state.on = settings.enabled;
      return settings;
    },
    settingsOf: (other: string): KitSettings => host.tracer().integrationSettings(other),
    startSpan: (recipe: SpanRecipe): Span => startFromRecipe(host.tracer(), integration, recipe),
    finish: (span: Span, err?: unknown): void => finish(span, err),
    current: (): Frame | undefined => storage.getStore(),
    activeSpan: (): Span | undefined => storage.getStore()?.activeSpan,
    run: <T>(frame: Frame | undefined, fn: () => T): T => runIn(frame, fn),
    apply: <R>(frame: Frame | undefined, fn: (...args: never[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R =>
      storage.run(frame, Reflect.apply, fn, thisArg, args) as R,
    bind: <F extends AnyFunction>(fn: F, frame: Frame | undefined = storage.getStore()): F => bindTo(fn, frame),
    finishing: <F extends AnyFunction>(span: Span, callback: F, frame: Frame | undefined = storage.getStore(), onResult?: (span: Span, args: readonly unknown[]) => void): F =>
      finishingCallback(span, callback, frame, finish, onResult, fail),
    settle: <T>(span: Span, result: T, onValue?: (span: Span, value: unknown) => void): T => settleSpan(span, result, finish, onValue, fail),
    bindEmitter: (emitter: object, frame: Frame | undefined = storage.getStore(), onEvent?: (event: unknown, args: readonly unknown[]) => void): void => {
      try {
        bindEmitterTo(emitter, frame, onEvent, fail);
      } catch (err) {
        fail(err);
      }
    },
    inject: (span: Span, headers: Record<string, unknown>): void => {
      try {
        host.tracer().inject(span, 'http_headers', headers as Record<string, string>);
      } catch (err) {
        fail(err);
      }
    },
    extract: (headers) => {
      try {
        return host.tracer().extract('http_headers', headers as Record<string, string>);
      } catch (err) {
        fail(err);
        return null;
      }
    },
    link: (span: Span, contexts: Iterable<PropagatedContext | null>): void => {
      try {
        // Loaded on the first link: the kit is built at start, and span-links needs the id code.
        (require('../span-links') as typeof import('../span-links')).linkContexts(span, contexts);
      } catch (err) {
        fail(err);
      }
    },
    env: (variable: string): string | undefined => host.tracer().config.environment[variable],
    warn: (key: string, message: string): void => {
      try {
        warnOnce(`${integration}:${key}`, message);
      } catch {
        // Saying it must never fail the caller.
      }
    },
    debug: (message: string | (() => string)): void => debug(message),
  };
  return kit;
}
