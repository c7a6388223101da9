/**
 * A log record as the logger's own code sees it, with a `dd` field the app's object never receives.
 * A plain object is copied (own keys, symbols included: winston keeps its level and message under
 * symbols); anything else (an Error, a class instance) is seen through a Proxy that adds `dd` as a virtual
 * own property, so `instanceof`, the prototype and non-enumerable fields such as an Error's `message` and
 * `stack` stay what they are.
 */

/** `record` with `dd` added, the original untouched; `record` itself when no view can be made. */
export function withDdField(record: object, dd: object): object {
  const proto = Object.getPrototypeOf(record) as unknown;
  if ((proto === Object.prototype || proto === null) && !Array.isArray(record)) {
    const copy = proto === null ? Object.create(null) as Record<PropertyKey, unknown> : {};
    return Object.assign(copy, record, { dd });
  }
  // A non-extensible target may not report a property it lacks (a Proxy invariant): leave it as it is.
  if (!Object.isExtensible(record)) return record;
  return new Proxy(record, ddTraps(dd));
}

function ddTraps(dd: object): ProxyHandler<object> {
  // Created as a data property of a holder, so the descriptor is a valid, configurable one.
  const holder = { dd };
  const isVirtual = (target: object, key: PropertyKey): boolean => key === 'dd' && !Object.prototype.hasOwnProperty.call(target, 'dd');
  return {
    get: (target, key) => (isVirtual(target, key) ? dd : Reflect.get(target, key)),
    has: (target, key) => isVirtual(target, key) || Reflect.has(target, key),
    ownKeys: (target) => {
      const keys = Reflect.ownKeys(target);
      if (!keys.includes('dd') && Object.isExtensible(target)) keys.push('dd');
      return keys;
    },
    getOwnPropertyDescriptor: (target, key) =>
      isVirtual(target, key) && Object.isExtensible(target) ? Reflect.getOwnPropertyDescriptor(holder, 'dd') : Reflect.getOwnPropertyDescriptor(target, key),
  };
}
