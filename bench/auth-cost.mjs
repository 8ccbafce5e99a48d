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
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
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
