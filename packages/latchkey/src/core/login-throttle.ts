/**
 * Login throttling (contract section 8). Attempts are counted per account, whatever
 * address they come from, and per client address (per /64 for IPv6), whatever account they
 * try. Unknown usernames are counted exactly like real ones, so the throttle reveals
 * nothing.
 *
 * An attempt is counted *before* the password is checked, by one atomic increment in the
 * shared counter store, and an attempt over a limit is refused without hashing anything:
 * of 100 concurrent guesses at one account, exactly `maxFailures` are verified, on any
 * number of instances. Only a verified wrong password keeps its count: a right one starts
 * the account's count over (the address's hit is returned), and every other outcome (a
 * refusal over a limit, the hashing queue full, a store error, anything thrown before the
 * password was checked) gives the attempt back, so a flood that overloads the server
 * cannot lock its victims out (issue 24, item 4).
 *
 * A browser that has signed in to an account before carries a device cookie for it (see
 * `DeviceCookies`); its attempts count against that device, not the account, so a stranger
 * who locks the account out does not lock its owner out (OWASP's "device cookies").
 *
 * A signed-in caller re-entering its password (a password change, an account deletion)
 * is counted against its session, and its device when the browser has one, never against
 * the account: a stranger's guesses at the login cannot refuse the owner those, and a
 * stolen session still gets only `maxFailures` guesses (issue 24, item 3).
 */
import { throttleAddress } from "./client-address.js";
import type { Clock } from "./clock.js";
import { RateLimitedError } from "./errors.js";
import type { CounterStore } from "./ports.js";
import type { CounterState } from "./records.js";

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

/**
 * Who an attempt is for: a login (`username`), or a signed-in caller re-entering its
 * password (`sessionId`).
 */
export type AttemptSubject = LoginSubject | SessionSubject | SecondStepSubject;

/** A login: counted against the device when the browser proves one, else the account. */
export interface LoginSubject {
  /** The normalised username as typed (valid or not). */
  username: string;
  /** The client address as the server sees it. */
  ip: string;
  /** The id of a device cookie proven for this account, when the browser has one. */
  device?: string | null;
}

/** A signed-in caller's password check: counted against its session and its device, if any. */
export interface SessionSubject {
  /** The caller's session. */
  sessionId: string;
  /** The client address as the server sees it. */
  ip: string;
  /** The id of a device cookie proven for the session's account, when the browser has one. */
  device?: string | null;
}

/**
 * A code or recovery code at the second step of a sign-in (or a re-authentication):
 * counted against the browser's device when it proves one, the session when signed in,
 * else the account's second factor; and the address.
 */
export interface SecondStepSubject {
  /** The user whose second factor is tried. */
  secondFactorOf: string;
  /** The client address as the server sees it. */
  ip: string;
  /** A device cookie proven for this account: its tries count against it, not the account. */
  device?: string | null;
  /** A signed-in caller re-authenticating: its tries count against its session. */
  sessionId?: string;
}

/** A counted attempt, to settle once the password has been checked. */
export interface LoginAttempt {
  /** The password was right: the subject's counts (account, device, session) start over, the address's hit is returned. */
  succeeded(): Promise<void>;
  /**
   * The password was not checked (the hashing queue was full, a store failed): every hit
   * of the attempt is given back. Never throws: a counter that cannot be reached keeps its
   * hit until its window ends.
   */
  withdraw(): Promise<void>;
}

/**
 * @example
 * const check = await throttle.guard({ username, ip }, async () => ({ ok: await hasher.verify(stored, password) }));
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
   * Counts an attempt (`begin`), runs the password check, and settles the attempt by what
   * it found: a right password (`ok`) succeeds, a wrong one stays counted, and a check that
   * throws (the hashing queue full, the in-flight cap, a store error) is withdrawn before
   * the error goes on. Throws `RateLimitedError` when over a limit, without running `check`.
   */
  async guard<T extends { ok: boolean }>(subject: AttemptSubject, check: () => Promise<T>): Promise<T> {
    const attempt = await this.begin(subject);
    let outcome: T;
    try {
      outcome = await check();
    } catch (error) {
      await attempt.withdraw();
      throw error;
    }
    if (outcome.ok) await attempt.succeeded();
    return outcome;
  }

  /**
   * Counts an attempt against its subject (the account or a trusted device; a session and
   * its device) and the address, then throws `RateLimitedError` when any is over its
   * limit: an attempt over the limit is never checked, and its hits are given back. The
   * caller settles the attempt (`guard` does it for a check that is one function).
   */
  async begin(subject: AttemptSubject): Promise<LoginAttempt> {
    const now = this.#clock.now();
    const windowMs = this.#policy.window * 1000;
    const subjectKeys = keysOf(subject);
    const addressKey = `login:address:${throttleAddress(subject.ip)}`;
    const keys = [...subjectKeys, addressKey];
    const states = await this.#hitAll(keys, windowMs, now);
    let retryAt = 0;
    states.forEach((state, i) => {
      const max = i < subjectKeys.length ? this.#policy.maxFailures : this.#policy.addressMaxFailures;
      if (state.count > max) retryAt = Math.max(retryAt, state.resetAt);
    });
    if (retryAt > 0) {
      // Refused unchecked, so not a failure: an address over its limit adds nothing to the
      // accounts it tries. The attempts that hold the first `maxFailures` hits keep them until
      // they are settled, so giving these back never lets another through.
      await this.#release(keys);
      throw new RateLimitedError((retryAt - now) / 1000);
    }
    return {
      succeeded: async () => {
        await Promise.all([
          ...subjectKeys.map((key) => this.#counters.reset(key)),
          this.#counters.release(addressKey, this.#clock.now()),
        ]);
      },
      withdraw: () => this.#release(keys),
    };
  }

  /**
   * One hit on each key, or none: when a counter fails, the hits the others made are given
   * back and the error goes on.
   */
  async #hitAll(keys: string[], windowMs: number, now: number): Promise<CounterState[]> {
    const hits = await Promise.allSettled(keys.map((key) => this.#counters.hit(key, windowMs, now)));
    const states = hits.flatMap((hit) => (hit.status === "fulfilled" ? [hit.value] : []));
    if (states.length === keys.length) return states;
    await this.#release(keys.filter((_, i) => hits[i]?.status === "fulfilled"));
    throw (hits.find((hit) => hit.status === "rejected") as PromiseRejectedResult).reason;
  }

  async #release(keys: string[]): Promise<void> {
    const now = this.#clock.now();
    // Best effort: the error that made the attempt void is the one the caller must see.
    await Promise.allSettled(keys.map((key) => this.#counters.release(key, now)));
  }
}

/** The counters an attempt is limited by, besides its address's. */
function keysOf(subject: AttemptSubject): string[] {
  if ("secondFactorOf" in subject) {
    // As for passwords: whoever holds the password cannot lock the owner out of the
    // second step, who is counted apart on a browser that signed in before, or in a session.
    if (subject.sessionId) return [`mfa:session:${subject.sessionId}`];
    if (subject.device) return [`mfa:device:${subject.device}`];
    return [`mfa:user:${subject.secondFactorOf}`];
  }
  const device = subject.device ? [`login:device:${subject.device}`] : [];
  if ("sessionId" in subject) return [`reauth:session:${subject.sessionId}`, ...device];
  return device.length > 0 ? device : [`login:account:${subject.username}`];
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
