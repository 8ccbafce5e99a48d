/**
 * What `verifier.ready()` waits on: the first read of the revocation feed, within a
 * deadline. It never waits forever for a latchkey that is down or refuses the service: it
 * rejects with the last reason the feed could not be read, at once when the credentials
 * were refused (they will not get better by waiting).
 */
import { FeedError } from "./errors.js";

/** The longest delay `setTimeout` keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  resolve(): void;
  reject(error: FeedError): void;
  timer: NodeJS.Timeout | undefined;
}

/** Checks a deadline given to `ready()` or as `readyTimeoutMs`: a positive number of ms, or `Infinity`. */
export function checkDeadline(ms: number, name: string): number {
  if (ms === Number.POSITIVE_INFINITY || (Number.isFinite(ms) && ms > 0 && ms <= MAX_TIMER_MS)) return ms;
  throw new RangeError(`${name} must be a positive number of milliseconds (at most ${MAX_TIMER_MS}), or Infinity.`);
}

/**
 * The readiness of a verifier whose feed is at `where`. `read()` when the feed was read,
 * `failed()` when a read failed, `close()` when the verifier closes; `wait()` is `ready()`.
 */
export function readiness(where: string, defaultTimeoutMs: number) {
  let read = false;
  let closed = false;
  let last: FeedError | undefined;
  const waiting = new Set<Waiter>();
  const settle = (each: (waiter: Waiter) => void) => {
    for (const waiter of waiting) {
      clearTimeout(waiter.timer);
      each(waiter);
    }
    waiting.clear();
  };
  const closedError = () => new FeedError("closed", "The verifier was closed before the revocation feed was read.");
  const lateError = (ms: number) =>
    last
      ? new FeedError(last.reason, `The revocation feed was not read within ${ms} ms: ${last.message}`, {
          ...(last.status !== undefined && { status: last.status }),
          cause: last,
        })
      : new FeedError("timeout", `latchkey did not answer the revocation feed at ${where} within ${ms} ms.`);

  return {
    read(): void {
      read = true;
      last = undefined;
      settle((waiter) => waiter.resolve());
    },
    failed(error: FeedError): void {
      last = error;
      if (error.reason === "credentials") settle((waiter) => waiter.reject(error));
    },
    close(): void {
      closed = true;
      settle((waiter) => waiter.reject(closedError()));
    },
    wait(timeoutMs: number = defaultTimeoutMs): Promise<void> {
      const ms = checkDeadline(timeoutMs, "ready({ timeoutMs })");
      if (read) return Promise.resolve();
      if (closed) return Promise.reject(closedError());
      if (last?.reason === "credentials") return Promise.reject(last);
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { resolve, reject, timer: undefined };
        if (ms !== Number.POSITIVE_INFINITY) {
          waiter.timer = setTimeout(() => {
            waiting.delete(waiter);
            reject(lateError(ms));
          }, ms);
        }
        waiting.add(waiter);
      });
    },
  };
}
