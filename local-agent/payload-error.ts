/**
 * The one error the intake side throws on purpose: a request the agent refuses, with the HTTP status to answer
 * and a reason a person can act on. Anything else thrown while handling a request is a bug and answers 500.
 *
 * Where in the payload the problem is (`trace 0 span 3.meta["http.url"]`) is added by each decoding layer as
 * the error passes through it, so that no location text is built while decoding payloads that are fine.
 * @packageDocumentation
 */

/** A refused payload: `status` is the HTTP status to answer, `message` the reason sent back as text. */
export class PayloadError extends Error {
  /** HTTP status to answer with (400 unless said otherwise). */
  readonly status: number;
  private readonly detail: string;
  private where = '';

  constructor(detail: string, status = 400) {
    super(detail);
    this.name = 'PayloadError';
    this.status = status;
    this.detail = detail;
  }

  /** Put `location` in front of the location known so far (`.` between names, nothing before `[...]`). */
  within(location: string): this {
    if (location) this.where = !this.where ? location : this.where.startsWith('[') ? location + this.where : `${location}.${this.where}`;
    this.message = this.where ? `${this.where}: ${this.detail}` : this.detail;
    return this;
  }
}

/** Rethrow `err` with `location` added when it is a {@link PayloadError}; other errors pass unchanged. */
export function rethrowWithin(err: unknown, location: string): never {
  if (err instanceof PayloadError) throw err.within(location);
  throw err;
}
