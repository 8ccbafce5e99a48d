/**
 * Login throttling (contract section 8). Attempts are counted per account, whatever
 * address they come from, and per client address (per /64 for IPv6), whatever account they
 * try. Unknown usernames are counted exactly like real ones, so the throttle reveals
 * nothing.
 *
 * An attempt is counted *before* the password is checked, by one atomic increment in the
 * shared counter store, and an attempt over a limit is refused without hashing anything:
 * of 100 concurrent guesses at one account, exactly `maxFailures` are verified, on any
 * number of instances. A right password then takes its attempt back (the account's count
 * starts over; the address's hit is returned), so what the limits count is failures.
 *
 * A browser that has signed in to an account before carries a device cookie for it (see
 * `DeviceCookies`); its attempts count against that device, not the account, so a stranger
 * who locks the account out does not lock its owner out (OWASP's "device cookies").
 */
import { throttleAddress } from "./client-address.js";
import type { Clock } from "./clock.js";
import { RateLimitedError } from "./errors.js";
import type { CounterStore } from "./ports.js";

/**
 * Limits, counts and seconds.
 * @example
 * const throttle: ThrottlePolicy = { maxFailures: 5, addressMaxFailures: 100, window: 15 * 60 };
 */
export interface ThrottlePolicy {
  /** Failed logins per account (or per trusted device) within `window` before logins are refused. */
  maxFailures: number;
  /** Failed logins per client address within `window` before its logins are refused. */
  addressMaxFailures: number;
  /** Seconds. */
  window: number;
}

/** Who an attempt is for. */
export interface AttemptSubject {
  /** The normalised username as typed (valid or not). */
  username: string;
  /** The client address as the server sees it. */
  ip: string;
  /** The id of a device cookie proven for this username, when the browser has one. */
  device?: string | null;
}

/** A counted attempt, to settle once the password has been checked. */
export interface LoginAttempt {
  /** The password was right: the account's (or device's) count starts over, the address's hit is returned. */
  succeeded(): Promise<void>;
}

/**
 * @example
 * const attempt = await throttle.begin({ username, ip }); // throws RateLimitedError when over a limit
 * if (await hasher.verify(stored, password)) await attempt.succeeded();
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

  /**
   * Counts an attempt against the account (or the trusted device) and the address, then
   * throws `RateLimitedError` when either is over its limit: an attempt over the limit is
   * never checked.
   */
  async begin(subject: AttemptSubject): Promise<LoginAttempt> {
    const now = this.#clock.now();
    const windowMs = this.#policy.window * 1000;
    const accountKey = subject.device ? `login:device:${subject.device}` : `login:account:${subject.username}`;
    const addressKey = `login:address:${throttleAddress(subject.ip)}`;
    const [account, address] = await Promise.all([
      this.#counters.hit(accountKey, windowMs, now),
      this.#counters.hit(addressKey, windowMs, now),
    ]);
    let retryAt = 0;
    if (account.count > this.#policy.maxFailures) retryAt = account.resetAt;
    if (address.count > this.#policy.addressMaxFailures) retryAt = Math.max(retryAt, address.resetAt);
    if (retryAt > 0) throw new RateLimitedError((retryAt - now) / 1000);
    return {
      succeeded: async () => {
        await Promise.all([this.#counters.reset(accountKey), this.#counters.release(addressKey, this.#clock.now())]);
      },
    };
  }
}

/**
 * A per-address limit on something other than logins (registrations): counted before the
 * work, refused over the limit.
 *
 * @example
 * await limitPerAddress(counters, clock, { name: "register", ip, max: 20, windowSeconds: 900 });
 */
export async function limitPerAddress(
  counters: CounterStore,
  clock: Clock,
  options: { name: string; ip: string; max: number; windowSeconds: number },
): Promise<void> {
  const now = clock.now();
  const hit = await counters.hit(
    `${options.name}:address:${throttleAddress(options.ip)}`,
    options.windowSeconds * 1000,
    now,
  );
  if (hit.count > options.max) throw new RateLimitedError((hit.resetAt - now) / 1000);
}
