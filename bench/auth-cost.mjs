#!/usr/bin/env node
/**
 * What one authentication check costs in each strategy, in-process on SQLite (no HTTP):
 *   session: SessionManager.validate  (parse, one indexed read, SHA-256, compare)
 *   jwt:     AccessTokens.verify      first sight: signature + claims + revocation set;
 *                                      seen before: the verified-token cache + expiry + revocation set
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
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
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
      fresh.push(
        (await auth.accessTokens.issue({ userId: user.id, sessionId: session.id, notAfter: session.expiresAt })).token,
      );
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
} finally {
  rmSync(dir, { recursive: true, force: true });
}
