/**
 * Configuration from the environment (contract section 1). Every variable is parsed and
 * validated; a bad value is a `ConfigError` naming the variable, which the CLI prints on
 * one line before exiting with code 2. Values are never echoed: some are secrets.
 */
import ipaddr from "ipaddr.js";
import { parseOrigin } from "../http/origin.js";

/** A configuration variable with a bad value. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, reason: string) {
    super(`${variable} ${reason}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** Where the durable data lives. */
export type DatabaseConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

/** The validated configuration. Durations are seconds. */
export interface Config {
  port: number;
  host: string;
  /** `undefined`: `http://localhost:<port>`, known once the server listens. */
  publicOrigin: string | undefined;
  database: DatabaseConfig;
  /** When set, sessions, refresh tokens, throttle counters and the change feed live in Redis. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key (several deployments can share one Redis). */
  redisKeyPrefix: string;
  strategy: "session" | "jwt" | "hybrid";
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  /** Live sessions a user may have; a login past it ends the least recently used. */
  sessionMaxPerUser: number;
  accessTokenTtl: number;
  jwtAlg: "EdDSA" | "ES256" | "HS256";
  jwtSecret: string | undefined;
  clockTolerance: number;
  revocation: "immediate" | "expiry";
  refreshReuseLeeway: number;
  loginMaxFailures: number;
  loginAddressMaxFailures: number;
  loginWindow: number;
  /** Registrations per client address (per /64) within `loginWindow`. */
  registerAddressMax: number;
  /** Password checks of one client address (per /64) in flight at once, per instance. */
  loginAddressMaxInFlight: number;
  /** Password hashes that may wait for a thread; past that, 503 with Retry-After. */
  hashQueue: number;
  cookieSecure: boolean;
  /**
   * Which proxies' `X-Forwarded-For` entries are believed: `false` none; a number, that many
   * hops in front of the server (`true` is 1); a list, the proxies at those addresses or
   * CIDR ranges. Fastify's `trustProxy` takes all three forms.
   */
  trustProxy: false | number | string[];
  corsOrigins: string[];
  logLevel: string;
  /** Seconds a client has to send a whole request, headers and body. */
  requestTimeout: number;
  /** Seconds a connection may stay silent (no bytes either way) before it is closed. */
  idleTimeout: number;
  /** Seconds an idle keep-alive connection stays open between requests. */
  keepAliveTimeout: number;
  /** Seconds between two sweeps of expired sessions, counters and changes. */
  sweepInterval: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Reads and validates the configuration.
 *
 * @example
 * const config = loadConfig(process.env); // throws ConfigError
 */
export function loadConfig(env: Env): Config {
  const read = reader(env);
  const value = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const port = read.int("PORT", 3000, 0, 65_535);
  const sessionIdleTimeout = read.int("SESSION_IDLE_TIMEOUT", 1800, 1);
  const sessionAbsoluteTimeout = read.int("SESSION_ABSOLUTE_TIMEOUT", 43_200, 1);
  if (sessionIdleTimeout > sessionAbsoluteTimeout) {
    throw new ConfigError("SESSION_IDLE_TIMEOUT", "must not be longer than SESSION_ABSOLUTE_TIMEOUT");
  }
  const rememberIdleTimeout = read.int("REMEMBER_IDLE_TIMEOUT", 604_800, 1);
  const rememberAbsoluteTimeout = read.int("REMEMBER_ABSOLUTE_TIMEOUT", 2_592_000, 1);
  if (rememberIdleTimeout > rememberAbsoluteTimeout) {
    throw new ConfigError("REMEMBER_IDLE_TIMEOUT", "must not be longer than REMEMBER_ABSOLUTE_TIMEOUT");
  }
  const jwtAlg = read.oneOf("JWT_ALG", "EdDSA", ["EdDSA", "ES256", "HS256"] as const);
  const jwtSecret = env.JWT_SECRET;
  if (jwtAlg === "HS256" && (jwtSecret === undefined || Buffer.byteLength(jwtSecret) < 32)) {
    throw new ConfigError("JWT_SECRET", "must be set to at least 32 bytes when JWT_ALG is HS256");
  }
  if (jwtAlg !== "HS256" && jwtSecret !== undefined) {
    throw new ConfigError("JWT_SECRET", "is only used with JWT_ALG=HS256; unset it");
  }
  return {
    port,
    host: read.text("HOST", "127.0.0.1"),
    publicOrigin: read.origin("PUBLIC_ORIGIN"),
    database: parseDatabaseUrl(env.DATABASE_URL ?? "sqlite:./data/latchkey.db"),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    redisKeyPrefix: read.text("REDIS_KEY_PREFIX", "lk:"),
    strategy: readStrategy(env.AUTH_STRATEGY),
    sessionIdleTimeout,
    sessionAbsoluteTimeout,
    rememberIdleTimeout,
    rememberAbsoluteTimeout,
    sessionMaxPerUser: read.int("SESSION_MAX_PER_USER", 100, 1, 10_000),
    accessTokenTtl: read.int("ACCESS_TOKEN_TTL", 600, 1, 86_400),
    jwtAlg,
    jwtSecret,
    clockTolerance: read.int("CLOCK_TOLERANCE", 5, 0, 60),
    revocation: read.oneOf("REVOCATION", "immediate", ["immediate", "expiry"] as const),
    refreshReuseLeeway: read.int("REFRESH_REUSE_LEEWAY", 10, 0, 300),
    loginMaxFailures: read.int("LOGIN_MAX_FAILURES", 5, 1, 1000),
    loginAddressMaxFailures: read.int("LOGIN_ADDRESS_MAX_FAILURES", 100, 1, 100_000),
    loginWindow: read.int("LOGIN_WINDOW", 900, 1, 86_400),
    registerAddressMax: read.int("REGISTER_ADDRESS_MAX", 20, 1, 100_000),
    loginAddressMaxInFlight: read.int("LOGIN_ADDRESS_MAX_IN_FLIGHT", 4, 1, 1000),
    hashQueue: read.int("HASH_QUEUE", 32, 1, 10_000),
    cookieSecure: read.bool("COOKIE_SECURE", true),
    trustProxy: readTrustProxy(value("TRUST_PROXY")),
    corsOrigins: read.origins("CORS_ORIGINS"),
    logLevel: read.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    requestTimeout: read.int("REQUEST_TIMEOUT", 30, 1, 3600),
    idleTimeout: read.int("IDLE_TIMEOUT", 120, 1, 3600),
    keepAliveTimeout: read.int("KEEP_ALIVE_TIMEOUT", 72, 1, 3600),
    sweepInterval: read.int("SWEEP_INTERVAL", 60, 1, 86_400),
  };
}

function reader(env: Env) {
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
  };
  return {
    int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
        throw new ConfigError(name, `must be a whole number ${range}`);
      }
      return Number(raw);
    },
    bool(name: string, fallback: boolean): boolean {
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new ConfigError(name, 'must be "true" or "false"');
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (!allowed.includes(raw as T)) throw new ConfigError(name, `must be one of ${allowed.join(", ")}`);
      return raw as T;
    },
    text(name: string, fallback: string): string {
      return value(name) ?? fallback;
    },
    origin(name: string): string | undefined {
      const raw = value(name);
      if (raw === undefined) return undefined;
      try {
        return parseOrigin(raw);
      } catch {
        throw new ConfigError(name, "must be an http(s) origin such as https://auth.example.com");
      }
    },
    origins(name: string): string[] {
      const raw = value(name);
      if (raw === undefined) return [];
      try {
        return raw.split(",").map((part) => parseOrigin(part.trim()));
      } catch {
        throw new ConfigError(name, "must be a comma-separated list of http(s) origins");
      }
    },
  };
}

