#!/usr/bin/env node
/**
 * What one authentication check costs in each strategy, in-process on SQLite (no HTTP):
 *   session: SessionManager.validate  (parse, one indexed read, SHA-256, compare)
 *   jwt:     AccessTokens.verify      first sight: signature + claims + revocation set;
 *                                      seen before: the verified-token cache + expiry + revocation set
 * Then a role check on a route (issue 27): one Fastify app, two `/auth/me`-like routes
 * answering who is signed in, one behind `requireAuth`, one behind
 * `requirePermission("users:read")`, each asked through `inject` with a session cookie and
 * with a bearer token, in alternating rounds: the difference is what the permission check
 * adds to a request (no store read: the roles come with the credential).
 * Then a session cookie's write of use (issue 28), on a frozen clock moved between checks,
 * in alternating rounds: a check with no write due; one whose touch is due (renewal off);
 * one whose touch is due and renews the secret. It prints the store calls of each: the
 * renewal must ride on the touch, never add a round trip.
 * Run after `npm run build`:  node bench/auth-cost.mjs
 * Prints microseconds per check (median of 5 rounds of 5,000 checks).
 *
 *   BENCH_ROUNDS=1 BENCH_CHECKS=200 node bench/auth-cost.mjs   # a smoke run: measures nothing
 *
 * It imports the built packages by their published names (`latchkey`, `latchkey/sqlite`),
 * as a user's code would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import {
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
  manualClock,
} from "latchkey";
import { latchkey } from "latchkey/fastify";
import { openSqliteStores } from "latchkey/sqlite";

const N = Number(process.env.BENCH_CHECKS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM_UP = Math.min(500, N);
const dir = mkdtempSync(join(tmpdir(), "latchkey-bench-"));

async function measure(label, fn) {
  for (let i = 0; i < WARM_UP; i++) await fn(); // warm up
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / N);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[Math.floor(ROUNDS / 2)];
  console.log(`${label.padEnd(34)} ${median.toFixed(1).padStart(7)} µs/check`);
  return median;
}

/** Two measures in alternating rounds, so a busy moment of the machine falls on both alike. */
async function measureSideBySide(...pairs) {
  for (const [, fn] of pairs) for (let i = 0; i < WARM_UP; i++) await fn();
  const rounds = pairs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [index, [, fn]] of pairs.entries()) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await fn();
      rounds[index].push(Number(process.hrtime.bigint() - start) / 1e3 / N);
    }
  }
  return pairs.map(([label], index) => {
    const sorted = rounds[index].sort((a, b) => a - b);
    const median = sorted[Math.floor(ROUNDS / 2)];
    console.log(`${label.padEnd(34)} ${median.toFixed(1).padStart(7)} µs/request`);
    return median;
  });
}

try {
  for (const alg of ["EdDSA", "ES256", "HS256"]) {
    const stores = await openSqliteStores({ path: join(dir, `${alg}.db`) });
    const auth = await createAuth({
      stores,
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: {
        ...DEFAULT_TOKEN_POLICY,
        alg,
        secret: alg === "HS256" ? "x".repeat(32) : undefined,
        issuer: "http://localhost:3000",
      },
    });
    const user = await auth.accounts.register("bench", "correct horse battery staple");
    const { session, token } = await auth.sessions.create({
      userId: user.id,
      kind: "session",
      remember: false,
      ip: "127.0.0.1",
      userAgent: "bench",
    });
    // Distinct tokens for the first-sight measure (every one needs a signature check).
    const fresh = [];
    for (let i = 0; i < (N + WARM_UP) * ROUNDS; i++) {
      fresh.push((await auth.accessTokens.issueFor(session, user)).token);
    }
    const seen = fresh[0];
    if (alg === "EdDSA") {
      await measure("session cookie (SQLite read)", () => auth.sessions.validate(token));
    }
    let next = 0;
    await measure(`access token ${alg}, first sight`, () => auth.accessTokens.verify(fresh[next++]));
    await measure(`access token ${alg}, seen before`, () => auth.accessTokens.verify(seen));
    await auth.close();
    await stores.close();
  }
  await guards();
  await renewal();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** `requireAuth` and `requirePermission` side by side on one app, through `inject`. */
async function guards() {
  const stores = await openSqliteStores({ path: join(dir, "guards.db") });
  const origin = "http://localhost:3000";
  const auth = await createAuth({
    stores,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: origin },
  });
  const app = Fastify({ logger: false });
  await app.register(latchkey, { auth, publicOrigin: origin, cookieSecure: false, maintenance: false });
  const who = async (request) => ({ user: request.auth.userId, roles: request.auth.roles });
  app.get("/plain", { preHandler: app.requireAuth }, who);
  app.get("/guarded", { preHandler: app.requirePermission("users:read") }, who);
  const user = await auth.accounts.register("guarded", "correct horse battery staple");
  await auth.admin.setRoles(user.id, ["admin"], { actor: null, ip: "", userAgent: "bench" });
  const login = (path) =>
    app.inject({
      method: "POST",
      url: path,
      headers: { origin, "content-type": "application/json" },
      payload: { username: "guarded", password: "correct horse battery staple" },
    });
  const cookie = (await login("/auth/login")).cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  const bearer = `Bearer ${(await login("/auth/token")).json().access_token}`;
  for (const [label, headers] of [
    ["session cookie", { cookie }],
    ["bearer token", { authorization: bearer }],
  ]) {
    const ask = (url) => async () => {
      const response = await app.inject({ method: "GET", url, headers });
      if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    };
    const [plain, guarded] = await measureSideBySide(
      [`${label}, requireAuth`, ask("/plain")],
      [`${label}, requirePermission`, ask("/guarded")],
    );
    console.log(
      `${`${label}: permission check adds`.padEnd(34)} ${(guarded - plain).toFixed(1).padStart(7)} µs/request (${((guarded / plain - 1) * 100).toFixed(1)}%)`,
    );
  }
  await app.close();
  await auth.close();
  await stores.close();
}

