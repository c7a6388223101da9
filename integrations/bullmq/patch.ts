/**
 * The bullmq patchers. Spans as Datadog's tracer makes them (service `<DD_SERVICE>-bullmq`, resource the
 * queue's name, `messaging.system` `bullmq`):
 *
 * - `bullmq.add` / `bullmq.addBulk` (kind `producer`, `messaging.operation` `publish`) for `Queue.add` and
 *   `Queue.addBulk`, until the job is stored; the context goes into each job's options (`telemetry.ts`),
 *   through copies of the app's options and job objects, and the jobs handed back carry the app's own;
 * - `bullmq.processJob` (kind `consumer`, `messaging.operation` `process`) around `Worker.callProcessJob`,
 *   the call of the app's processor, continuing the producer's trace; the processor runs in it.
 *
 * Every job read back from Redis (by a worker, `getJob`, `getJobs`, …) is made by `Job.fromJSON`: there
 * the context is taken out of the job's options, which become the app's own again, and kept aside for
 * the worker's span.
 *
 * `FlowProducer.add` is not traced.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span } from '../../lib/kit';
import type { PropagatedContext } from '../../lib/kit';
import { optsWithContext, restoreOwn, takeContext } from './telemetry';

/** The producer's context of each job read back from Redis, taken out of its options by `Job.fromJSON`. */
const contexts = new WeakMap<object, PropagatedContext>();

function protoOf(exports: unknown, name: string): object | undefined {
  const cls = (exports as Record<string, unknown> | null)?.[name];
  return typeof cls === 'function' ? (cls as { prototype?: object }).prototype : undefined;
}

function producerSpan(kit: Kit, queue: unknown, name: string, count?: number): Span {
  const queueName = (queue as { name?: unknown } | null)?.name;
  return kit.startSpan({
    name,
    resource: typeof queueName === 'string' ? queueName : 'bullmq',
    kind: 'producer',
    serviceSuffix: 'bullmq',
    tags: {
      'messaging.system': 'bullmq',
      'messaging.operation': 'publish',
      'messaging.destination.name': typeof queueName === 'string' ? queueName : undefined,
      'messaging.batch.message_count': count,
    },
  });
}

/** `dist/cjs/classes/queue.js`: `Queue.prototype.add` and `addBulk`. */
export const patchQueue: Patcher = (exports, kit) => {
  const proto = protoOf(exports, 'Queue');
  if (proto === undefined) return undefined;
  wrapMethod<AnyFunction>(proto, 'add', kit.integration, (original) =>
    function add(this: unknown, name?: unknown, data?: unknown, opts?: unknown): unknown {
      if (!kit.active()) return Reflect.apply(original, this, arguments);
      let span: Span;
      let traced: unknown;
      try {
        span = producerSpan(kit, this, 'bullmq.add');
        traced = optsWithContext(kit, span, opts);
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      const own = (opts as { telemetry?: unknown } | null | undefined)?.telemetry;
      const result: unknown = runIn(kit, span, () => Reflect.apply(original, this, [name, data, traced]));
      return kit.settle(span, result, (_s, job) => restoreOwn(job, own));
    },
  );
  wrapMethod<AnyFunction>(proto, 'addBulk', kit.integration, (original) =>
    function addBulk(this: unknown, jobs?: unknown): unknown {
      if (!kit.active() || !Array.isArray(jobs)) return Reflect.apply(original, this, arguments);
      let span: Span;
      let traced: unknown[];
      try {
        span = producerSpan(kit, this, 'bullmq.addBulk', jobs.length);
        traced = jobs.map((job: unknown) =>
          job !== null && typeof job === 'object' ? { ...(job as object), opts: optsWithContext(kit, span, (job as { opts?: unknown }).opts) } : job,
        );
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      const owns = jobs.map((job: unknown) => (job as { opts?: { telemetry?: unknown } } | null)?.opts?.telemetry);
      const result: unknown = runIn(kit, span, () => Reflect.apply(original, this, [traced]));
      return kit.settle(span, result, (_s, added) => {
        if (Array.isArray(added)) added.forEach((job: unknown, i: number) => restoreOwn(job, owns[i]));
      });
    },
  );
  return undefined;
};

/** `dist/cjs/classes/job.js`: the static `Job.fromJSON`, which makes every job read from Redis. */
export const patchJob: Patcher = (exports, kit) => {
  const Job = (exports as Record<string, unknown> | null)?.Job;
  if (typeof Job !== 'function') return undefined;
  wrapMethod<AnyFunction>(Job, 'fromJSON', kit.integration, (original) =>
    function fromJSON(this: unknown): unknown {
      const job: unknown = Reflect.apply(original, this, arguments);
      if (!kit.active() || job === null || typeof job !== 'object') return job;
      try {
        const context = takeContext(kit, job);
        if (context !== null) contexts.set(job, context);
      } catch (err) {
        kit.fail(err);
      }
      return job;
    },
  );
  return undefined;
};

/** `dist/cjs/classes/worker.js`: `Worker.prototype.callProcessJob`. */
export const patchWorker: Patcher = (exports, kit) => {
  const proto = protoOf(exports, 'Worker');
  if (proto === undefined) return undefined;
  wrapMethod<AnyFunction>(proto, 'callProcessJob', kit.integration, (original) =>
    function callProcessJob(this: unknown, job?: unknown): unknown {
      if (!kit.active()) return Reflect.apply(original, this, arguments);
      let span: Span;
      try {
        const j = job as { queueName?: unknown; queue?: { name?: unknown } } | null | undefined;
        const queueName = typeof j?.queueName === 'string' ? j.queueName : typeof j?.queue?.name === 'string' ? j.queue.name : 'bullmq';
        const parent = job !== null && typeof job === 'object' ? contexts.get(job) : undefined;
        span = kit.startSpan({
          name: 'bullmq.processJob',
          resource: queueName,
          kind: 'consumer',
          serviceSuffix: 'bullmq',
          childOf: parent,
          tags: { 'messaging.system': 'bullmq', 'messaging.operation': 'process', 'messaging.destination.name': queueName },
        });
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      return kit.settle(span, runIn(kit, span, () => Reflect.apply(original, this, arguments)));
    },
  );
  return undefined;
};

/** Run `fn` in `span`; a synchronous throw finishes the span in error and reaches the caller unchanged. */
function runIn(kit: Kit, span: Span, fn: () => unknown): unknown {
  try {
    return kit.run(span, fn);
  } catch (err) {
    kit.finish(span, err);
    throw err;
  }
}
