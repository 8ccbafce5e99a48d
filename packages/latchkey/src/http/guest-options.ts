/**
 * The checks of a host's options, at start: each bad option is a `TypeError` that names
 * it, says what it must be, and shows what it got (never a secret: a URL's credentials
 * are masked, and objects and functions are named by their type, not printed).
 */
import { parseOrigin } from "./origin.js";

/** The strategies, the revocation modes and the route groups a host may name. */
const STRATEGIES = ["session", "jwt", "hybrid"] as const;
const REVOCATIONS = ["immediate", "expiry"] as const;
const ROUTE_GROUPS = new Set([
  "register",
  "password",
  "account",
  "email",
  "factors",
  "tokens",
  "services",
  "explain",
  "admin",
]);
const POLICY_NUMBERS = [
  "accessTokenTtl",
  "sessionIdleTimeout",
  "sessionAbsoluteTimeout",
  "rememberIdleTimeout",
  "rememberAbsoluteTimeout",
  "refreshReuseLeeway",
] as const;
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The `TypeError` for a bad option.
 * @example
 * throw badOption("cookieSecure", "a boolean", "no"); // latchkey: option cookieSecure must be a boolean, got "no"
 */
export function badOption(name: string, mustBe: string, got: unknown): TypeError {
  return new TypeError(`latchkey: option ${name} must be ${mustBe}, got ${shown(got)}`);
}

/** A value as an error message may show it. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(withoutCredentials(value).slice(0, 100));
  if (value === null || typeof value === "boolean" || typeof value === "number") return String(value);
  if (value === undefined) return "nothing";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, "$1***@");
}

/**
 * An origin option, normalised (`publicOrigin`, `corsOrigins[0]`).
 * @example
 * originOption("publicOrigin", "https://App.example/"); // "https://app.example"
 */
export function originOption(name: string, value: unknown): string {
  const mustBe = 'an http(s) origin such as "https://app.example"';
  if (typeof value !== "string") throw badOption(name, mustBe, value);
  try {
    return parseOrigin(value);
  } catch {
    throw badOption(name, `${mustBe} (no path, query or credentials)`, value);
  }
}

/** Checks the options `setUpGuest` does not parse itself: their types and values. */
export function checkPlainOptions(options: Record<string, unknown>): void {
  const { strategy, cookieSecure, cookieNames, routes, policy, corsOrigins, trustedOrigins, maintenance } = options;
  if (strategy !== undefined && !(STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw badOption("strategy", oneOf(STRATEGIES), strategy);
  }
  if (cookieSecure !== undefined && typeof cookieSecure !== "boolean") {
    throw badOption("cookieSecure", "a boolean", cookieSecure);
  }
  if (cookieNames !== undefined && !isRecord(cookieNames)) {
    throw badOption("cookieNames", 'an object such as { session: "app_sid" }', cookieNames);
  }
  checkRoutes(routes);
  checkPolicy(policy);
  if (corsOrigins !== undefined && !Array.isArray(corsOrigins)) {
    throw badOption("corsOrigins", 'an array of origins such as ["https://app.example"]', corsOrigins);
  }
  if (trustedOrigins !== undefined && !Array.isArray(trustedOrigins)) {
    throw badOption("trustedOrigins", 'an array of origins such as ["https://app.example.com"]', trustedOrigins);
  }
  checkMaintenance(maintenance);
}

/**
 * Checks the adapters' own options: `clientAddress` (fetch, Hono) and `log` (all).
 * @example
 * checkAdapterOptions({ clientAddress: (request) => undefined, log: console });
 */
export function checkAdapterOptions(options: { clientAddress?: unknown; log?: unknown }): void {
  if (options.clientAddress !== undefined && typeof options.clientAddress !== "function") {
    throw badOption("clientAddress", "a function returning the client's address", options.clientAddress);
  }
  const log = options.log as Record<string, unknown> | undefined;
  if (log === undefined) return;
  const fits =
    isRecord(log) &&
    typeof log.warn === "function" &&
    typeof log.error === "function" &&
    (log.debug === undefined || typeof log.debug === "function");
  if (!fits) throw badOption("log", "a logger with warn and error methods (pino, console)", log);
}

function checkRoutes(routes: unknown): void {
  if (routes === undefined) return;
  if (!isRecord(routes)) throw badOption("routes", "an object such as { register: false }", routes);
  for (const [group, on] of Object.entries(routes)) {
    if (!ROUTE_GROUPS.has(group)) throw badOption("routes", `to name only ${oneOf([...ROUTE_GROUPS])}`, group);
    if (on !== undefined && typeof on !== "boolean") throw badOption(`routes.${group}`, "a boolean", on);
  }
}

function checkPolicy(policy: unknown): void {
  if (policy === undefined) return;
  if (!isRecord(policy)) throw badOption("policy", "an object (the timeouts to publish)", policy);
  if (!(REVOCATIONS as readonly unknown[]).includes(policy.revocation)) {
    throw badOption("policy.revocation", oneOf(REVOCATIONS), policy.revocation);
  }
  for (const key of POLICY_NUMBERS) {
    const value = policy[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw badOption(`policy.${key}`, "a number of seconds, 0 or more", value);
    }
  }
}

function checkMaintenance(maintenance: unknown): void {
  if (maintenance === undefined || typeof maintenance === "boolean") return;
  if (!isRecord(maintenance)) throw badOption("maintenance", "a boolean or { intervalMs }", maintenance);
  const { intervalMs } = maintenance;
  // Node's timers take at most 2^31 - 1 ms; a longer interval would fire every millisecond.
  const fits =
    Number.isSafeInteger(intervalMs) && (intervalMs as number) >= 1 && (intervalMs as number) <= MAX_TIMER_MS;
  if (intervalMs !== undefined && !fits) {
    throw badOption("maintenance.intervalMs", `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`, intervalMs);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function oneOf(choices: readonly string[]): string {
  return `one of ${choices.map((c) => `"${c}"`).join(", ")}`;
}
