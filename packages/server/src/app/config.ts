/**
 * Configuration from the environment (contract section 1). Every variable is parsed and
 * validated; a bad value is a `ConfigError` naming the variable, which the CLI prints on
 * one line before exiting with code 2. Values are never echoed: some are secrets.
 */

import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { parseFactorKeys } from "latchkey";
import { isSameSite, parseOrigin, parseRedisUrl as parseRedisTopology } from "latchkey/internal";
import { getPublicSuffix } from "tldts";
import { SETTINGS, type Setting, type SettingName } from "./settings.js";

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
export type DatabaseConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema?: string };

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
  /** `REDIS_WAIT_REPLICAS`; undefined: the topology's default. */
  redisWaitReplicas: number | undefined;
  strategy: "session" | "jwt" | "hybrid";
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  /** Live sessions a user may have; a login past it ends the least recently used. */
  sessionMaxPerUser: number;
  sessionRotateInterval: number;
  sessionRotateGrace: number;
  /** Seconds an ended session's reason is kept. */
  sessionEndReasonTtl: number;
  accessTokenTtl: number;
  jwtAlg: "EdDSA" | "ES256" | "HS256";
  jwtSecret: string | undefined;
  clockTolerance: number;
  revocation: "immediate" | "expiry";
  refreshReuseLeeway: number;
  reauthWindow: number;
  /** Days the security log keeps an event (a fraction for hours or minutes). */
  eventRetention: number;
  loginMaxFailures: number;
  loginAddressMaxFailures: number;
  loginWindow: number;
  /** Registrations per client address (per /64) within `loginWindow`. */
  registerAddressMax: number;
  /** Password checks of one client address (per /64) in flight at once, per instance. */
  loginAddressMaxInFlight: number;
  /** Password hashes that may wait for a thread; past that, 503 with Retry-After. */
  hashQueue: number;
  /** Revocation event streams per service and per instance (`GET /auth/revocations`). */
  streamsPerService: number;
  streamsPerInstance: number;
  cookieSecure: boolean;
  /**
   * Which proxies' `X-Forwarded-For` entries are believed: `false` none; a number, that many
   * hops in front of the server (`true` is 1); a list, the proxies at those addresses or
   * CIDR ranges. Fastify's `trustProxy` takes all three forms.
   */
  trustProxy: false | number | string[];
  corsOrigins: string[];
  /** Same-site origins whose pages may make cookie requests (credentialed CORS). */
  trustedOrigins: string[];
  logLevel: string;
  /** Seconds a client has to send a whole request, headers and body. */
  requestTimeout: number;
  /** Seconds a connection may stay silent (no bytes either way) before it is closed. */
  idleTimeout: number;
  /** Seconds an idle keep-alive connection stays open between requests. */
  keepAliveTimeout: number;
  /** Seconds between SIGTERM and closing, `/readyz` answering 503 meanwhile. */
  shutdownDelay: number;
  /** Port of the Prometheus metrics listener; 0: no metrics. */
  metricsPort: number;
  /** Bind address of the metrics listener. */
  metricsHost: string;
  /** Seconds between two sweeps of expired sessions, counters and changes. */
  sweepInterval: number;
  /** `smtp://` or `smtps://` URL of the mail server (credentials included: never log it); unset, the outbox. */
  smtpUrl: string | undefined;
  /** The `From` of every message. */
  mailFrom: string;
  /** Without `smtpUrl`: the folder messages are written to as `.eml` files. */
  mailOutbox: string;
  /** Logins need a verified address (and registration an address). */
  requireVerifiedEmail: boolean;
  /** Seconds a verification link works. */
  verifyLinkTtl: number;
  /** Seconds a password-reset link works. */
  resetLinkTtl: number;
  /** Mail-sending requests per client address (per /64) within `loginWindow`. */
  mailAddressMax: number;
  /** Mail-sending requests per target address or account within `loginWindow`. */
  mailAccountMax: number;
  /** The keys that seal TOTP secrets (`MFA_KEYS`, checked), or unset: the server keeps one in the database. */
  mfaKeys: string | undefined;
  /** The name authenticator apps show. */
  mfaIssuer: string;
  /** The domain passkeys are bound to, when not `PUBLIC_ORIGIN`'s host. */
  passkeyRpId: string | undefined;
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the configuration.
 *
 * @example
 * const config = loadConfig(process.env); // throws ConfigError
 */