/**
 * `TRUST_PROXY`: `false`; `true` (one hop: the proxy in front of the server, the usual
 * nginx); a number of hops, 1 to 10; or a comma-separated list of proxy addresses and CIDR
 * ranges. Never "every hop": each proxy appends to `X-Forwarded-For`, so believing every
 * entry lets a client write its own address.
 */
function readTrustProxy(raw: string | undefined): Config["trustProxy"] {
  if (raw === undefined || raw === "false") return false;
  if (raw === "true") return 1;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops >= 1 && hops <= 10) return hops;
    throw new ConfigError(
      "TRUST_PROXY",
      "must be false, true, a number of proxy hops from 1 to 10, or proxy addresses",
    );
  }
  const addresses = raw.split(",").map((part) => part.trim());
  if (addresses.every((part) => isAddressOrRange(part))) return addresses;
  throw new ConfigError("TRUST_PROXY", "must be false, true, a number of proxy hops from 1 to 10, or proxy addresses");
}

function isAddressOrRange(part: string): boolean {
  if (ipaddr.isValid(part)) return true;
  try {
    ipaddr.parseCIDR(part);
    return true;
  } catch {
    return false;
  }
}

function readStrategy(raw: string | undefined): Config["strategy"] {
  const value = raw?.trim() ?? "";
  if (value === "") return "session";
  if (value === "session" || value === "jwt" || value === "hybrid") return value;
  throw new ConfigError("AUTH_STRATEGY", "must be one of session, jwt, hybrid");
}

function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const url = raw.trim();
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new ConfigError("REDIS_URL", "must be redis://host:port or rediss://...");
  try {
    new URL(url);
  } catch {
    throw new ConfigError("REDIS_URL", "is not a valid redis:// URL");
  }
  return url;
}

/**
 * @example
 * parseDatabaseUrl("sqlite:./data/latchkey.db"); // { kind: "sqlite", path: "./data/latchkey.db" }
 */
export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path === "") throw new ConfigError("DATABASE_URL", "must name a file: sqlite:PATH or sqlite::memory:");
    return { kind: "sqlite", path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError("DATABASE_URL", "is not a valid postgres:// URL");
    }
    return { kind: "postgres", url };
  }
  throw new ConfigError("DATABASE_URL", "must be sqlite:PATH, sqlite::memory: or postgres://...");
}
