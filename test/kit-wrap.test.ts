/** The kit's wrapMethod: shape kept, patched once per integration, and null-prototype objects patched too. */
import assert from 'node:assert/strict';
import { wrapMethod, isPatched } from '../lib/kit';

type Add = (this: { base: number }, a: number, b: number) => number;

describe('kit: wrapMethod', () => {
  for (const [label, make] of [
    ['an ordinary object', () => ({ base: 1, add(this: { base: number }, a: number, b: number) { return this.base + a + b; } })],
    ['a null-prototype object', () => Object.assign(Object.create(null) as { base: number; add: Add }, { base: 1, add(this: { base: number }, a: number, b: number) { return this.base + a + b; } })],
  ] as const) {
    it(`${label}: the wrapper keeps name, length, this and result; a second wrap by the same integration is refused`, () => {
      const target = make() as { base: number; add: Add };
      const calls: number[] = [];
      const wrapped = wrapMethod<Add>(target, 'add', 'test', (original) => function (this: { base: number }, a: number, b: number) {
        calls.push(a);
        return original.call(this, a, b);
      });
      assert.equal(wrapped, true);
      assert.equal(target.add(2, 3), 6);
      assert.deepEqual(calls, [2]);
      assert.equal(target.add.name, 'add');
      assert.equal(target.add.length, 2);
      assert.equal(Object.keys(target).includes('add'), true, 'still enumerable');
      assert.equal(isPatched(target, 'add', 'test'), true);
      assert.equal(wrapMethod<Add>(target, 'add', 'test', (o) => o), false);
    });
  }
});
