/**
 * The payload buffer's reuse of sent buffers: a burst flushes several payloads before any answer comes back,
 * and each buffer handed back must serve a later payload (a new one costs its page faults), within a bound.
 */
import * as assert from 'node:assert/strict';
import { PayloadBuffer, toPacked } from '../lib/exporter/payload-buffer';

/** Fill `b` with `n` bytes of `value` and take them. */
function payload(b: PayloadBuffer, n: number, value = 1): Buffer {
  const bytes = new Uint8Array(n).fill(value);
  b.splice(toPacked(bytes));
  return b.take();
}

describe('payload buffer: reuse of sent buffers', () => {
  it('reuses every buffer of a burst once they are handed back, not new ones', () => {
    const b = new PayloadBuffer(5);
    const size = 300 * 1024; // a payload past the 256 KB flush size: 512 KB buffers
    const burst = [payload(b, size), payload(b, size), payload(b, size), payload(b, size)];
    const whole = new Set(burst.map((p) => p.buffer));
    assert.equal(whole.size, 4, 'four payloads in flight, four buffers');
    for (const p of burst) b.recycle(p);
    const next = [payload(b, size, 2), payload(b, size, 3), payload(b, size, 4), payload(b, size, 5)];
    // The first take after the burst handed out a buffer allocated before the recycling; from then on the
    // spares are used.
    const reused = next.filter((p) => whole.has(p.buffer)).length;
    assert.ok(reused >= 3, `${reused} of 4 payloads reused a sent buffer`);
    assert.equal(next[3][10], 5, 'the reused buffer holds the new payload');
  });

  it('keeps at most 4 MB of spares, a buffer handed back twice once, and never the one being filled', () => {
    const b = new PayloadBuffer(0);
    const sent = Array.from({ length: 12 }, () => payload(b, 600 * 1024)); // 1 MB buffers
    for (const p of sent) b.recycle(p);
    b.recycle(sent[0]);
    let reused = 0;
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 12; i++) {
      const p = payload(b, 600 * 1024);
      if (sent.some((s) => s.buffer === p.buffer)) {
        assert.ok(!seen.has(p.buffer), 'a spare is handed out once');
        seen.add(p.buffer);
        reused++;
      }
    }
    assert.ok(reused <= 5, `${reused} spares were kept (4 MB of 1 MB buffers, plus the one being filled)`);
    assert.ok(reused >= 3, `${reused} spares were reused`);
  });

  it('does not keep a view into the middle of a buffer (its owner may still use the rest)', () => {
    const b = new PayloadBuffer(0);
    const p = payload(b, 1000);
    const view = p.subarray(10);
    b.recycle(view);
    const next = payload(b, 1000);
    assert.notEqual(next.buffer, p.buffer);
  });
});
