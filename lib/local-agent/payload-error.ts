/**
 * The one error the intake side throws on purpose: a request the agent refuses, with the HTTP status to answer
 * and a reason a person can act on. Anything else thrown while handling a request is a bug and answers 500.
 * @packageDocumentation
 */

/** A refused payload: `status` is the HTTP status to answer, `message` the reason sent back as text. */
export class PayloadError extends Error {
  /** HTTP status to answer with (400 unless said otherwise). */
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.name = 'PayloadError';
    this.status = status;
  }
}
