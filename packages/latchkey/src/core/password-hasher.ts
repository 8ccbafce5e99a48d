/**
 * Password hashing with argon2id (`@node-rs/argon2`, which runs on libuv's thread pool
 * and so never blocks the event loop). Hashes are PHC strings; their parameters are read
 * back so a login can re-hash a password stored with weaker ones.
 */
import { availableParallelism } from "node:os";
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { OverloadedError } from "./errors.js";

// `Algorithm` is an ambient const enum, which isolated modules cannot read: Argon2id is 2.
const ARGON2ID = 2 as Algorithm;

/**
 * argon2id cost parameters.
 * @example
 * const params: Argon2Params = { ...DEFAULT_ARGON2_PARAMS, memoryCost: 65_536 };
 * const hasher = argon2Hasher(params);
 */
export interface Argon2Params {
  /** KiB of memory. */
  memoryCost: number;
  /** Iterations. */
  timeCost: number;
  /** Lanes. */
  parallelism: number;
}

/**
 * OWASP's first recommended argon2id setting, the contract's minimum.
 * @example
 * const hasher = argon2Hasher({ ...DEFAULT_ARGON2_PARAMS, timeCost: 3 });
 */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = {
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/**
 * Hashes and verifies passwords.
 *
 * @example
 * const hasher = argon2Hasher();
 * const stored = await hasher.hash("correct horse battery staple");
 * await hasher.verify(stored, "correct horse battery staple"); // true
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `false` for a wrong password and for a malformed hash alike. */
  verify(stored: string, password: string): Promise<boolean>;
  /** Whether `stored` was made with weaker parameters than the current ones. */
  needsRehash(stored: string): boolean;
  /** Hashes running and waiting now, when the hasher bounds them (`limitConcurrency`). */
  load?(): { running: number; waiting: number };
}

const PHC_PARAMS = /^\$argon2(?:id|i|d)\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * The parameters a PHC argon2 string was made with, or `null` when it is not one.
 *
 * @example
 * readArgon2Params("$argon2id$v=19$m=19456,t=2,p=1$..."); // { memoryCost: 19456, ... }
 */
export function readArgon2Params(stored: string): Argon2Params | null {
  const match = PHC_PARAMS.exec(stored);
  if (!match || !stored.startsWith("$argon2id$")) return null;
  return {
    memoryCost: Number(match[1]),
    timeCost: Number(match[2]),
    parallelism: Number(match[3]),
  };
}

/**
 * An argon2id hasher with the given parameters (never weaker than the contract's minimum
 * unless `allowWeak` is set, which only tests of the re-hash path do).
 *
 * @example
 * const hasher = argon2Hasher({ memoryCost: 65_536, timeCost: 3, parallelism: 1 });
 */
export function argon2Hasher(
  params: Argon2Params = DEFAULT_ARGON2_PARAMS,
  options: { allowWeak?: boolean } = {},
): PasswordHasher {
  if (
    !options.allowWeak &&
    (params.memoryCost < DEFAULT_ARGON2_PARAMS.memoryCost ||
      params.timeCost < DEFAULT_ARGON2_PARAMS.timeCost ||
      params.parallelism < 1)
  ) {
    throw new RangeError("argon2id parameters are below m=19456 KiB, t=2, p=1");
  }
  const hashOptions = { algorithm: ARGON2ID, ...params };
  return {
    hash: (password) => hash(password, hashOptions),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    },
    needsRehash(stored) {
      const current = readArgon2Params(stored);
      return (
        current === null ||
        current.memoryCost < params.memoryCost ||
        current.timeCost < params.timeCost ||
        current.parallelism < params.parallelism
      );
    },
  };
}

/** Options of `limitConcurrency`. */
export interface ConcurrencyLimits {
  /** Hashes at once. Default: the cores less one, at least one. */
  limit?: number;
  /** Hashes waiting at most; past that a new one is refused with `OverloadedError`. Default 32. */
  maxQueue?: number;
}

/**
 * Runs at most `limit` hash operations at once, queues up to `maxQueue` more, and refuses
 * the rest at once with `OverloadedError` (503 + `Retry-After`). argon2id is CPU- and
 * memory-hard on purpose; on a small machine, several at once take the cores the event
 * loop needs, and every other request waits (measured: on 2 cores, 16 clients logging in
 * pushed the event-loop delay p99 to 45 ms). Without the bound, 200 concurrent logins for
 * unknown users delayed a real one by 19 s; with it, the wait is at most `maxQueue` hashes.
 *
 * @example
 * const hasher = limitConcurrency(argon2Hasher(), { maxQueue: 32 });
 */
export function limitConcurrency(hasher: PasswordHasher, limits: ConcurrencyLimits = {}): PasswordHasher {
  const limit = limits.limit ?? Math.max(1, availableParallelism() - 1);
  const maxQueue = limits.maxQueue ?? 32;
  let active = 0;
  const waiting: Array<() => void> = [];
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) {
      // The queue drains at `limit` hashes at a time; a hash takes tens of milliseconds.
      if (waiting.length >= maxQueue) throw new OverloadedError(1);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
  return {
    hash: (password) => run(() => hasher.hash(password)),
    verify: (stored, password) => run(() => hasher.verify(stored, password)),
    needsRehash: (stored) => hasher.needsRehash(stored),
    load: () => ({ running: active, waiting: waiting.length }),
  };
}
