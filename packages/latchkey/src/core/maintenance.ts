/**
 * Background upkeep, once a minute: delete expired sessions (in small indexed batches,
 * their refresh tokens with them), expired mailed-link tokens and sign-in challenges,
 * expired throttle counters, change-feed entries older than one token lifetime (nobody
 * needs them), security-log events older than the retention (`eventRetentionDays`), and
 * signing keys that no longer verify anything.
 */
import type { Auth } from "./auth.js";
import type { Stores } from "./ports.js";

/**
 * Where maintenance reports: any pino-like logger (Fastify's `app.log`, say).
 * @example
 * const log: MaintenanceLog = { debug: () => {}, warn: (details, message) => console.warn(message, details) };
 * auth.startMaintenance({ log });
 */
export interface MaintenanceLog {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * The running sweep.
 * @example
 * const maintenance: Maintenance = auth.startMaintenance({ intervalMs: 60_000 });
 * process.on("SIGTERM", async () => {
 *   await maintenance.stop(); // a sweep in progress ends first
 *   await auth.stores.close();
 * });
 */
export interface Maintenance {
  /** Runs one sweep now. */
  runOnce(): Promise<void>;
  /**
   * Starts no further sweep; resolves once a sweep in progress has ended, so the stores
   * can close after it (closing them under a sweep fails it). Calling it without waiting
   * still stops the timer at once, and `auth.close()` waits for that sweep.
   */
  stop(): Promise<void>;
}

/**
 * How many expired link tokens, challenges or old events one delete takes: a few per
 * user a day, so rarely more than one batch once the first sweep has caught up.
 */
const SWEEP_BATCH = 500;

/**
 * The most batches of old events one sweep deletes (10,000 events): the first sweep after
 * an upgrade or a lowered retention meets a backlog, which then goes over several sweeps,
 * a minute apart, instead of holding the event loop (and a shutdown waiting on the sweep)
 * until all of it is gone.
 */
const EVENT_BATCHES_PER_SWEEP = 20;

/**
 * Runs `deleteBatch` (which deletes at most `SWEEP_BATCH` rows and answers how many) until
 * a batch comes back short, or `maxBatches` have run, yielding to the event loop between
 * batches (a store such as SQLite deletes synchronously, as sessions are swept).
 */
async function sweepInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  maxBatches = Number.POSITIVE_INFINITY,
): Promise<number> {
  let total = 0;
  for (let batch = 1; ; batch++) {
    const deleted = await deleteBatch(SWEEP_BATCH);
    total += deleted;
    if (deleted < SWEEP_BATCH || batch >= maxBatches) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Change-feed entries are kept one token lifetime (`ACCESS_TOKEN_TTL + CLOCK_TOLERANCE`):
 * every token an entry concerns has expired by then, and no reader is ever given an older
 * entry (an instance that starts reads that window, a service's feed read is cut to it).
 * Keeping more only grows the store: an earlier floor of an hour held six times the
 * entries at the default TTL, the Redis memory growth the soak saw (docs/deployment.md).
 */
/**
 * Deletes the events older than `before`, at most `EVENT_BATCHES_PER_SWEEP` batches, and
 * answers how many; on its own, so that a failing events table stops no other sweep. A
 * store of the host's own without the method keeps its log (createAuth warns of it).
 */
async function sweepEvents(events: Stores["events"], before: number, log: MaintenanceLog): Promise<number> {
  const sweep = events.sweepOlderThan?.bind(events);
  if (!sweep || !Number.isFinite(before)) return 0;
  try {
    return await sweepInBatches((limit) => sweep(before, limit), EVENT_BATCHES_PER_SWEEP);
  } catch (error) {
    log.warn({ err: error }, "sweeping old security events failed; will retry");
    return 0;
  }
}

/**
 * @example
 * const maintenance = startMaintenance(auth, { log: app.log });
 * await maintenance.stop();
 */
export function startMaintenance(
  auth: Pick<Auth, "sessions" | "clock" | "stores" | "keys" | "tokenLifetimeMs" | "eventRetentionMs">,
  options: { log?: MaintenanceLog; intervalMs?: number } = {},
): Maintenance {
  const log = options.log ?? { debug() {}, warn() {} };
  // The sweeps in progress, the timer's and `runOnce` calls': `stop` waits for them.
  const running = new Set<Promise<void>>();
  const sweep = async () => {
    try {
      const sessions = await auth.sessions.sweep();
      const now = auth.clock.now();
      const { links: linkStore, challenges: challengeStore, events: eventStore } = auth.stores;
      const links = await sweepInBatches((limit) => linkStore.sweepExpired(now, limit));
      const challenges = await sweepInBatches((limit) => challengeStore.sweepExpired(now, limit));
      const counters = await auth.stores.counters.sweepExpired(now);
      const changes = await auth.stores.changes.prune(now - auth.tokenLifetimeMs);
      const events = await sweepEvents(eventStore, now - auth.eventRetentionMs, log);
      const keys = await auth.keys.prune();
      if (sessions + links + challenges + counters + changes + events + keys > 0) {
        log.debug({ sessions, links, challenges, counters, changes, events, keys }, "swept expired records");
      }
    } catch (error) {
      log.warn({ err: error }, "maintenance failed; will retry");
    }
  };
  const runOnce = () => {
    const run = sweep().finally(() => running.delete(run));
    running.add(run);
    return run;
  };
  const timer = setInterval(() => {
    // A slow sweep (a million expired rows) never overlaps the next one.
    if (running.size === 0) void runOnce();
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(running);
    },
  };
}
