/**
 * `latchkey/metrics`: Prometheus metrics of what latchkey does, in a `prom-client`
 * registry for the host to serve where it likes (needs `prom-client`). The server serves
 * the same registry on `METRICS_PORT`, with its request metrics beside it.
 *
 * No label carries who: strategies, reasons, store ports and methods and event types come
 * from fixed lists (`AuthObserver` is never told a user, session, address or secret).
 *
 * @example
 * import { createServer } from "node:http";
 * import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
 * import { createMemoryStores } from "latchkey/memory";
 * import { createMetrics } from "latchkey/metrics";
 *
 * const metrics = createMetrics();
 * const auth = await createAuth({
 *   stores: createMemoryStores(),
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example" },
 *   observer: metrics.observer,
 * });
 * metrics.follow(auth);
 * // On an address of its own, never the public origin:
 * createServer(async (_request, response) => {
 *   response.writeHead(200, { "content-type": metrics.registry.contentType });
 *   response.end(await metrics.registry.metrics());
 * }).listen(9464, "127.0.0.1");
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Auth } from "./core/auth.js";
import type { AuthObserver } from "./core/observer.js";

/**
 * What `createMetrics` makes.
 * @example
 * const { registry, observer, follow }: LatchkeyMetrics = createMetrics();
 */
export interface LatchkeyMetrics {
  /** The registry: serve `await registry.metrics()` as `registry.contentType`. */
  registry: Registry;
  /** For `createAuth({ observer })`. */
  observer: AuthObserver;
  /** Adds the gauges read from a running `auth`: the change feed, event streams, hashing. */
  follow(auth: Auth): void;
}

/**
 * Options of `createMetrics`.
 * @example
 * import { Registry } from "prom-client";
 *
 * const options: MetricsOptions = { registry: new Registry(), processMetrics: false };
 */
export interface MetricsOptions {
  /** A registry of the host's to add latchkey's metrics to; default a new one. */
  registry?: Registry;
  /** Adds prom-client's process metrics (CPU, memory, heap, event-loop delay, GC). Default `true`. */
  processMetrics?: boolean;
}

/**
 * @example
 * import { Registry } from "prom-client";
 *
 * const metrics = createMetrics({ registry: new Registry(), processMetrics: false });
 */
export function createMetrics(options: MetricsOptions = {}): LatchkeyMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const events = new Counter({
    name: "latchkey_security_events_total",
    help: "Security events recorded (the security log's types: login, login_failed, refresh_reuse_detected, ...).",
    labelNames: ["type"] as const,
    registers,
  });
  const created = new Counter({
    name: "latchkey_sessions_created_total",
    help: "Sessions opened, by kind (session, jwt, hybrid, bearer, memory).",
    labelNames: ["kind"] as const,
    registers,
  });
  const ended = new Counter({
    name: "latchkey_sessions_ended_total",
    help: "Sessions ended, by reason (signed_out, session_revoked, session_limit_reached, password_changed, session_expired, ...).",
    labelNames: ["reason"] as const,
    registers,
  });
  const rotations = new Counter({
    name: "latchkey_refresh_rotations_total",
    help: 'Refresh tokens rotated (successful refreshes); reuse is latchkey_security_events_total{type="refresh_reuse_detected"}.',
    registers,
  });
  const checks = new Counter({
    name: "latchkey_access_token_checks_total",
    help: 'Access tokens checked, by whether this process had verified the token before (remembered="true": a map lookup).',
    labelNames: ["remembered"] as const,
    registers,
  });
  const storeCalls = new Histogram({
    name: "latchkey_store_call_duration_seconds",
    help: "Store calls, by port (sessions, users, counters, changes, ...), method and outcome (ok or error).",
    labelNames: ["port", "method", "outcome"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
    registers,
  });
  const hashing = new Histogram({
    name: "latchkey_password_hash_duration_seconds",
    help: "Password hashes (sign-ups, new passwords) and checks (sign-ins), by operation: argon2id's time, its wait for a thread included.",
    labelNames: ["operation"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const observer: AuthObserver = {
    passwordHashed: (operation, seconds) => hashing.observe({ operation }, seconds),
    sessionCreated: (kind) => created.inc({ kind }),
    sessionsEnded: (reason, count) => ended.inc({ reason }, count),
    refreshRotated: () => rotations.inc(),
    accessTokenChecked: (remembered) => checks.inc({ remembered: remembered ? "true" : "false" }),
    storeCall: (port, method, seconds, failed) =>
      storeCalls.observe({ port, method, outcome: failed ? "error" : "ok" }, seconds),
    securityEvent: (type) => events.inc({ type }),
  };
  return {
    registry,
    observer,
    follow(auth) {
      const lag = new Histogram({
        name: "latchkey_change_feed_lag_seconds",
        help: "Seconds between a change's publication (its `at`) and this process applying it.",
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      });
      auth.changes.onChange((change) => lag.observe(Math.max(0, auth.clock.now() - change.at) / 1000));
      new Gauge({
        name: "latchkey_change_feed_read_age_seconds",
        help: "Seconds since this process last read the change feed whole (readiness fails past 5).",
        registers,
        collect() {
          const age = auth.changes.readAgeMs();
          this.set(Number.isFinite(age) ? age / 1000 : -1);
        },
      });
      new Gauge({
        name: "latchkey_revocation_streams",
        help: "Revocation-feed event streams this process holds open (services following logouts).",
        registers,
        collect() {
          this.set(auth.revocations.openStreams);
        },
      });
      new Gauge({
        name: "latchkey_password_hashes",
        help: "Password hashes (argon2id) running and waiting for a thread now; past the queue's bound (HASH_QUEUE) logins answer 503.",
        labelNames: ["state"] as const,
        registers,
        collect() {
          const load = auth.hasher.load?.();
          this.set({ state: "running" }, load?.running ?? 0);
          this.set({ state: "waiting" }, load?.waiting ?? 0);
        },
      });
      new Gauge({
        name: "latchkey_access_tokens_remembered",
        help: "Access tokens this process has verified and remembers (a second check is a map lookup).",
        registers,
        collect() {
          this.set(auth.accessTokens.remembered);
        },
      });
    },
  };
}
