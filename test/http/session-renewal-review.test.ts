/**
 * Review of issue 28: the paths where a renewal could be made and never reach the browser
 * (which would later read as a stolen copy), and the edges of the renewal itself. Each
 * case failed before its fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { DEFAULT_SESSION_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { hostCore, ORIGIN, PASSWORD } from "../helpers/host-app.js";

const MINUTE = 60_000;
const IP = { ip: "192.0.2.5" };

interface World {
  auth: Auth;
  clock: ManualClock;
  latchkey: FetchLatchkey;
  cookie: string;
}

const opened: World[] = [];
afterEach(async () => {
  for (const w of opened.splice(0)) {
    w.latchkey.close();
    await w.auth.close();
  }
});

async function world(strategy: Strategy = "session", name = "rena"): Promise<World> {
  const clock = manualClock();
  const auth = await hostCore(createMemoryStores(), { clock });
  const latchkey = createFetchHandler({
    auth,
    publicOrigin: ORIGIN,
    strategy,
    cookieSecure: false,
    maintenance: false,
  });
  await auth.accounts.register(name, PASSWORD);
  const login = await latchkey.handle(
    new Request(`${ORIGIN}/auth/login`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ username: name, password: PASSWORD }),
    }),
    IP,
  );
  const cookie = (login?.headers.getSetCookie() ?? []).map((line) => line.split(";")[0]).join("; ");
  const w = { auth, clock, latchkey, cookie };
  opened.push(w);
  return w;
}

const sidOf = (lines: string[]) => lines.find((line) => line.startsWith("sid="))?.split(";")[0];
const get = (path: string, cookie: string, headers: Record<string, string> = {}) =>
  new Request(`${ORIGIN}${path}`, { headers: { cookie, ...headers } });

describe("review of issue 28", () => {
  it("finding 1: the fetch adapter's authenticate and optionalAuth never renew (their caller may drop the headers); protect does", async () => {
    const w = await world();
    w.clock.advance(16 * MINUTE);
    const who = await w.latchkey.authenticate(get("/host", w.cookie), IP);
    expect(who.headers.getSetCookie()).toEqual([]);
    const maybe = await w.latchkey.optionalAuth(get("/host", w.cookie), IP);
    expect(maybe.headers.getSetCookie()).toEqual([]);
    // The old cookie is still the only secret: protect renews, and says so.
    w.clock.advance(MINUTE);
    const answer = await w.latchkey.protect(get("/host", w.cookie), IP, async () => new Response("ok"));
    expect(answer.status).toBe(200);
    expect(sidOf(answer.headers.getSetCookie())).toBeDefined();
  });

  it("finding 2: a request another site sent (Sec-Fetch-Site: cross-site or same-site) never renews", async () => {
    const w = await world();
    w.clock.advance(16 * MINUTE);
    for (const site of ["cross-site", "same-site"]) {
      const answer = await w.latchkey.handle(get("/auth/me", w.cookie, { "sec-fetch-site": site }), IP);
      expect([site, answer?.status, sidOf(answer?.headers.getSetCookie() ?? [])]).toEqual([site, 200, undefined]);
      w.clock.advance(MINUTE);
    }
    const own = await w.latchkey.handle(get("/auth/me", w.cookie, { "sec-fetch-site": "same-origin" }), IP);
    expect(sidOf(own?.headers.getSetCookie() ?? [])).toBeDefined();
  });

  it("finding 3: under hybrid, the session cookie renews when due, although access-token requests recorded the use", async () => {
    const w = await world("hybrid", "hyb");
    let cookie = w.cookie;
    let renewed = false;
    // A request every 30 s for up to 40 minutes: the access cookie lives 10 min, so the
    // session cookie is read at 10, 20 and 30 minutes; renewal is due from 15.
    for (let i = 0; i < 80 && !renewed; i++) {
      w.clock.advance(MINUTE / 2);
      const answer = await w.latchkey.handle(get("/auth/me", cookie), IP);
      expect(answer?.status).toBe(200);
      const lines = answer?.headers.getSetCookie() ?? [];
      renewed ||= sidOf(lines) !== undefined;
      const jar = new Map(cookie.split("; ").map((pair) => [pair.split("=")[0], pair] as const));
      for (const line of lines) jar.set(line.split("=")[0] as string, line.split(";")[0] as string);
      cookie = [...jar.values()].join("; ");
    }
    expect(renewed).toBe(true);
  });

  it("finding 8: a request that loses a renewal race to a password change is refused, not let in", async () => {
    const w = await world("session", "racer");
    w.clock.advance(16 * MINUTE);
    const store = w.auth.stores.sessions;
    const renew = store.renewSecret.bind(store);
    // The password change lands between this request's read and its renewal.
    store.renewSecret = async (id, expected, renewal) => {
      await store.replaceSecret(id, "replaced-by-a-password-change", w.clock.now());
      return renew(id, expected, renewal);
    };
    const answer = await w.latchkey.handle(get("/auth/me", w.cookie), IP);
    expect(answer?.status).toBe(401);
  });

  it("finding 11: createAuth refuses a renewal policy the server's settings would refuse", async () => {
    for (const [rotateInterval, rotateGrace, message] of [
      [-1, 30, /rotateInterval must be a whole number/],
      [900, 0, /rotateGrace must be a whole number of seconds, 1 or more/],
      [900, Number.NaN, /rotateGrace must be a whole number/],
      [30, 30, /rotateGrace must be less than sessions.rotateInterval/],
    ] as const) {
      await expect(
        hostCore(createMemoryStores(), { sessions: { ...DEFAULT_SESSION_POLICY, rotateInterval, rotateGrace } }),
      ).rejects.toThrow(message);
    }
  });

  it("createAuth refuses an end-reason lifetime the server's settings would refuse", async () => {
    for (const endReasonTtl of [0, 59, 2_592_001, 90.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        hostCore(createMemoryStores(), { sessions: { ...DEFAULT_SESSION_POLICY, endReasonTtl } }),
      ).rejects.toThrow(/endReasonTtl must be a whole number of seconds, 60 to 2592000/);
    }
  });

  it("createAuth refuses a session cap the server's settings would refuse (0, a fraction, no cap at all)", async () => {
    for (const maxPerUser of [0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        hostCore(createMemoryStores(), { sessions: { ...DEFAULT_SESSION_POLICY, maxPerUser } }),
      ).rejects.toThrow(/maxPerUser must be a whole number of sessions, 1 or more/);
    }
    await expect(
      hostCore(createMemoryStores(), { sessions: { ...DEFAULT_SESSION_POLICY, maxPerUser: 1 } }),
    ).resolves.toBeDefined();
  });
});
