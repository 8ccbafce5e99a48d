/**
 * deployment.md, "Failure behaviour": what access tokens do while Redis is unreachable.
 * They need no store to verify, but the change feed that says which sessions ended lives
 * in Redis: under REVOCATION=immediate an instance vouches for them only while it has read
 * its feed within 5 s, then confirms each token's session in the store (down: 503); under
 * REVOCATION=expiry they keep working until `exp` on routes that trust the token alone.
 * Redis is the real one, reached through a TCP proxy the test cuts; the clock is frozen, so
 * "5 s" is the clock's, not a sleep.
 */
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterEach, expect, it } from "vitest";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { loadConfig } from "../../packages/server/src/app/config.js";
import { buildServer } from "../../packages/server/src/app/server.js";
import { Client, ORIGIN, uniqueName } from "../helpers/harness.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

/** The server on SQLite + Redis, Redis behind a proxy; a user with a bearer access token. */
async function start(revocation: "immediate" | "expiry") {
  const redis = new URL(REDIS_URL);
  const proxy: TcpProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
  const { prefix, drop } = freshPrefix();
  const proxied = new URL(REDIS_URL);
  proxied.port = String(proxy.port);
  const base = await openSqliteStores({ path: ":memory:" });
  const stores = await openRedisStores({ url: proxied.toString(), base, prefix });
  const config = loadConfig({
    DATABASE_URL: "sqlite::memory:",
    PUBLIC_ORIGIN: ORIGIN,
    LOG_LEVEL: "silent",
    REVOCATION: revocation,
  });
  const clock = manualClock(Date.parse("2026-03-01T12:00:00.000Z"));
  const server = await buildServer({ config, stores, clock, logger: pino({ level: "silent" }) });
  cleanup.push(
    () => proxy.close(),
    drop,
    async () => {
      proxy.restore(); // closing talks to Redis
      await server.close();
    },
  );
  const app: FastifyInstance = server.app;
  const client = new Client(app);
  const name = uniqueName("outage");
  expect((await client.register(name)).statusCode).toBe(201);
  const { access_token } = (await client.token(name)).json() as { access_token: string };
  return { proxy, clock, client, token: access_token };
}

/**
 * Cuts Redis off, then lets the client see the connection drop before anything asks it
 * (real time, not the frozen clock). A command sent in the instant between the cut and
 * ioredis noticing it waits for Redis to return while the proxy keeps accepting connections
 * (ioredis starts its retry count over at each accepted connection): a separate matter
 * from the claim under test.
 */
async function cut(proxy: TcpProxy): Promise<void> {
  proxy.cut();
  await new Promise((resolve) => setTimeout(resolve, 500));
}

describeWith("Redis", redisAvailable)("claim (deployment.md): access tokens while Redis is unreachable", () => {
  it("REVOCATION=immediate: they work while the feed was read within 5 s, then answer 503; routes that load the session answer 503 at once", async () => {
    const { proxy, clock, client, token } = await start("immediate");
    expect((await client.bearer("GET", "/api/todos", token)).statusCode).toBe(200);
    await cut(proxy);
    expect((await client.bearer("GET", "/api/todos", token)).statusCode).toBe(200);
    const me = await client.bearer("GET", "/auth/me", token);
    expect(me.statusCode).toBe(503);
    expect(me.json().error.code).toBe("service_unavailable");
    clock.advance(5_001);
    const later = await client.bearer("GET", "/api/todos", token);
    expect(later.statusCode).toBe(503);
    expect(later.json().error.code).toBe("service_unavailable");
  });

  it("REVOCATION=expiry: they keep working until exp on routes that trust the token alone", async () => {
    const { proxy, clock, client, token } = await start("expiry");
    await cut(proxy);
    clock.advance(60_000);
    expect((await client.bearer("GET", "/api/todos", token)).statusCode).toBe(200);
    expect((await client.bearer("GET", "/auth/me", token)).statusCode).toBe(503);
    clock.advance(600_000);
    expect((await client.bearer("GET", "/api/todos", token)).statusCode).toBe(401);
  });
});