export function loadConfig(env: Env): Config {
  const read = reader(env);
  const port = read.int("PORT");
  const sessionIdleTimeout = read.int("SESSION_IDLE_TIMEOUT");
  const sessionAbsoluteTimeout = read.int("SESSION_ABSOLUTE_TIMEOUT");
  if (sessionIdleTimeout > sessionAbsoluteTimeout) {
    throw new ConfigError("SESSION_IDLE_TIMEOUT", "must not be longer than SESSION_ABSOLUTE_TIMEOUT");
  }
  const rememberIdleTimeout = read.int("REMEMBER_IDLE_TIMEOUT");
  const rememberAbsoluteTimeout = read.int("REMEMBER_ABSOLUTE_TIMEOUT");
  if (rememberIdleTimeout > rememberAbsoluteTimeout) {
    throw new ConfigError("REMEMBER_IDLE_TIMEOUT", "must not be longer than REMEMBER_ABSOLUTE_TIMEOUT");
  }
  const sessionRotateInterval = read.int("SESSION_ROTATE_INTERVAL");
  const sessionRotateGrace = read.int("SESSION_ROTATE_GRACE");
  if (sessionRotateInterval !== 0 && sessionRotateGrace >= sessionRotateInterval) {
    throw new ConfigError("SESSION_ROTATE_GRACE", "must be less than SESSION_ROTATE_INTERVAL (or set that to 0)");
  }
  const jwtAlg = read.choice("JWT_ALG") as Config["jwtAlg"];
  const jwtSecret = env.JWT_SECRET;
  if (jwtAlg === "HS256" && (jwtSecret === undefined || Buffer.byteLength(jwtSecret) < 32)) {
    throw new ConfigError("JWT_SECRET", "must be set to at least 32 bytes when JWT_ALG is HS256");
  }
  if (jwtAlg !== "HS256" && jwtSecret !== undefined) {
    throw new ConfigError("JWT_SECRET", "is only used with JWT_ALG=HS256; unset it");
  }
  const publicOrigin = read.origin("PUBLIC_ORIGIN");
  const trustedOrigins = read.origins("TRUSTED_ORIGINS");
  // The default origin is http://localhost:PORT; a site ignores the port.
  const site = publicOrigin ?? "http://localhost";
  for (const origin of trustedOrigins) {
    if (origin === publicOrigin) throw new ConfigError("TRUSTED_ORIGINS", `must not list PUBLIC_ORIGIN itself`);
    if (!isSameSite(origin, site)) {
      throw new ConfigError(
        "TRUSTED_ORIGINS",
        `must list only origins of PUBLIC_ORIGIN's site (same scheme and registrable domain): ${origin} is another site, and browsers send its pages' requests none of latchkey's SameSite=Lax cookies; give that app bearer tokens with CORS_ORIGINS instead`,
      );
    }
  }
  const passkeyRpId = read.text("PASSKEY_RP_ID") || undefined;
  if (passkeyRpId !== undefined) {
    const host = new URL(site).hostname;
    if (/^[\d.]+$/.test(host) || host.startsWith("[")) {
      throw new ConfigError(
        "PASSKEY_RP_ID",
        `has no use: PUBLIC_ORIGIN's host ${host} is an IP address, which has no passkeys`,
      );
    }
    if (!/^[a-z0-9.-]+$/i.test(passkeyRpId) || !(host === passkeyRpId || host.endsWith(`.${passkeyRpId}`))) {
      throw new ConfigError("PASSKEY_RP_ID", `must be ${host} (PUBLIC_ORIGIN's host) or a domain it is under`);
    }
    // Browsers refuse a public suffix ("com", "co.uk", "github.io") as a relying party.
    if (host !== passkeyRpId && getPublicSuffix(passkeyRpId, { allowPrivateDomains: true }) === passkeyRpId) {
      throw new ConfigError(
        "PASSKEY_RP_ID",
        `must not be a public suffix such as ${passkeyRpId}: name ${host} or a domain under ${passkeyRpId} it is part of`,
      );
    }
  }
  return {
    port,
    host: readHost(read.text("HOST")),
    publicOrigin,
    database: withSchema(parseDatabaseUrl(read.text("DATABASE_URL")), read.text("DATABASE_SCHEMA")),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    redisKeyPrefix: read.text("REDIS_KEY_PREFIX"),
    redisWaitReplicas: parseWaitReplicas(env.REDIS_WAIT_REPLICAS),
    strategy: read.choice("AUTH_STRATEGY") as Config["strategy"],
    sessionIdleTimeout,
    sessionAbsoluteTimeout,
    rememberIdleTimeout,
    rememberAbsoluteTimeout,
    sessionMaxPerUser: read.int("SESSION_MAX_PER_USER"),
    sessionRotateInterval,
    sessionRotateGrace,
    sessionEndReasonTtl: read.int("SESSION_END_REASON_TTL"),
    accessTokenTtl: read.int("ACCESS_TOKEN_TTL"),
    jwtAlg,
    jwtSecret,
    clockTolerance: read.int("CLOCK_TOLERANCE"),
    revocation: read.choice("REVOCATION") as Config["revocation"],
    refreshReuseLeeway: read.int("REFRESH_REUSE_LEEWAY"),
    reauthWindow: read.int("REAUTH_WINDOW"),
    eventRetention: retentionDays(read.text("EVENT_RETENTION")),
    loginMaxFailures: read.int("LOGIN_MAX_FAILURES"),
    loginAddressMaxFailures: read.int("LOGIN_ADDRESS_MAX_FAILURES"),
    loginWindow: read.int("LOGIN_WINDOW"),
    registerAddressMax: read.int("REGISTER_ADDRESS_MAX"),
    loginAddressMaxInFlight: read.int("LOGIN_ADDRESS_MAX_IN_FLIGHT"),
    hashQueue: read.int("HASH_QUEUE"),
    streamsPerService: read.int("STREAMS_PER_SERVICE"),
    streamsPerInstance: read.int("STREAMS_PER_INSTANCE"),
    cookieSecure: read.bool("COOKIE_SECURE"),
    trustProxy: readTrustProxy(read.text("TRUST_PROXY")),
    corsOrigins: read.origins("CORS_ORIGINS"),
    trustedOrigins,
    logLevel: read.choice("LOG_LEVEL"),
    requestTimeout: read.int("REQUEST_TIMEOUT"),
    idleTimeout: read.int("IDLE_TIMEOUT"),
    keepAliveTimeout: read.int("KEEP_ALIVE_TIMEOUT"),
    shutdownDelay: read.int("SHUTDOWN_DELAY"),
    metricsPort: read.int("METRICS_PORT"),
    metricsHost: readHost(read.text("METRICS_HOST"), "METRICS_HOST"),
    sweepInterval: read.int("SWEEP_INTERVAL"),
    smtpUrl: parseSmtpUrl(env.SMTP_URL),
    mailFrom: readMailFrom(read.text("MAIL_FROM")),
    mailOutbox: read.text("MAIL_OUTBOX"),
    requireVerifiedEmail: read.bool("REQUIRE_VERIFIED_EMAIL"),
    verifyLinkTtl: read.int("VERIFY_LINK_TTL"),
    resetLinkTtl: read.int("RESET_LINK_TTL"),
    mailAddressMax: read.int("MAIL_ADDRESS_MAX"),
    mailAccountMax: read.int("MAIL_ACCOUNT_MAX"),
    mfaKeys: readMfaKeys(env.MFA_KEYS),
    mfaIssuer: read.text("MFA_ISSUER"),
    passkeyRpId,
  };
}

