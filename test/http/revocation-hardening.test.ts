/**
 * Issue 24's hardening of the revocation feed's reach, on real sockets: a stream vouches
 * only for a feed its instance reads (high 1), streams that cannot be written to or hold
 * too much are ended (5), streams are capped (6), a stream that dies without a close is
 * replaced (7), a verifier's larger clock tolerance does not bring ended sessions back
 * (8), and a HEAD is answered as one (13).
 */

import { createServer } from "node:http";
import { connect } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ChangeFollower } from "../../packages/latchkey/src/core/change-follower.js";
import { manualClock, systemClock } from "../../packages/latchkey/src/core/clock.js";
import { StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { RevocationFeed } from "../../packages/latchkey/src/core/revocations.js";
import { EVENT_STREAM_HEADERS, EventStream, STREAM_STALL_MS } from "../../packages/latchkey/src/http/kit.js";
import { writeEventStream } from "../../packages/latchkey/src/http/node-stream.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { loadConfig } from "../../packages/server/src/app/config.js";
import { buildServer, type Server } from "../../packages/server/src/app/server.js";
import { createVerifier, type Verifier, VerifyError } from "../../packages/verify/src/index.js";
import { startHarness, uniqueName } from "../helpers/harness.js";
import { basic, subscribe } from "../helpers/sse.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const ORIGIN = "http://localhost:3000";
const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/**
 * A latchkey on the wall clock (staleness is real time here) over SQLite, whose change
 * feed can be cut from this instance alone, as a database connection can: what another
 * process (the CLI) publishes still lands in the database.
 */
async function startServer(env: Record<string, string> = {}) {
  const stores = await openSqliteStores({ path: ":memory:" });
  const feed = stores.changes;
  let cut = false;
  const refuse = () => {
    if (cut) throw new StoreUnavailableError("sqlite", { cause: new Error("cut for the test") });
  };
  stores.changes = {
    ...feed,
    read: async (...args) => {
      refuse();
      return feed.read(...args);
    },
    position: async () => {
      refuse();
      return feed.position();
    },
  };
  const config = loadConfig({
    DATABASE_URL: "sqlite::memory:",
    PUBLIC_ORIGIN: ORIGIN,
    REGISTER_ADDRESS_MAX: "100000",
    ...env,
  });
  const logger = pino({ level: "silent" }, new Writable({ write: (_c, _e, done) => done() }));
  const server: Server = await buildServer({ config, stores, clock: systemClock, logger });
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  closers.push(() => server.close());
  const base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
  const service = await server.auth.services.create(uniqueName("svc"));
  const credentials = { clientId: service.service.id, clientSecret: service.clientSecret };
  return {
    server,
    base,
    credentials,
    authorization: basic(credentials.clientId, credentials.clientSecret),
    /** Publishes straight into the database, as the CLI does from its own process. */
    publishElsewhere: (kind: "session_ended", subject: string) => feed.publish(kind, subject, Date.now()),
    cutFeed: (value: boolean) => {
      cut = value;
    },
  };
}

async function userToken(server: Server) {
  const name = uniqueName("rh");
  const register = await server.app.inject({
    method: "POST",
    url: "/auth/register",
    headers: { origin: ORIGIN },
    payload: { username: name, password: "correct horse battery staple" },
  });
  expect(register.statusCode).toBe(201);
  const token = await server.app.inject({
    method: "POST",
    url: "/auth/token",
    headers: { origin: ORIGIN },
    payload: { username: name, password: "correct horse battery staple" },
  });
  const accessToken = token.json().access_token as string;
  const sid = JSON.parse(Buffer.from(accessToken.split(".")[1] as string, "base64url").toString()).sid as string;
  return { accessToken, sid };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof VerifyError ? `${error.statusCode} ${error.code}` : String(error)),
  );

/** Waits until the verifier answers `expected` for `token`, failing past `ms`. */
async function outcomeWithin(verifier: Verifier, token: string, expected: string, ms: number): Promise<void> {
  const start = Date.now();
  while ((await outcome(verifier.verify(token))) !== expected) {
    expect(Date.now() - start).toBeLessThan(ms);
    await sleep(50);
  }
}

