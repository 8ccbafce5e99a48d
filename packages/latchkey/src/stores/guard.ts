/**
 * Wraps every method of a store so a driver failure surfaces as `StoreUnavailableError`
 * (503), never as an unexplained 500, and never with SQL or a key in its message. Errors
 * latchkey raises on purpose (`AuthError`) pass through. `subscribe` is synchronous (it
 * returns the unsubscribe function) and is bound, not wrapped.
 */
import { AuthError, StoreUnavailableError } from "../core/errors.js";

/**
 * @example
 * const sessions = guardStore("redis", sessionStore(redis));
 */
export function guardStore<T extends object>(name: string, store: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(store)) {
    if (typeof value !== "function") continue;
    if (key === "subscribe") {
      guarded[key] = value.bind(store);
      continue;
    }
    guarded[key] = async (...args: unknown[]) => {
      try {
        return await value.apply(store, args);
      } catch (error) {
        if (error instanceof AuthError) throw error;
        throw new StoreUnavailableError(name, { cause: error });
      }
    };
  }
  return guarded as T;
}