/**
 * A session cookie's check when no write is due, when the write of use (touch) is due, and
 * when that write also renews the secret: each on its own SQLite file and frozen clock,
 * moved before every check (by nothing, or by 901 s: past the touch interval and, where
 * renewal is on, the rotate interval). The renewing check presents the newest token, as a
 * browser would after taking the new cookie.
 */
async function renewal() {
  const policy = { ...DEFAULT_SESSION_POLICY, idleTimeout: 1e9, absoluteTimeout: 1e10 };
  const setUp = async (name, sessions, step) => {
    const stores = await openSqliteStores({ path: join(dir, `${name}.db`) });
    const calls = { findWithUser: 0, touch: 0, renewSecret: 0 };
    const real = stores.sessions;
    for (const method of Object.keys(calls)) {
      const inner = real[method].bind(real);
      real[method] = (...args) => {
        calls[method]++;
        return inner(...args);
      };
    }
    const clock = manualClock();
    const auth = await createAuth({
      stores,
      clock,
      sessions,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://localhost:3000" },
    });
    const user = await auth.accounts.register(name, "correct horse battery staple");
    let { token } = await auth.sessions.create({
      userId: user.id,
      kind: "session",
      remember: false,
      ip: "",
      userAgent: "bench",
    });
    let checks = 0;
    const check = async () => {
      clock.advance(step);
      checks++;
      // `check`, as the HTTP layer does for a session cookie (`validate` never renews).
      const valid = await auth.sessions.check(token, undefined, { renew: "with-use" });
      if (!valid || valid === "reuse_detected") throw new Error(`${name}: the session was refused`);
      token = valid.renewedToken ?? token;
    };
    const perCheck = () =>
      Object.entries(calls)
        .map(([method, count]) => `${method} ${(count / checks).toFixed(2)}`)
        .join(", ");
    return {
      check,
      perCheck,
      close: async () => {
        await auth.close();
        await stores.close();
      },
    };
  };
  const idle = await setUp("no-write", policy, 0);
  const touch = await setUp("touch", { ...policy, rotateInterval: 0 }, 901_000);
  const renew = await setUp("renew", policy, 901_000);
  const [, touched, renewed] = await measureSideBySide(
    ["session cookie, no write due", idle.check],
    ["session cookie, touch due", touch.check],
    ["session cookie, touch + renewal", renew.check],
  );
  console.log(`${"renewal adds to the touch".padEnd(34)} ${(renewed - touched).toFixed(1).padStart(7)} µs/request`);
  for (const [label, setup] of [
    ["no write due", idle],
    ["touch due", touch],
    ["touch + renewal", renew],
  ]) {
    console.log(`${`  store calls, ${label}`.padEnd(34)} ${setup.perCheck()} per check`);
    await setup.close();
  }
}
