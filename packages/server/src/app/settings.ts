/**
 * Every configuration variable, once: its default, the values it accepts, its rule and
 * what it means. `loadConfig` validates against this table and the README's configuration
 * table is rendered from it (`npm run docs:settings`; a test fails when the README drifts),
 * so what the docs say a variable accepts is what the server accepts.
 */

/** One variable. Ranges are inclusive; durations are whole seconds. */
export type Setting =
  | { kind: "int"; default: number; min: number; max: number; meaning: string; rule?: string }
  | { kind: "choice"; default: string; choices: readonly string[]; meaning: string; rule?: string }
  | { kind: "bool"; default: boolean; meaning: string }
  | { kind: "text"; default: string | null; accepts: string; meaning: string; rule?: string };

/** The variables, in the order the docs list them. */
export const SETTINGS = {
  PORT: {
    kind: "int",
    default: 3000,
    min: 0,
    max: 65_535,
    meaning: "TCP port (`0` picks a free one; the chosen port is logged)",
  },
  HOST: { kind: "text", default: "127.0.0.1", accepts: "an IP address or host name", meaning: "bind address" },
  PUBLIC_ORIGIN: {
    kind: "text",
    default: null,
    accepts: "an http(s) origin",
    meaning:
      "the origin browsers use (default `http://localhost:$PORT`): unsafe requests from any other origin are refused; the `iss` and `aud` of access tokens",
  },
  DATABASE_URL: {
    kind: "text",
    default: "sqlite:./data/latchkey.db",
    accepts: "`sqlite:PATH`, `sqlite::memory:`, `postgres://user@host:port/db`",
    meaning: "where users, keys and (without Redis) sessions live",
  },
  DATABASE_SCHEMA: {
    kind: "text",
    default: null,
    accepts: "a lower-case name: letters, digits and `_`",
    meaning:
      "PostgreSQL only: the schema latchkey's tables live in (created when missing), for a database shared with another app; default the connection's current schema (`public`)",
  },
  REDIS_URL: {
    kind: "text",
    default: null,
    accepts:
      "`redis://host:port`, `rediss://...`, `redis+sentinel://host,host,host/name`, `redis+cluster://host,host,host`",
    meaning:
      "when set, sessions, refresh tokens, throttle counters and the change feed live in Redis ([deployment](docs/deployment.md), [topologies](docs/operations.md#redis-with-failover))",
  },
  REDIS_WAIT_REPLICAS: {
    kind: "text",
    default: null,
    accepts: "a whole number, 0 to 16",
    meaning:
      "replicas that must hold a write that must outlive a failover (a session created or ended, a refresh token rotated, a change-feed entry) before it is answered; default 1 with Sentinel or Cluster, 0 with one server ([operations](docs/operations.md#redis-with-failover))",
  },
  REDIS_KEY_PREFIX: {
    kind: "text",
    default: "lk:",
    accepts: "any text",
    meaning: "prefix of every Redis key, so deployments can share a server",
  },
  AUTH_STRATEGY: {
    kind: "choice",
    default: "session",
    choices: ["session", "jwt", "hybrid"],
    meaning: "what a browser login sets (see the strategies above)",
  },
  SWEEP_INTERVAL: {
    kind: "int",
    default: 60,
    min: 1,
    max: 86_400,
    meaning:
      "seconds between two sweeps: expired sessions go in adaptive batches aimed at 2 ms each, expired counters and change-feed rows older than one token lifetime (`ACCESS_TOKEN_TTL + CLOCK_TOLERANCE`) in one `DELETE` each, security-log events older than `EVENT_RETENTION` in batches of 500",
  },
  EVENT_RETENTION: {
    kind: "text",
    default: "365",
    accepts: "days (`90`, `90d`), hours (`36h`) or minutes (`15min`); a minute to 36500 days",
    meaning:
      "how long the security log (`GET /auth/events`) keeps an event; the sweep deletes older ones ([operations](docs/operations.md#what-latchkey-keeps-and-for-how-long))",
  },
  SESSION_IDLE_TIMEOUT: {
    kind: "int",
    default: 1800,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    meaning: "seconds without use after which a session ends",
    rule: "at most `SESSION_ABSOLUTE_TIMEOUT`",
  },
  SESSION_ABSOLUTE_TIMEOUT: {
    kind: "int",
    default: 43_200,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    meaning: "seconds after login after which a session ends, used or not",
  },
  REMEMBER_IDLE_TIMEOUT: {
    kind: "int",
    default: 604_800,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    meaning: 'idle timeout of a login made with `"remember": true`',
    rule: "at most `REMEMBER_ABSOLUTE_TIMEOUT`",
  },
  REMEMBER_ABSOLUTE_TIMEOUT: {
    kind: "int",
    default: 2_592_000,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    meaning: 'absolute timeout of a login made with `"remember": true`',
  },
  SESSION_MAX_PER_USER: {
    kind: "int",
    default: 100,
    min: 1,
    max: 10_000,
    meaning: "live sessions per user; a login past it ends the least recently used",
  },
  SESSION_ROTATE_INTERVAL: {
    kind: "int",
    default: 900,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    meaning:
      "seconds after which a cookie session's secret is renewed as it is used (`session` and `hybrid`: the session cookie), on a request that writes its use anyway; `0` never renews ([security](docs/security.md#session-secrets-that-renew))",
  },
  SESSION_ROTATE_GRACE: {
    kind: "int",
    default: 30,
    min: 1,
    max: 3600,
    meaning:
      "seconds the secret before a renewal still works (racing requests, other tabs); presented later, it ends the session as stolen (`session_reuse_detected`)",
    rule: "less than `SESSION_ROTATE_INTERVAL` when that is not 0",
  },
  SESSION_END_REASON_TTL: {
    kind: "int",
    default: 86_400,
    min: 60,
    max: 2_592_000,
    meaning:
      "seconds an ended session's reason is kept, to tell whoever presents its credential later why it ended (`Latchkey-Session-Ended`); one small counter per ended session",
  },
  ACCESS_TOKEN_TTL: {
    kind: "int",
    default: 600,
    min: 1,
    max: 86_400,
    meaning: "access JWT lifetime in seconds; a token never outlives its session, nor half the session's idle timeout",
  },
  JWT_ALG: {
    kind: "choice",
    default: "EdDSA",
    choices: ["EdDSA", "ES256", "HS256"],
    meaning: "how access tokens are signed: EdDSA and ES256 keys are generated and kept in the store",
    rule: "`HS256` needs `JWT_SECRET`",
  },
  JWT_SECRET: {
    kind: "text",
    default: null,
    accepts: "at least 32 bytes",
    meaning: "the HS256 key",
    rule: "required with `JWT_ALG=HS256`, refused with any other",
  },
  CLOCK_TOLERANCE: {
    kind: "int",
    default: 5,
    min: 0,
    max: 60,
    meaning: "seconds of skew accepted on `exp`, `nbf`, `iat`",
  },
  REVOCATION: {
    kind: "choice",
    default: "immediate",
    choices: ["immediate", "expiry"],
    meaning:
      "`immediate`: an ended session's access tokens are refused at once, on every instance; `expiry`: they live until `exp`",
  },
  REFRESH_REUSE_LEEWAY: {
    kind: "int",
    default: 10,
    min: 0,
    max: 300,
    meaning:
      "seconds after a rotation during which a duplicate use of the old refresh token (a racing tab) is refused without ending the session; later, it is theft and ends it",
  },
  REAUTH_WINDOW: {
    kind: "int",
    default: 600,
    min: 1,
    max: 86_400,
    meaning:
      "seconds after a sign-in (or a re-authentication, `POST /auth/reauthenticate`) during which admin changes and other sensitive actions are allowed; later they answer `403 reauthentication_required`",
  },
  MFA_KEYS: {
    kind: "text",
    default: null,
    accepts: "32-byte keys in base64 (`openssl rand -base64 32`), comma-separated; the first seals",
    meaning:
      "the keys that encrypt authenticator apps' secrets at rest (a secret: never logged); unset, one is made and kept in the database, which is for development only: a copy of the database then opens them ([accounts](docs/accounts.md#the-server-key))",
  },
  PASSKEY_RP_ID: {
    kind: "text",
    default: null,
    accepts: "a domain: `PUBLIC_ORIGIN`'s host or one it is under",
    meaning:
      "the domain passkeys are bound to (default `PUBLIC_ORIGIN`'s host); a parent domain lets the site's other hosts (`TRUSTED_ORIGINS`) use them too. An origin that is an IP address has no passkeys ([accounts](docs/accounts.md#passkeys))",
  },
  MFA_ISSUER: {
    kind: "text",
    default: "latchkey",
    accepts: "a short name",
    meaning: "the name authenticator apps show above the account",
  },
  LOGIN_MAX_FAILURES: {
    kind: "int",
    default: 5,
    min: 1,
    max: 1000,
    meaning:
      "failed logins per account (or per [trusted device](docs/security.md#the-lockout-cannot-be-turned-against-the-accounts-owner)) within `LOGIN_WINDOW` before its logins answer 429; counted before the password is hashed, and only a checked wrong password stays counted (a login shed with 503 is not a failure)",
  },
  LOGIN_ADDRESS_MAX_FAILURES: {
    kind: "int",
    default: 100,
    min: 1,
    max: 100_000,
    meaning: "failed logins per client address (per /64 for IPv6) within `LOGIN_WINDOW` before its logins answer 429",
  },
  LOGIN_ADDRESS_MAX_IN_FLIGHT: {
    kind: "int",
    default: 4,
    min: 1,
    max: 1000,
    meaning: "password checks of one client address running at once on an instance; more answer 429",
  },
  LOGIN_WINDOW: {
    kind: "int",
    default: 900,
    min: 1,
    max: 86_400,
    meaning: "seconds of the login and registration counters' window",
  },
  REGISTER_ADDRESS_MAX: {
    kind: "int",
    default: 20,
    min: 1,
    max: 100_000,
    meaning: "registrations per client address within `LOGIN_WINDOW`, across instances",
  },
  HASH_QUEUE: {
    kind: "int",
    default: 32,
    min: 1,
    max: 10_000,
    meaning: "password hashes that may wait for a thread on an instance; past it, 503 with `Retry-After`",
  },
  STREAMS_PER_SERVICE: {
    kind: "int",
    default: 8,
    min: 1,
    max: 10_000,
    meaning:
      "revocation event streams one service may hold open on an instance (a service process needs one); past it, 429",
  },
  STREAMS_PER_INSTANCE: {
    kind: "int",
    default: 256,
    min: 1,
    max: 100_000,
    meaning: "revocation event streams an instance holds open at most, every service together; past it, 429",
  },
  REQUEST_TIMEOUT: {
    kind: "int",
    default: 30,
    min: 1,
    max: 3600,
    meaning: "seconds a client has to send a whole request (headers and body); then 408 and the connection closes",
  },
  IDLE_TIMEOUT: {
    kind: "int",
    default: 120,
    min: 1,
    max: 3600,
    meaning: "seconds a connection may stay silent before it is closed",
  },
  KEEP_ALIVE_TIMEOUT: {
    kind: "int",
    default: 72,
    min: 1,
    max: 3600,
    meaning: "seconds an idle keep-alive connection stays open (keep it above the proxy's)",
  },
  SHUTDOWN_DELAY: {
    kind: "int",
    default: 0,
    min: 0,
    max: 600,
    meaning:
      "seconds between SIGTERM and closing: `/readyz` answers 503 at once while the instance goes on serving, so a balancer that polls it stops sending traffic first; set it to the balancer's check interval times its failure threshold ([operations](docs/operations.md#readiness-and-draining)). A second signal closes at once",
  },
  COOKIE_SECURE: {
    kind: "bool",
    default: true,
    meaning:
      "`false` drops `Secure` and the `__Host-` prefix (cookies become `sid`, `csrf`, ...), for plain-http hosts other than localhost",
  },
  TRUST_PROXY: {
    kind: "text",
    default: "false",
    accepts: "`false`, `true` (one hop), a hop count 1–10, or proxy addresses and CIDR ranges, comma-separated",
    meaning:
      "which `X-Forwarded-For` entries to believe; never every hop ([security](docs/security.md#client-addresses-and-proxies))",
  },
  CORS_ORIGINS: {
    kind: "text",
    default: null,
    accepts: "comma-separated http(s) origins",
    meaning:
      "origins whose scripts may call the API with bearer tokens (CORS without credentials; cookie requests from them are refused)",
  },
  TRUSTED_ORIGINS: {
    kind: "text",
    default: null,
    accepts: "comma-separated http(s) origins of `PUBLIC_ORIGIN`'s site",
    meaning:
      "other origins of this site whose pages may make cookie requests (credentialed CORS; each unsafe one still needs the CSRF token), such as a front end on its own port or subdomain; a cross-site one is refused at start ([client](docs/client.md))",
  },
  SMTP_URL: {
    kind: "text",
    default: null,
    accepts:
      "`smtp://user:password@host:port` (STARTTLS when the server offers it), `smtps://...` (TLS from the start)",
    meaning:
      "the mail server that sends verification and password-reset links (a secret: never logged, only its host and port); unset, each message is written to `MAIL_OUTBOX` instead ([accounts](docs/accounts.md))",
  },
  MAIL_FROM: {
    kind: "text",
    default: "latchkey <no-reply@localhost>",
    accepts: "an address, or `Name <address>`",
    meaning: "the sender of every message; use an address of your domain that the mail server may send as",
  },
  MAIL_OUTBOX: {
    kind: "text",
    default: "./data/outbox",
    accepts: "a folder path",
    meaning:
      "without `SMTP_URL`: the folder each message is written to as an `.eml` file, readable by the server's user only (it holds a live link), its path logged; for development and tests, not for real users",
  },
  REQUIRE_VERIFIED_EMAIL: {
    kind: "bool",
    default: false,
    meaning:
      "`true`: registration needs an email address, and an account cannot sign in (`403 email_unverified`) until its address is verified through the mailed link",
  },
  VERIFY_LINK_TTL: {
    kind: "int",
    default: 86_400,
    min: 60,
    max: 2_592_000,
    meaning: "seconds an email verification link works (once)",
  },
  RESET_LINK_TTL: {
    kind: "int",
    default: 1800,
    min: 60,
    max: 86_400,
    meaning: "seconds a password-reset link works (once); short, since the link is as good as the password",
  },
  MAIL_ADDRESS_MAX: {
    kind: "int",
    default: 20,
    min: 1,
    max: 100_000,
    meaning:
      "requests that send mail (a new verification link, a forgotten password, an email change) per client address (per /64 for IPv6) within `LOGIN_WINDOW`, across instances; past it, 429",
  },
  MAIL_ACCOUNT_MAX: {
    kind: "int",
    default: 5,
    min: 1,
    max: 1000,
    meaning:
      "requests that send mail to one email address or account within `LOGIN_WINDOW`, across instances, so nobody can flood someone's inbox; past it, 429",
  },
  METRICS_PORT: {
    kind: "int",
    default: 0,
    min: 0,
    max: 65_535,
    meaning:
      "TCP port of the Prometheus metrics (`GET /metrics`), on a listener of its own, never the public one; `0` (the default): no metrics ([operations](docs/operations.md#metrics))",
  },
  METRICS_HOST: {
    kind: "text",
    default: "127.0.0.1",
    accepts: "an IP address or host name",
    meaning: "bind address of the metrics listener: keep it off the public network",
  },
  LOG_LEVEL: {
    kind: "choice",
    default: "info",
    choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    meaning: "pino log level",
  },
} as const satisfies Record<string, Setting>;

/** A variable's name. */
export type SettingName = keyof typeof SETTINGS;

const code = (value: string) => `\`${value}\``;

function values(setting: Setting): string {
  switch (setting.kind) {
    case "int":
      return setting.max === Number.MAX_SAFE_INTEGER ? `${setting.min} or more` : `${setting.min}–${setting.max}`;
    case "choice":
      return setting.choices.map(code).join(", ");
    case "bool":
      return "`true`, `false`";
    case "text":
      return setting.accepts;
  }
}

/**
 * The README's configuration table, rendered from `SETTINGS`.
 *
 * @example
 * renderSettingsTable().startsWith("| variable |"); // true
 */
export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, setting]: [string, Setting]) => {
    const fallback = setting.default === null ? "unset" : code(String(setting.default));
    const rule = "rule" in setting && setting.rule ? ` (${setting.rule})` : "";
    return `| ${code(name)} | ${fallback} | ${values(setting)} | ${setting.meaning}${rule} |`;
  });
  return ["| variable | default | accepts | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
