/**
 * One refresh at a time, for the calls of one tab and, with Web Locks, for all the tabs of
 * the origin: a refresh token works once, and two tabs spending it together would race.
 */
import type { LockManagerLike } from "./options.js";

/** How long the tab that refreshed keeps the lock, so its message reaches the tabs queued for it first. */
const HOLD_MS = 50;

/**
 * Makes the single-flight runner: `once(overtaken, alive, work)` runs `work` unless
 * `overtaken()` (a newer credential came, from this tab or another, while the call waited
 * for the lock), in which case it resolves `alive()`. Calls made in this tab while one runs
 * share its promise. The tab keeps the lock `HOLD_MS` after `work` ends, without making its
 * own caller wait.
 *
 * @example
 * const once = singleFlight(navigator.locks, "latchkey:https://auth.example", wait);
 * const fresh = await once(() => generation !== seen, () => token !== null, renew);
 */
export function singleFlight(
  locks: LockManagerLike | null,
  name: string,
  wait: (ms: number) => Promise<void>,
): (overtaken: () => boolean, alive: () => boolean, work: () => Promise<boolean>) => Promise<boolean> {
  let flight: Promise<boolean> | null = null;
  return (overtaken, alive, work) => {
    if (overtaken()) return Promise.resolve(alive());
    flight ??= new Promise<boolean>((resolve, reject) => {
      const run = async () => {
        if (overtaken()) return resolve(alive());
        await work().then(resolve, reject);
        await wait(HOLD_MS);
      };
      if (locks) locks.request(`${name}:refresh`, run).catch(reject);
      else run();
    }).finally(() => {
      flight = null;
    });
    return flight;
  };
}
