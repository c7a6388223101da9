/**
 * One HTTP PUT of a payload to the agent, with a total deadline per attempt and bounded retries on network
 * errors only. Everything runs with tracing suppressed, so our own HTTP integration never traces it, and
 * nothing it holds keeps the process alive unless the caller asked for that (an explicit or exit flush).
 * @packageDocumentation
 */
import * as http from 'node:http';
import { suppressTracing } from '../scope';
import { startTimer, stopTimer } from '../timers';
import type { AgentAddress } from './agent-url';

/** How the agent answered, or why it could not be reached. */
export type SendOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly statusMessage: string; readonly body: string; readonly attempts: number }
  | { readonly kind: 'error'; readonly error: NodeJS.ErrnoException; readonly attempts: number };

/** Retry and timeout policy. */
export interface RetryPolicy {
  /** Deadline of one attempt, from the request's start to the end of the answer. */
  readonly timeoutMs: number;
  /** Attempts in all (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubled for each further one, capped at 1 s. */
  readonly retryDelayMs: number;
}

/** Network failures worth another attempt: the agent restarting, a stale keep-alive socket, a timeout. */
const RETRIABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOENT', 'EAI_AGAIN', 'ECONNABORTED']);

/** Answers are small JSON objects; anything longer is cut, not buffered. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Whether a failed attempt may be retried. */
export function isRetriable(err: NodeJS.ErrnoException): boolean {
  return err.code !== undefined && RETRIABLE.has(err.code);
}

/** An in-flight PUT (all its attempts). */
export class Send {
  /** Settles (never rejects) with the outcome of the last attempt. */
  readonly done: Promise<SendOutcome>;
  private resolveDone!: (outcome: SendOutcome) => void;
  private keepAlive: boolean;
  private req: http.ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;

  /**
   * Start sending at once.
   * @param keepAlive - whether this send may hold the process open (false for periodic flushes).
   */
  constructor(
    private readonly agent: http.Agent,
    private readonly address: AgentAddress,
    private readonly path: string,
    private readonly headers: http.OutgoingHttpHeaders,
    private readonly parts: readonly Buffer[],
    private readonly policy: RetryPolicy,
    keepAlive: boolean,
  ) {
    this.keepAlive = keepAlive;
    this.done = new Promise<SendOutcome>((resolve) => {
      this.resolveDone = resolve;
    });
    suppressTracing(() => this.attempt());
  }

  /** From now on, let this send hold the process open (an explicit flush wants to see it finish). */
  ref(): void {
    if (this.keepAlive) return;
    this.keepAlive = true;
    this.timer?.ref();
    this.req?.socket?.ref();
  }

  /** Stop holding the process open for this send (the exit flush's deadline passed): it may still finish. */
  unref(): void {
    this.keepAlive = false;
    this.timer?.unref();
    this.req?.socket?.unref();
  }

  private attempt(): void {
    this.attempts++;
    let settled = false;
    let bodyWritten = false;
    let reusedSocket = false;
    let answered = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      if (this.timer) stopTimer(this.timer);
      this.timer = undefined;
      this.req = undefined;
      // Retried only when the agent cannot have taken the payload: the body never left (connection refused,
      // name not found, reset while writing), or a kept-alive connection the agent had already closed as idle
      // was reset before any answer (the case Node's documentation gives for a safe retry). After the whole
      // body was written on a live connection, a timeout or a reset may follow an agent that kept it: sending
      // it again would count its traces twice.
      const staleSocket = reusedSocket && !answered && (outcome.kind === 'error' && (outcome.error.code === 'ECONNRESET' || outcome.error.code === 'EPIPE'));
      if (outcome.kind === 'error' && (!bodyWritten || staleSocket) && this.attempts < this.policy.maxAttempts && isRetriable(outcome.error)) {
        const delay = Math.min(1000, this.policy.retryDelayMs * 2 ** (this.attempts - 1));
        this.timer = startTimer(() => this.attempt(), delay);
        if (!this.keepAlive) this.timer.unref();
        return;
      }
      this.resolveDone(outcome);
    };
    const fail = (error: NodeJS.ErrnoException): void => finish({ kind: 'error', error, attempts: this.attempts });

    const a = this.address;
    let req: http.ClientRequest;
    try {
      req = http.request({
        agent: this.agent,
        method: 'PUT',
        path: this.path,
        headers: this.headers,
        ...(a.kind === 'unix' ? { socketPath: a.socketPath } : { host: a.hostname, port: a.port }),
      });
    } catch (err) {
      fail(err as NodeJS.ErrnoException);
      return;
    }
    this.req = req;
    // One deadline for the whole attempt: req.setTimeout would not cover a connect that never completes.
    this.timer = startTimer(() => {
      const err: NodeJS.ErrnoException = new Error(`request timed out after ${this.policy.timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      fail(err);
      req.destroy();
    }, this.policy.timeoutMs);
    if (!this.keepAlive) this.timer.unref();

    req.on('socket', (socket) => {
      reusedSocket = req.reusedSocket;
      // A reused keep-alive socket was just ref'd by the http.Agent; a periodic flush must not hold the process.
      if (!this.keepAlive) socket.unref();
      else socket.ref();
    });
    req.on('error', fail);
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        if (length < MAX_ANSWER_BYTES) chunks.push(chunk);
        length += chunk.length;
      });
      res.on('error', fail);
      res.on('end', () => {
        const body = Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
        finish({
          kind: 'response',
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          body,
          attempts: this.attempts,
        });
      });
    });
    const parts = this.parts;
    for (let i = 0; i < parts.length - 1; i++) req.write(parts[i]);
    // Called once the last byte was handed to the socket: from then on the agent may have the payload.
    req.end(parts[parts.length - 1], () => {
      bodyWritten = true;
    });
  }
}

/** A keep-alive agent: reused sockets spare a connect per flush, and Node unrefs them while they are idle. */
export function createHttpAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 8, maxFreeSockets: 2 });
}
