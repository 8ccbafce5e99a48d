/**
 * Time, injected. Every component that reads the time takes a `Clock` so tests can
 * freeze or advance it instead of sleeping (the way jose takes `currentDate`).
 *
 * @example
 * const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
 * clock.advance(60_000);
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/**
 * The real clock.
 * @example
 * const now = systemClock.now(); // Date.now(): the clock createAuth uses unless given one
 */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to.
 * @example
 * const clock: ManualClock = manualClock(Date.parse("2026-03-01T12:00:00Z"));
 * clock.advance(60_000); // a minute later, at once
 */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/**
 * A clock for tests: starts at `start` and moves only through `set` and `advance`.
 *
 * @example
 * const clock = manualClock();
 * clock.advance(31 * 60_000); // past a 30-minute idle timeout
 */
export function manualClock(start = Date.parse("2026-01-01T00:00:00.000Z")): ManualClock {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