function verifierOf(base: string, credentials: { clientId: string; clientSecret: string }, extra = {}): Verifier {
  const verifier = createVerifier({ issuer: ORIGIN, baseUrl: base, credentials, pollIntervalMs: 200, ...extra });
  closers.push(() => verifier.close());
  return verifier;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("security 24.1: a stream vouches only for a feed its instance reads", () => {
  it("says stale and ends when the instance cannot read its feed; a heartbeat tells how current it is", async () => {
    const s = await startServer();
    const stream = await subscribe(`${s.base}/auth/revocations`, s.authorization);
    closers.push(() => stream.close());
    const [heartbeat] = (await stream.waitFor((e) => e.some((x) => x.event === "heartbeat"), 4000)).filter(
      (e) => e.event === "heartbeat",
    );
    expect(JSON.parse(heartbeat?.data as string).age_ms).toBeLessThan(1000);
    s.cutFeed(true);
    await stream.waitForEnd(9000);
    const stale = stream.events.find((e) => e.event === "stale");
    expect(JSON.parse(stale?.data as string).age_ms).toBeGreaterThan(5000);
    // No heartbeat after the instance stopped vouching.
    expect(stream.events.at(-1)?.event).toBe("stale");
  }, 20_000);

  it("latchkey/verify fails closed on it, as on a silent one, and refuses the ended session once the feed is back", async () => {
    const s = await startServer();
    const verifier = verifierOf(s.base, s.credentials);
    await verifier.ready();
    const { accessToken, sid } = await userToken(s.server);
    expect(await outcome(verifier.verify(accessToken))).toBe("accepted");
    s.cutFeed(true);
    await s.publishElsewhere("session_ended", sid);
    // Within the tolerance (5 s) the verifier may still accept; past it, never.
    await sleep(6500);
    for (let i = 0; i < 5; i++) {
      expect(await outcome(verifier.verify(accessToken))).toBe("503 service_unavailable");
      await sleep(300);
    }
    s.cutFeed(false);
    await outcomeWithin(verifier, accessToken, "401 invalid_token", 3000);
  }, 30_000);
});

describe("security 24.7: a stream that dies without a close is replaced", () => {
  it("aborts a silent stream and reconnects: a logout reaches the verifier within seconds, not undici's 300 s", async () => {
    const s = await startServer();
    const url = new URL(s.base);
    const proxy = await startTcpProxy(url.hostname, Number(url.port));
    closers.push(() => proxy.close());
    const verifier = verifierOf(`http://127.0.0.1:${proxy.port}`, s.credentials);
    await verifier.ready();
    const { accessToken } = await userToken(s.server);
    expect(await outcome(verifier.verify(accessToken))).toBe("accepted");
    await sleep(300); // the stream is open
    proxy.silence();
    const logout = await s.server.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${accessToken}`, origin: ORIGIN },
    });
    expect(logout.statusCode).toBe(204);
    // 5 s of silence, 0.2 s before reconnecting, the catch-up read.
    await outcomeWithin(verifier, accessToken, "401 invalid_token", 8000);
  }, 20_000);
});

describe("security 24.8: a verifier's clock tolerance larger than latchkey's", () => {
  it("keeps an ended session until its last token has expired by the verifier's own count", async () => {
    const h = await startHarness({ ACCESS_TOKEN_TTL: "60", CLOCK_TOLERANCE: "5" });
    closers.push(() => h.close());
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    const { service, clientSecret } = await h.server.auth.services.create("tolerant");
    const verifier = verifierOf(
      base,
      { clientId: service.id, clientSecret },
      { clockTolerance: 120, now: () => h.clock.now() },
    );
    await verifier.ready();
    const { accessToken } = await userToken(h.server);
    await h.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${accessToken}`, origin: ORIGIN },
    });
    await sleep(500);
    expect(await outcome(verifier.verify(accessToken))).toBe("401 invalid_token");
    // Past the entry's `until` (exp + latchkey's 5 s), within the verifier's 120 s tolerance.
    h.clock.advance(100_000);
    await sleep(2500); // a heartbeat makes the verifier forget what it may
    expect(await outcome(verifier.verify(accessToken))).toBe("401 invalid_token");
  }, 20_000);
});

