/**
 * AMQP method names from amqplib's `lib/defs.js`, which exports each method's numeric id under its class
 * and method name (`BasicPublish: 3932200`). Datadog names them in dotted lower case (`basic.publish`).
 * The ids are the protocol's, the same in every amqplib version, so one table serves every copy loaded.
 * @internal
 */
const names = new Map<number, string>();

/** Learn the method names from a `lib/defs.js` exports object. */
export function learnMethods(defs: unknown): void {
  if (defs === null || typeof defs !== 'object') return;
  for (const [key, value] of Object.entries(defs as Record<string, unknown>)) {
    // Method ids are integers under CamelCase keys; constants and helpers are not.
    if (typeof value !== 'number' || !Number.isInteger(value) || !/^[A-Z][a-z]+[A-Z]/.test(key)) continue;
    names.set(value, key.replace(/([a-z0-9])([A-Z])/g, '$1.$2').toLowerCase());
  }
}

/** The dotted name of a method id (`basic.publish`), or undefined when unknown. */
export function methodName(id: unknown): string | undefined {
  return typeof id === 'number' ? names.get(id) : undefined;
}
