/**
 * Reading request bodies within bounds: one body may not exceed the intake limit, and all bodies being read
 * at once may not exceed a shared budget, so a burst of large concurrent uploads is turned away (429, as the
 * Datadog Agent does when overloaded) instead of growing memory without limit.
 * @packageDocumentation
 */
import type { IncomingMessage } from 'node:http';
import { PayloadError } from './payload-error';

/** Bytes of request bodies held in memory at once, across requests. */
export class ByteBudget {
  private used = 0;

  constructor(private readonly max: number) {}

  /** Bytes currently reserved. */
  get inUse(): number {
    return this.used;
  }

  /** Take `n` bytes if they fit; false when they do not. */
  reserve(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  /** Give back `n` bytes. */
  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** A body read in full; `release` must be called once it is no longer needed. */
export interface ReadBody {
  readonly body: Buffer;
  readonly release: () => void;
}

/**
 * Read the whole body of `req`. Rejects with a {@link PayloadError}: 413 when it is (or says it is) over
 * `limit`, 429 when the shared budget is exhausted, 400 when the client went away mid-body.
 */
export function readBody(req: IncomingMessage, limit: number, budget: ByteBudget): Promise<ReadBody> {
  return new Promise<ReadBody>((resolve, reject) => {
    const declaredHeader = req.headers['content-length'];
    const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
    if (declared !== undefined && declared > limit) {
      reject(new PayloadError(`the body (${declared} bytes) is over the ${limit}-byte limit`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;

    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (err: PayloadError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      budget.release(size);
      chunks.length = 0;
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      if (size + chunk.length > limit) {
        fail(new PayloadError(`the body is over the ${limit}-byte limit`, 413));
        return;
      }
      if (!budget.reserve(chunk.length)) {
        fail(new PayloadError('the local agent is busy reading other payloads; try again', 429));
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      let released = false;
      resolve({
        body,
        release: () => {
          if (released) return;
          released = true;
          budget.release(size);
        },
      });
    };
    const onError = (): void => fail(new PayloadError('the request failed while its body was being read'));
    const onAborted = (): void => fail(new PayloadError('the client went away before sending the whole body'));

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
