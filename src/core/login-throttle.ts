/**
 * Login throttling (contract section 8). Failures are counted per account, whatever
 * address they come from, and per client address, whatever account they try. Unknown
 * usernames are counted exactly like real ones, so the throttle reveals nothing.
 */
import type { Clock } from "./clock.js";
import { RateLimitedError } from "./errors.js";
import type { CounterStore } from "./ports.js";

/** Limits, counts and seconds. */
export interface ThrottlePolicy {
  /** Failed logins per account within `window` before logins for it are refused. */
  maxFailures: number;
  /** Failed logins per client address within `window` before its logins are refused. */
  addressMaxFailures: number;
  /** Seconds. */
  window: number;
}

/**
 * @example
 * await throttle.check(username, ip); // throws RateLimitedError when over a limit
 * await throttle.recordFailure(username, ip);
 */
export class LoginThrottle {
  readonly #counters: CounterStore;
  readonly #clock: Clock;
  readonly #policy: ThrottlePolicy;

  constructor(deps: { counters: CounterStore; clock: Clock; policy: ThrottlePolicy }) {
    this.#counters = deps.counters;
    this.#clock = deps.clock;
    this.#policy = deps.policy;
  }

  /** Throws `RateLimitedError` when the account or the address is over its limit. */
  async check(username: string, ip: string): Promise<void> {
    const now = this.#clock.now();
    const [account, address] = await Promise.all([
      this.#counters.peek(accountKey(username), now),
      this.#counters.peek(addressKey(ip), now),
    ]);
    let retryAt = 0;
    if (account && account.count >= this.#policy.maxFailures) retryAt = account.resetAt;
    if (address && address.count >= this.#policy.addressMaxFailures) {
      retryAt = Math.max(retryAt, address.resetAt);
    }
    if (retryAt > 0) throw new RateLimitedError((retryAt - now) / 1000);
  }

  /** Counts a failed attempt against the account and the address. */
  async recordFailure(username: string, ip: string): Promise<void> {
    const now = this.#clock.now();
    const windowMs = this.#policy.window * 1000;
    await Promise.all([
      this.#counters.hit(accountKey(username), windowMs, now),
      this.#counters.hit(addressKey(ip), windowMs, now),
    ]);
  }

  /** A successful login clears the account's count (not the address's). */
  async recordSuccess(username: string): Promise<void> {
    await this.#counters.reset(accountKey(username));
  }
}

function accountKey(username: string): string {
  return `login:account:${username}`;
}

function addressKey(ip: string): string {
  return `login:address:${ip}`;
}