describe("security 24.5: a subscriber that does not read", () => {
  it("is told to resume from its cursor once too many changes wait for it, and nothing more piles up", async () => {
    const stores = createMemoryStores();
    const clock = manualClock();
    const follower = new ChangeFollower({ feed: stores.changes, clock, retainMs: 600_000 });
    await follower.start();
    closers.push(() => follower.stop());
    const feed = new RevocationFeed({
      feed: stores.changes,
      clock,
      tokenLifetimeMs: 600_000,
      follower,
      streams: { maxPending: 10 },
    });
    await stores.changes.publish("session_ended", "before", clock.now());
    const controller = new AbortController();
    const events = feed.events(undefined, controller.signal, "svc");
    const first = await events.next();
    expect(first.value).toMatchObject({ type: "entry", entry: { sid: "before" } });
    // The subscriber stops reading; 30 sessions end.
    for (let i = 0; i < 30; i++) await stores.changes.publish("session_ended", `s${i}`, clock.now());
    await follower.poll();
    const next = await events.next();
    expect(next.value).toEqual({ type: "resume", cursor: (first.value as { cursor: string }).cursor });
    expect((await events.next()).done).toBe(true);
    controller.abort();
  });

  it("has its connection closed when it takes nothing, and frees its place", async () => {
    const s = await startServer();
    const port = Number(new URL(s.base).port);
    // A client that sends the request and never reads a byte.
    const socket = connect(port, "127.0.0.1");
    closers.push(() => socket.destroy());
    socket.pause();
    socket.write(
      `GET /auth/revocations HTTP/1.1\r\nhost: localhost\r\nauthorization: ${s.authorization}\r\naccept: text/event-stream\r\n\r\n`,
    );
    const start = Date.now();
    while (s.server.auth.revocations.openStreams === 0) {
      expect(Date.now() - start).toBeLessThan(3000);
      await sleep(20);
    }
    // Far more than the socket buffers hold: 30,000 ended sessions with long ids.
    const padding = "x".repeat(200);
    for (let i = 0; i < 30_000; i++) await s.publishElsewhere("session_ended", `${padding}-${i}`);
    const rss = process.memoryUsage().rss;
    const connections = () =>
      new Promise<number>((resolve) => s.server.app.server.getConnections((_error, count) => resolve(count)));
    while ((await connections()) > 0) {
      // The stall limit is 10 s; the catch-up itself takes a moment.
      expect(Date.now() - start).toBeLessThan(30_000);
      await sleep(100);
    }
    expect(s.server.auth.revocations.openStreams).toBe(0);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  }, 45_000);
});

describe("security 24.6: event streams are capped per service and per instance", () => {
  it("answers 429 with Retry-After past STREAMS_PER_SERVICE and STREAMS_PER_INSTANCE, and frees a place when a stream ends", async () => {
    const s = await startServer({ STREAMS_PER_SERVICE: "2", STREAMS_PER_INSTANCE: "3" });
    const one = await subscribe(`${s.base}/auth/revocations`, s.authorization);
    const two = await subscribe(`${s.base}/auth/revocations`, s.authorization);
    closers.push(
      () => one.close(),
      () => two.close(),
    );
    const third = await fetch(`${s.base}/auth/revocations`, {
      headers: { authorization: s.authorization, accept: "text/event-stream" },
    });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await third.json()).error.code).toBe("rate_limited");
    // Another service may have one more: the instance's third.
    const other = await s.server.auth.services.create(uniqueName("other"));
    const otherAuth = basic(other.service.id, other.clientSecret);
    const three = await subscribe(`${s.base}/auth/revocations`, otherAuth);
    closers.push(() => three.close());
    expect(three.response.status).toBe(200);
    const fourth = await fetch(`${s.base}/auth/revocations`, {
      headers: { authorization: otherAuth, accept: "text/event-stream" },
    });
    expect(fourth.status).toBe(429);
    // A JSON read is not a stream: never capped.
    expect((await fetch(`${s.base}/auth/revocations`, { headers: { authorization: s.authorization } })).status).toBe(
      200,
    );
    await one.close();
    const start = Date.now();
    while (s.server.auth.revocations.openStreams > 2) {
      expect(Date.now() - start).toBeLessThan(2000);
      await sleep(20);
    }
    const again = await subscribe(`${s.base}/auth/revocations`, s.authorization);
    closers.push(() => again.close());
    expect(again.response.status).toBe(200);
  }, 20_000);
});

describe("security 24.13: HEAD on the event stream", () => {
  it("is answered as a HEAD at once, holding nothing open", async () => {
    const s = await startServer();
    const response = await fetch(`${s.base}/auth/revocations`, {
      method: "HEAD",
      headers: { authorization: s.authorization, accept: "text/event-stream" },
      signal: AbortSignal.timeout(3000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await sleep(100);
    expect(s.server.auth.revocations.openStreams).toBe(0);
  });
});

describe("security 24.5: an event stream written to a client that stopped reading", () => {
  it("is written only as the client takes it, and its connection is closed after STREAM_STALL_MS of nothing taken", async () => {
    let produced = 0;
    let closedByStream = false;
    const chunk = "x".repeat(64 * 1024);
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        produced += 1;
        yield chunk;
      }
    }
    const server = createServer((_req, res) => {
      res.writeHead(200, EVENT_STREAM_HEADERS);
      void writeEventStream(
        new EventStream(endless(), () => {
          closedByStream = true;
        }),
        res,
        () => {},
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
    closers.push(() => socket.destroy());
    socket.pause();
    socket.write("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
    const connections = () =>
      new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count)));
    await sleep(1000);
    // The socket buffers hold a few MB; an unbounded writer would have produced without end.
    expect(produced * chunk.length).toBeLessThan(64 * 1024 * 1024);
    const start = Date.now();
    while ((await connections()) > 0) {
      expect(Date.now() - start).toBeLessThan(STREAM_STALL_MS + 5000);
      await sleep(100);
    }
    expect(closedByStream).toBe(true);
  }, 30_000);
});
