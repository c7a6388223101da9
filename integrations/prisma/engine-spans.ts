/**
 * `prisma.engine` spans from the spans a Prisma engine reports after a request (Prisma's Rust engine and
 * its remote one do; the query compiler of Prisma 6.16+/7 runs queries through the driver adapter, whose
 * driver makes its own spans instead). Each keeps the engine's times and tree, under the active span;
 * a `db_query` span's resource is its SQL, typed like the database's.
 *
 * @internal
 */
import type { Kit, Span, SpanParent, TagValue } from '../../lib/kit';

/** An engine span as Prisma hands it over (OpenTelemetry high-resolution times: [seconds, nanoseconds]). */
export interface EngineSpan {
  readonly id?: unknown;
  readonly parentId?: unknown;
  readonly name?: unknown;
  readonly kind?: unknown;
  readonly startTime?: unknown;
  readonly endTime?: unknown;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Span type and `db.type` per Prisma `db.system`. */
const DATABASES: Readonly<Record<string, { type: string; dbType: string }>> = {
  postgresql: { type: 'sql', dbType: 'postgres' },
  mysql: { type: 'sql', dbType: 'mysql' },
  sqlite: { type: 'sql', dbType: 'sqlite' },
  mongodb: { type: 'mongodb', dbType: 'mongodb' },
};

const PREFIX = 'prisma:engine:';

/** Make the spans of one report, roots under the active span. */
export function dispatchEngineSpans(kit: Kit, spans: readonly EngineSpan[]): void {
  const children = new Map<unknown, EngineSpan[]>();
  for (const span of spans) {
    if (typeof span !== 'object' || span === null) continue;
    const parent = span.parentId ?? null;
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [span]);
    else list.push(span);
  }
  const parent = kit.activeSpan() ?? null;
  for (const root of children.get(null) ?? []) makeSpan(kit, root, parent, children, 0);
}

function makeSpan(kit: Kit, engineSpan: EngineSpan, parent: SpanParent, children: Map<unknown, EngineSpan[]>, depth: number): void {
  // A report is a tree; a malformed one that cycles stops here.
  if (depth > 100) return;
  const rawName = typeof engineSpan.name === 'string' ? engineSpan.name : 'engine';
  const name = rawName.startsWith(PREFIX) ? rawName.slice(PREFIX.length) : rawName;
  const attributes = engineSpan.attributes ?? {};
  const tags: Record<string, TagValue | undefined> = { 'prisma.name': name, 'prisma.type': 'engine' };
  let resource = name;
  let type: string | undefined;
  if (name === 'db_query') {
    const system = typeof attributes['db.system'] === 'string' ? attributes['db.system'] : undefined;
    const known = system === undefined ? undefined : DATABASES[system];
    if (typeof attributes['db.query.text'] === 'string') resource = attributes['db.query.text'];
    type = known?.type ?? system;
    tags['db.type'] = known?.dbType ?? system;
  }
  const span: Span = kit.startSpan({
    name: 'prisma.engine',
    resource,
    type,
    kind: engineSpan.kind === 'client' || engineSpan.kind === 'internal' ? engineSpan.kind : undefined,
    serviceSuffix: 'prisma',
    childOf: parent,
    startTime: epochMs(engineSpan.startTime),
    tags,
  });
  for (const child of children.get(engineSpan.id) ?? []) makeSpan(kit, child, span, children, depth + 1);
  span.finish(epochMs(engineSpan.endTime));
}

/** Epoch milliseconds of an OpenTelemetry `[seconds, nanoseconds]` time; undefined when malformed. */
function epochMs(time: unknown): number | undefined {
  if (!Array.isArray(time) || typeof time[0] !== 'number' || typeof time[1] !== 'number') return undefined;
  return time[0] * 1000 + time[1] / 1e6;
}
