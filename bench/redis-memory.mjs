#!/usr/bin/env node
/**
 * Redis memory per session: creates N sessions (and, for the token strategies, one
 * refresh token each) through latchkey's Redis store under a fresh key prefix, and divides
 * the growth of INFO used_memory by N. Users have SESSIONS_PER_USER sessions each
 * (default 3: a laptop, a phone, a tablet), so the per-user index is counted too. Run
 * after `npm run build`:
 *   node bench/redis-memory.mjs [N]    (REDIS_URL, default redis://127.0.0.1:6379)
 *   node bench/redis-memory.mjs 200    # a smoke run: too few sessions to measure anything
 * It imports the built packages by their published names (`latchkey/redis`,
 * `latchkey/memory`), as a user's code would.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createMemoryStores } from "latchkey/memory";
import { openRedisStores } from "latchkey/redis";
import { deleteKeysWithPrefix, fillerSession, keysWithPrefix } from "./lib.mjs";

const N = Number(process.argv[2] ?? 20_000);
if (!Number.isInteger(N) || N < 1) {
  console.error(`usage: node bench/redis-memory.mjs [sessions]: a whole number of sessions, not ${process.argv[2]}`);
  process.exit(2);
}
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// A prefix as long as the default `lk:`, so key sizes are a deployment's; checked unused.
const letters = "abcdefghijklmnopqrstuvwxyz";
const pick = () => letters[randomBytes(1)[0] % 26];
const prefix = `${pick()}${pick()}:`;
const admin = new Redis(url);
for await (const _ of keysWithPrefix(admin, prefix)) {
  console.error(`keys with the prefix ${prefix} exist already; run again`);
  process.exit(1);
}
const used = async () => Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
const base = createMemoryStores();
const stores = await openRedisStores({ url, base, prefix });
const now = Date.now();
const PER_USER = Number(process.env.SESSIONS_PER_USER ?? 3);
let users = 0;
async function userFor(i) {
  const index = Math.floor(i / PER_USER);
  if (index >= users) {
    await base.users.create({
      id: `0194d2c6-0000-7000-8000-${String(index).padStart(12, "0")}`,
      username: `user${index}`,
      passwordHash: "x",
      createdAt: now,
      disabledAt: null,
      roles: ["user"],
      rolesAt: now,
    });
    users = index + 1;
  }
  return `0194d2c6-0000-7000-8000-${String(index).padStart(12, "0")}`;
}
const id = () => randomBytes(16).toString("base64url");
const hash = () => randomBytes(32).toString("base64url");

async function measure(label, withRefresh) {
  await admin.call("MEMORY", "PURGE").catch(() => {});
  const before = await used();
  for (let i = 0; i < N; i++) {
    const session = fillerSession(await userFor(i), now, withRefresh ? "jwt" : "session");
    await stores.sessions.create(session);
    if (withRefresh) {
      await stores.refreshTokens.create({
        id: id(),
        sessionId: session.id,
        secretHash: hash(),
        createdAt: now,
        expiresAt: now + 1_800_000,
        rotatedAt: null,
      });
    }
  }
  const after = await used();
  const perSession = (after - before) / N;
  console.log(`${label.padEnd(40)} ${perSession.toFixed(0).padStart(6)} bytes/session  (${N} sessions)`);
  return perSession;
}

try {
  await measure("cookie session", false);
  await measure("session + refresh token (jwt)", true);
} finally {
  await deleteKeysWithPrefix(admin, prefix);
  await stores.close();
  admin.disconnect();
}
