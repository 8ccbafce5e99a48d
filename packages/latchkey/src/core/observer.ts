/**
 * What latchkey tells an observer as it works: the metrics of `latchkey/metrics`, or a
 * host's own. Every method is optional and called synchronously on the request's path, so
 * it must be cheap and must not throw. Nothing it is told names a user, a session, an
 * address or a secret: only names from fixed lists (a strategy, a reason, a store port and
 * method, an event type) and numbers, so whatever it records cannot leak one.
 */

import type { PasswordHasher } from "./password-hasher.js";
import type { Stores } from "./ports.js";
import type { EventType, SessionEndReason, SessionKind } from "./records.js";

/**
 * @example
 * let rotations = 0;
 * const observer: AuthObserver = { refreshRotated: () => void rotations++ };
 * // createAuth({ ...options, observer })
 */
export interface AuthObserver {
  /** A session opened, by kind (`session`, `jwt`, `hybrid`, `bearer`, `memory`). */
  sessionCreated?(kind: SessionKind): void;
  /**
   * `count` sessions ended, by reason: a `SESSION_END_REASONS` name, `session_expired` for
   * those the sweep removed past their expiry (a store whose keys expire by themselves,
   * Redis, removes its own and reports none), or `unspecified`.
   */
  sessionsEnded?(reason: SessionEndReason | "unspecified", count: number): void;
  /** A refresh token was rotated (a refresh succeeded). */
  refreshRotated?(): void;
  /**
   * An access token was checked: found among the tokens this process verified before
   * (`remembered`, a map lookup) or verified by its signature.
   */
  accessTokenChecked?(remembered: boolean): void;
  /** A store call, by port and method: its duration and whether it failed. */
  storeCall?(port: string, method: string, seconds: number, failed: boolean): void;
  /** A security event was recorded, by type. */
  securityEvent?(type: EventType): void;
  /**
   * A password was hashed (a sign-up, a new password) or checked (a sign-in), and how long
   * it took, its wait for a free thread included.
   */
  passwordHashed?(operation: "hash" | "verify", seconds: number): void;
}

/**
 * The hasher with each hash and check timed for `observer.passwordHashed`; the hasher
 * itself when the observer does not ask.
 * @example
 * const hasher = observedHasher(limitConcurrency(argon2Hasher()), observer);
 */
export function observedHasher(hasher: PasswordHasher, observer: AuthObserver): PasswordHasher {
  const told = observer.passwordHashed?.bind(observer);
  if (!told) return hasher;
  const timed = async <T>(operation: "hash" | "verify", work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      told(operation, (performance.now() - started) / 1000);
    }
  };
  return {
    hash: (password) => timed("hash", () => hasher.hash(password)),
    verify: (stored, password) => timed("verify", () => hasher.verify(stored, password)),
    needsRehash: (stored) => hasher.needsRehash(stored),
    ...(hasher.load && { load: hasher.load.bind(hasher) }),
  };
}

/**
 * One observer that tells each of `observers` (the metrics' and the traces', say).
 * @example
 * let refreshes = 0;
 * const counting: AuthObserver = { refreshRotated: () => void refreshes++ };
 * const logging: AuthObserver = { sessionCreated: (kind) => console.log("session opened", kind) };
 * const observer = combineObservers(counting, logging);
 */
export function combineObservers(...observers: AuthObserver[]): AuthObserver {
  const combined: Record<string, (...args: never[]) => void> = {};
  const names = new Set(observers.flatMap((observer) => Object.keys(observer)));
  for (const name of names) {
    const listeners = observers
      .map((observer) => (observer as Record<string, unknown>)[name])
      .filter((listener): listener is (...args: unknown[]) => void => typeof listener === "function");
    combined[name] = (...args: never[]) => {
      for (const listener of listeners) listener(...args);
    };
  }
  return combined as AuthObserver;
}

/**
 * The stores with every call of every port timed for `observer.storeCall`; the stores
 * themselves when the observer does not ask. Proxies, so a port of a host's own (a class
 * instance, optional methods absent) reads as it did; `subscribe` (synchronous) is left
 * as it is.
 * @example
 * const stores = observedStores(await openSqliteStores({ path }), observer);
 */
export function observedStores(stores: Stores, observer: AuthObserver): Stores {
  const storeCall = observer.storeCall?.bind(observer);
  if (!storeCall) return stores;
  const ports = new Map<PropertyKey, object>();
  return new Proxy(stores, {
    get(target, port, receiver) {
      const value: unknown = Reflect.get(target, port, receiver);
      if (value === null || typeof value !== "object" || port === "database" || typeof port !== "string") return value;
      let observed = ports.get(port);
      if (!observed) {
        observed = timedPort(value, port, storeCall);
        ports.set(port, observed);
      }
      return observed;
    },
  });
}

function timedPort(port: object, name: string, storeCall: NonNullable<AuthObserver["storeCall"]>): object {
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(port, {
    get(target, method, receiver) {
      const fn: unknown = Reflect.get(target, method, receiver);
      if (typeof fn !== "function" || typeof method !== "string" || method === "subscribe") return fn;
      let timed = methods.get(method);
      if (!timed) {
        timed = async (...args: unknown[]) => {
          const started = performance.now();
          let failed = true;
          try {
            const result = await fn.apply(target, args);
            failed = false;
            return result;
          } finally {
            storeCall(name, method, (performance.now() - started) / 1000, failed);
          }
        };
        methods.set(method, timed);
      }
      return timed;
    },
  });
}