/** `MFA_KEYS`, checked at start: a wrong key stops the server, saying which (never the key). */
function readMfaKeys(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  try {
    parseFactorKeys(raw);
  } catch (error) {
    throw new ConfigError("MFA_KEYS", (error as Error).message.replace(/^latchkey: /, ""));
  }
  return raw.trim();
}

/**
 * `EVENT_RETENTION` in days: a whole number of days (`90`, `90d`), hours (`36h`) or
 * minutes (`15min`), from a minute to 36500 days. Not `m`, which reads as months too:
 * `6m` meant as half a year would empty the log at the next sweep.
 */
function retentionDays(raw: string): number {
  const match = /^(\d+)(d|h|min)?$/.exec(raw);
  const perDay = { d: 1, h: 24, min: 1440 }[match?.[2] ?? "d"] ?? 1;
  const days = match ? Number(match[1]) / perDay : Number.NaN;
  if (!(days >= 1 / 1440 && days <= 36_500)) {
    throw new ConfigError(
      "EVENT_RETENTION",
      "must be a whole number of days (90 or 90d), hours (36h) or minutes (15min), from a minute to 36500 days",
    );
  }
  return days;
}

/** Reads each variable against its entry in `SETTINGS`: its default, range and choices. */
function reader(env: Env) {
  const value = (name: SettingName): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
  };
  const spec = <K extends Setting["kind"]>(name: SettingName, kind: K) => {
    const setting: Setting = SETTINGS[name];
    if (setting.kind !== kind) throw new TypeError(`${name} is not a ${kind} setting`);
    return setting as Extract<Setting, { kind: K }>;
  };
  return {
    int(name: SettingName): number {
      const { default: fallback, min, max } = spec(name, "int");
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
        throw new ConfigError(name, `must be a whole number ${range}`);
      }
      return Number(raw);
    },
    bool(name: SettingName): boolean {
      const { default: fallback } = spec(name, "bool");
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new ConfigError(name, 'must be "true" or "false"');
    },
    choice(name: SettingName): string {
      const { default: fallback, choices } = spec(name, "choice");
      const raw = value(name);
      if (raw === undefined) return fallback;
      if (!choices.includes(raw)) throw new ConfigError(name, `must be one of ${choices.join(", ")}`);
      return raw;
    },
    text(name: SettingName): string {
      const { default: fallback } = spec(name, "text");
      return value(name) ?? fallback ?? "";
    },
    origin(name: SettingName): string | undefined {
      spec(name, "text");
      const raw = value(name);
      if (raw === undefined) return undefined;
      try {
        return parseOrigin(raw);
      } catch {
        throw new ConfigError(name, "must be an http(s) origin such as https://auth.example.com");
      }
    },
    origins(name: SettingName): string[] {
      spec(name, "text");
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
function readTrustProxy(raw: string): Config["trustProxy"] {
  if (raw === "false") return false;
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

/**
 * `HOST`: an IP address (`0.0.0.0`, `::1`), or a host name of letters, digits and hyphens
 * whose last label is not all digits, so `999.1.1.1` is refused here and never reaches a
 * DNS lookup at listen time.
 */
function readHost(raw: string, name = "HOST"): string {
  if (isIP(raw) !== 0) return raw;
  const labels = raw.split(".");
  const isName =
    raw.length <= 253 &&
    labels.every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) &&
    !/^\d+$/.test(labels.at(-1) ?? "");
  if (isName) return raw;
  throw new ConfigError(name, "must be an IP address (0.0.0.0, ::) or a host name such as localhost");
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

function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const url = raw.trim();
  try {
    parseRedisTopology(url);
  } catch (error) {
    throw new ConfigError("REDIS_URL", (error as Error).message);
  }
  return url;
}

function parseWaitReplicas(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = raw.trim();
  if (!/^\d{1,2}$/.test(value) || Number(value) > 16) {
    throw new ConfigError("REDIS_WAIT_REPLICAS", "must be a whole number from 0 to 16");
  }
  return Number(value);
}

/**
 * `SMTP_URL`: `smtp://` (STARTTLS when offered) or `smtps://` (TLS), with a host. The URL
 * usually carries a password, so no message here repeats any part of it.
 */
function parseSmtpUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const url = raw.trim();
  if (!/^smtps?:\/\//i.test(url)) {
    throw new ConfigError("SMTP_URL", "must be smtp://user:password@host:port or smtps://...");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      "SMTP_URL",
      "is not a valid smtp:// URL (a password's special characters must be percent-encoded)",
    );
  }
  if (parsed.hostname === "") throw new ConfigError("SMTP_URL", "must name the mail server's host");
  return url;
}

/**
 * `MAIL_FROM`: `address` or `Name <address>`. No line break (it becomes a header) and one
 * `@` with something on each side; the mail server has the last word on the rest.
 */
function readMailFrom(raw: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  const address = /^(?:[^<>@\x00-\x1f\x7f]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;
  if (!address.test(raw)) {
    throw new ConfigError("MAIL_FROM", "must be an address or Name <address>, such as Acme <no-reply@acme.example>");
  }
  return raw;
}

/** `DATABASE_SCHEMA` on a PostgreSQL database (latchkey/postgres checks the name the same way). */
function withSchema(database: DatabaseConfig, schema: string): DatabaseConfig {
  if (schema === "") return database;
  if (database.kind !== "postgres")
    throw new ConfigError("DATABASE_SCHEMA", "is for a postgres:// DATABASE_URL; unset it");
  if (!/^(?!pg_)[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(
      "DATABASE_SCHEMA",
      "must be lower-case letters, digits and _, not starting with a digit or pg_",
    );
  }
  return { ...database, schema };
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
