import { describe, expect, it } from "vitest";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { authOptionsFrom } from "../../packages/server/src/app/auth-options.js";
import { ConfigError, loadConfig } from "../../packages/server/src/app/config.js";

const fails = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("configuration", () => {
  it("has the contract's defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: "127.0.0.1",
      publicOrigin: undefined,
      database: { kind: "sqlite", path: "./data/latchkey.db" },
      strategy: "session",
      sessionIdleTimeout: 1800,
      sessionAbsoluteTimeout: 43_200,
      rememberIdleTimeout: 604_800,
      rememberAbsoluteTimeout: 2_592_000,
      sessionEndReasonTtl: 86_400,
      accessTokenTtl: 600,
      jwtAlg: "EdDSA",
      clockTolerance: 5,
      revocation: "immediate",
      refreshReuseLeeway: 10,
      loginMaxFailures: 5,
      loginWindow: 900,
      cookieSecure: true,
      trustProxy: false,
      corsOrigins: [],
      logLevel: "info",
      sweepInterval: 60,
      eventRetention: 365,
      shutdownDelay: 0,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
    });
  });

  it("EVENT_RETENTION: days (or hours, or minutes) the security log keeps an event, handed to createAuth", () => {
    const config = loadConfig({ EVENT_RETENTION: "30" });
    expect(config.eventRetention).toBe(30);
    expect(authOptionsFrom(config, createMemoryStores()).eventRetentionDays).toBe(30);
    expect(loadConfig({ EVENT_RETENTION: "30d" }).eventRetention).toBe(30);
    expect(loadConfig({ EVENT_RETENTION: "36h" }).eventRetention).toBe(1.5);
    expect(loadConfig({ EVENT_RETENTION: "15min" }).eventRetention * 1440).toBeCloseTo(15, 9);
    expect(loadConfig({ EVENT_RETENTION: "1min" }).eventRetention).toBe(1 / 1440);
    expect(loadConfig({ EVENT_RETENTION: "36500d" }).eventRetention).toBe(36_500);
    for (const bad of ["0", "0min", "36501", "876001h", "1.5", "1.5d", "15s", "d", "-1", "15 min", "1w", "6m", "15m"]) {
      expect(fails({ EVENT_RETENTION: bad }).message).toContain("EVENT_RETENTION");
    }
  });

  it("TRUST_PROXY: true is one hop, never every hop; a hop count; or proxy addresses and ranges", () => {
    const trust = (value: string) => loadConfig({ TRUST_PROXY: value }).trustProxy;
    expect(trust("false")).toBe(false);
    expect(trust("true")).toBe(1);
    expect(trust("2")).toBe(2);
    expect(trust("127.0.0.1, 10.0.0.0/8,::1")).toEqual(["127.0.0.1", "10.0.0.0/8", "::1"]);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["SESSION_IDLE_TIMEOUT", "0"],
    ["SWEEP_INTERVAL", "0"],
    ["SESSION_IDLE_TIMEOUT", "99999"],
    ["CLOCK_TOLERANCE", "61"],
    ["COOKIE_SECURE", "yes"],
    ["TRUST_PROXY", "0"],
    ["TRUST_PROXY", "11"],
    ["TRUST_PROXY", "yes"],
    ["TRUST_PROXY", "10.0.0.0/33"],
    ["REQUEST_TIMEOUT", "0"],
    ["HASH_QUEUE", "0"],
    ["AUTH_STRATEGY", "magic"],
    ["JWT_ALG", "RS256"],
    ["REVOCATION", "never"],
    ["LOG_LEVEL", "loud"],
    ["PUBLIC_ORIGIN", "localhost:3000"],
    ["PUBLIC_ORIGIN", "https://example.com/path"],
    ["CORS_ORIGINS", "https://a.example, nope"],
    ["DATABASE_URL", "mysql://x"],
    ["DATABASE_URL", "postgres://bad host/x"],
    ["DATABASE_SCHEMA", "Latchkey"],
    ["DATABASE_SCHEMA", "latchkey"], // with the default sqlite: DATABASE_URL
    ["REDIS_URL", "localhost:6379"],
    ["REDIS_URL", "redis+sentinel://10.0.0.1,10.0.0.2"],
    ["REDIS_URL", "redis+cluster://10.0.0.1/0"],
    ["REDIS_URL", "rediss+cluster://10.0.0.1"],
    ["REDIS_WAIT_REPLICAS", "-1"],
    ["REDIS_WAIT_REPLICAS", "17"],
    ["REDIS_WAIT_REPLICAS", "one"],
    ["LOGIN_MAX_FAILURES", "0"],
    ["HOST", "999.1.1.1"],
    ["HOST", "1.2.3"],
    ["HOST", "[::1]"],
    ["HOST", "bad host"],
    ["HOST", "-a.example"],
    ["HOST", "http://localhost"],
    ["SMTP_URL", "mail.example:25"],
    ["SMTP_URL", "http://mail.example"],
    ["SMTP_URL", "smtp://"],
    ["MAIL_FROM", "no address"],
    ["MAIL_FROM", "Acme <no-reply@acme.example>\r\nBcc: x@y.example"],
    ["REQUIRE_VERIFIED_EMAIL", "yes"],
    ["VERIFY_LINK_TTL", "59"],
    ["RESET_LINK_TTL", "86401"],
    ["MAIL_ADDRESS_MAX", "0"],
    ["MAIL_ACCOUNT_MAX", "0"],
    ["SHUTDOWN_DELAY", "-1"],
    ["SESSION_END_REASON_TTL", "59"],
    ["SESSION_END_REASON_TTL", "2592001"],
    ["SHUTDOWN_DELAY", "601"],
    ["METRICS_PORT", "70000"],
    ["METRICS_HOST", "999.1.1.1"],
    ["EVENT_RETENTION", "0"],
  ])("refuses %s=%s, naming the variable", (name, value) => {
    expect(fails({ [name]: value }).variable).toBe(name);
  });

  it("issue 26 bug 2: HOST takes IP addresses and host names", () => {
    for (const host of ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "auth-1.internal", "app.example"]) {
      expect(loadConfig({ HOST: host }).host).toBe(host);
    }
  });

  it("DATABASE_SCHEMA: the PostgreSQL schema latchkey's tables live in", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://db/app", DATABASE_SCHEMA: "latchkey" }).database).toEqual({
      kind: "postgres",
      url: "postgres://db/app",
      schema: "latchkey",
    });
    expect(loadConfig({ DATABASE_URL: "postgres://db/app" }).database).toEqual({
      kind: "postgres",
      url: "postgres://db/app",
    });
  });

  it("requires a 32-byte JWT_SECRET with HS256 and never echoes it", () => {
    const error = fails({ JWT_ALG: "HS256", JWT_SECRET: "short-secret-value" });
    expect(error.variable).toBe("JWT_SECRET");
    expect(error.message).not.toContain("short-secret-value");
    expect(loadConfig({ JWT_ALG: "HS256", JWT_SECRET: "x".repeat(32) }).jwtAlg).toBe("HS256");
  });

  it("normalises origins and reads the token settings", () => {
    const config = loadConfig({
      PUBLIC_ORIGIN: "https://Auth.Example.com/",
      CORS_ORIGINS: "https://a.example,https://b.example:8443",
      ACCESS_TOKEN_TTL: "300",
    });
    expect(config.publicOrigin).toBe("https://auth.example.com");
    expect(config.corsOrigins).toEqual(["https://a.example", "https://b.example:8443"]);
    expect(config.accessTokenTtl).toBe(300);
    expect(loadConfig({ AUTH_STRATEGY: "hybrid" }).strategy).toBe("hybrid");
    expect(loadConfig({ AUTH_STRATEGY: "jwt", REVOCATION: "expiry" }).revocation).toBe("expiry");
  });

  it("issue 32: PASSKEY_RP_ID is PUBLIC_ORIGIN's host or a domain it is under, unset by default", () => {
    expect(loadConfig({}).passkeyRpId).toBeUndefined();
    const origin = { PUBLIC_ORIGIN: "https://auth.example.com" };
    expect(loadConfig({ ...origin, PASSKEY_RP_ID: "example.com" }).passkeyRpId).toBe("example.com");
    expect(loadConfig({ ...origin, PASSKEY_RP_ID: "auth.example.com" }).passkeyRpId).toBe("auth.example.com");
    // Without PUBLIC_ORIGIN, the default origin's host.
    expect(loadConfig({ PASSKEY_RP_ID: "localhost" }).passkeyRpId).toBe("localhost");
    for (const bad of ["other.example", "xample.com", "app.auth.example.com", "https://example.com", "example.com/"]) {
      const error = fails({ ...origin, PASSKEY_RP_ID: bad });
      expect([bad, error.variable]).toEqual([bad, "PASSKEY_RP_ID"]);
      expect(error.message).toContain("auth.example.com");
    }
    // A public suffix, which browsers refuse as a relying party, and an IP origin, which has none.
    expect(fails({ PUBLIC_ORIGIN: "https://app.example.co.uk", PASSKEY_RP_ID: "co.uk" }).message).toMatch(
      /public suffix/,
    );
    expect(fails({ PUBLIC_ORIGIN: "https://alice.github.io", PASSKEY_RP_ID: "github.io" }).variable).toBe(
      "PASSKEY_RP_ID",
    );
    expect(loadConfig({ PUBLIC_ORIGIN: "https://app.example.co.uk", PASSKEY_RP_ID: "example.co.uk" }).passkeyRpId).toBe(
      "example.co.uk",
    );
    expect(fails({ PUBLIC_ORIGIN: "http://127.0.0.1:3000", PASSKEY_RP_ID: "127.0.0.1" }).message).toMatch(/IP address/);
  });

  it("issue 31: mail settings have their defaults, and a bad SMTP_URL's message never repeats it", () => {
    expect(loadConfig({})).toMatchObject({
      smtpUrl: undefined,
      mailFrom: "latchkey <no-reply@localhost>",
      mailOutbox: "./data/outbox",
      requireVerifiedEmail: false,
      verifyLinkTtl: 86_400,
      resetLinkTtl: 1800,
      mailAddressMax: 20,
      mailAccountMax: 5,
    });
    const url = "smtps://mailer:p%40ss@smtp.example.com:465";
    expect(loadConfig({ SMTP_URL: url, MAIL_FROM: "no-reply@acme.example" })).toMatchObject({
      smtpUrl: url,
      mailFrom: "no-reply@acme.example",
    });
    for (const bad of ["ftp://mailer:s3cret@smtp.example.com", "smtp://mailer:s3cret@[oops"]) {
      const error = fails({ SMTP_URL: bad });
      expect(error.variable).toBe("SMTP_URL");
      expect(error.message).not.toContain("s3cret");
    }
  });
});
