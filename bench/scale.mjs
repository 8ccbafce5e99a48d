#!/usr/bin/env node
/**
 * Scale (`npm run bench:scale`): `GET /auth/me` with 1,000 and with 1,000,000 live
 * sessions in the store, on SQLite and on PostgreSQL + Redis (when reachable), and the
 * sweep of 1,000,000 expired SQLite rows under load. Targets: a million sessions cost
 * less than 10% of the throughput of a thousand; the sweep never delays a request by more
 * than 50 ms (the server's event-loop delay, from a preloaded monitorEventLoopDelay
 * probe, and the slowest request seen while it runs). Run after `npm run build`.
 *
 *   npm run bench:scale
 *   SCALE_SESSIONS=200000 npm run bench:scale   # a smaller "large" store
 *   SCALE_PARTS=sweep npm run bench:scale       # only the sweep (or sqlite, redis)
 *   SCALE_VERBOSE=1                             # print each 2 s window of the sweep
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import SQLite from "better-sqlite3";
import { Redis } from "ioredis";
import pg from "pg";
import {
  deleteKeysWithPrefix,
  FILLER_AGENT,
  fillerSession,
  postgresReachable,
  redisReachable,
  startProbedServer,
} from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LARGE = Number(process.env.SCALE_SESSIONS ?? 1_000_000);
const SMALL = 1_000;
/** What to run: `sqlite` (1k vs 1M), `sweep` (1M expired rows under load), `redis` (1k vs 1M). */
const PARTS = new Set((process.env.SCALE_PARTS ?? "sqlite,sweep,redis").split(","));
const PASSWORD = "correct horse battery staple";
const ORIGIN = "http://localhost:1";
const PG_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const startServer = (env) => startProbedServer({ PUBLIC_ORIGIN: ORIGIN, ...env });

async function signIn(base) {
  const headers = { "content-type": "application/json", origin: ORIGIN };
  const body = JSON.stringify({ username: `scale${randomBytes(3).toString("hex")}`, password: PASSWORD });
  await fetch(`${base}/auth/register`, { method: "POST", headers, body });
  const login = await fetch(`${base}/auth/login`, { method: "POST", headers, body });
  if (!login.ok) throw new Error(`login answered ${login.status}`);
  return login.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

const load = (url, cookie, seconds) =>
  new Promise((resolve, reject) =>
    autocannon({ url, headers: { cookie }, connections: 50, duration: seconds }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  );
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput(server, cookie) {
  await load(`${server.base}/auth/me`, cookie, 2);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const result = await load(`${server.base}/auth/me`, cookie, SECONDS);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    rounds.push({ rps: result.requests.average, p99: result.latency.p99 });
  }
  return { rps: median(rounds.map((r) => r.rps)), p99: median(rounds.map((r) => r.p99)) };
}

/**
 * One autocannon run on kept-alive connections (as behind a load balancer) until `done()`
 * or `maxSeconds`, timing every response, and reading the server's event-loop delay every
 * two seconds.
 */
async function steadyLoad(server, cookie, done, maxSeconds) {
  const instance = autocannon({
    url: `${server.base}/auth/me`,
    headers: { cookie },
    connections: 50,
    duration: maxSeconds,
  });
  let slowest = 0;
  let over50 = 0;
  instance.on("response", (_client, _status, _bytes, ms) => {
    if (ms > slowest) slowest = ms;
    if (ms > 50) over50 += 1;
  });
  // Without a callback, autocannon's instance is a thenable of its result.
  const finished = new Promise((resolve, reject) => instance.then(resolve, reject));
  const windows = [];
  let over = false;
  void finished.then(() => {
    over = true;
  });
  while (!over) {
    await Promise.race([finished, new Promise((r) => setTimeout(r, 2000))]);
    windows.push(await server.eventLoop());
    if (process.env.SCALE_VERBOSE) process.stderr.write(`  window: ${JSON.stringify(windows.at(-1))}\n`);
    if (!over && done()) instance.stop();
  }
  const result = await finished;
  return { result, slowest, over50, windows };
}

const summary = ({ result, slowest, over50, windows }) => ({
  maxLatencyMs: Number(slowest.toFixed(1)),
  over50Ms: over50,
  requests: result.requests.total,
  p99Ms: result.latency.p99,
  eventLoopMaxMs: Math.max(...windows.map((w) => w.max)),
  eventLoopP99Ms: Math.max(...windows.map((w) => w.p99)),
  gcPauseMaxMs: Math.max(...windows.map((w) => w.gc.maxMs)),
  non2xx: result.non2xx,
});

const id = () => randomBytes(16).toString("base64url");
const fakeHash = () => randomBytes(32).toString("base64url");

/** Adds sessions of filler users straight into the SQLite file until it holds `total`. */
function fillSqlite(file, total, { expired = false } = {}) {
  const db = new SQLite(file);
  db.pragma("busy_timeout = 10000");
  const now = Date.now();
  const count = () => db.prepare("select count(*) from sessions").pluck().get();
  const insertUser = db.prepare(
    "insert into users (id, username, password_hash, created_at, disabled_at) values (?, ?, 'x', ?, null)",
  );
  const insertSession = db.prepare(
    `insert into sessions (id, user_id, secret_hash, kind, remember, created_at, last_seen_at, expires_at,
       idle_timeout_ms, idle_expires_at, ip, user_agent) values (?, ?, ?, 'session', 0, ?, ?, ?, 1800000, ?, '203.0.113.7', ?)`,
  );
  let have = expired ? 0 : count();
  let user = "";
  const fill = db.transaction((n) => {
    for (let i = 0; i < n; i++) {
      // Three sessions per user, as on a laptop, a phone and a tablet.
      if (i % 3 === 0) {
        user = `0194d2c6-0000-7000-8000-${randomBytes(6).toString("hex")}`;
        insertUser.run(user, `filler-${user}`, now);
      }
      const start = expired ? now - 7_200_000 : now;
      insertSession.run(id(), user, fakeHash(), start, start, start + 43_200_000, start + 1_800_000, FILLER_AGENT);
    }
  });
  while (have < total) {
    const n = Math.min(50_000, total - have);
    fill(n);
    have += n;
  }
  db.close();
}

async function sqliteScale() {
  const file = join(tmpdir(), `latchkey-scale-${process.pid}.db`);
  const cleanup = () => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
  };
  cleanup();
  const results = {};
  let server = await startServer({ DATABASE_URL: `sqlite:${file}`, SWEEP_INTERVAL: "86400" });
  try {
    const cookie = await signIn(server.base);
    if (PARTS.has("sqlite")) {
      fillSqlite(file, SMALL);
      results.small = await throughput(server, cookie);
      process.stderr.write(`  SQLite, ${SMALL} sessions: ${results.small.rps.toFixed(0)} req/s\n`);
    }
    const t0 = Date.now();
    fillSqlite(file, LARGE);
    process.stderr.write(`  (filled ${LARGE} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    if (PARTS.has("sqlite")) {
      results.large = await throughput(server, cookie);
      process.stderr.write(`  SQLite, ${LARGE} sessions: ${results.large.rps.toFixed(0)} req/s\n`);
    }
    await server.stop();
    if (!PARTS.has("sweep")) return results;

    // The sweep: a million expired rows next to the live ones, swept while under load.
    fillSqlite(file, LARGE, { expired: true });
    // The first sweep starts 30 s after the start: warm-up (4 s) and a quiet window (20 s) first.
    server = await startServer({ DATABASE_URL: `sqlite:${file}`, SWEEP_INTERVAL: "30" });
    await load(`${server.base}/auth/me`, cookie, 4);
    await server.eventLoop(); // start and warm-up: not part of the measured windows
    const quiet = await steadyLoad(server, cookie, () => false, 20);
    results.beforeSweep = summary(quiet);
    const watcher = new SQLite(file, { readonly: true });
    const before = watcher.prepare("select count(*) from sessions where idle_expires_at <= ?").pluck().get(Date.now());
    // One index probe, not a count: this process is also the load generator, and a count
    // of a million rows every 100 ms would stall it and show up as slow requests.
    const anyExpired = watcher.prepare("select exists (select 1 from sessions where idle_expires_at <= ?)").pluck();
    const started = Date.now();
    let swept = null;
    const sweepDone = (async () => {
      while (anyExpired.get(Date.now()) === 1) await new Promise((r) => setTimeout(r, 100));
      swept = (Date.now() - started) / 1000;
    })();
    const during = await steadyLoad(server, cookie, () => swept !== null, 600);
    await sweepDone;
    watcher.close();
    results.sweep = { rows: before, seconds: swept, ...summary(during) };
    process.stderr.write(`  sweep: ${JSON.stringify(results.sweep)}\n`);
  } finally {
    await server.stop();
    cleanup();
  }
  return results;
}

async function redisScale() {
  const schema = `lkscale_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const prefix = `lkscale:${randomBytes(4).toString("hex")}:`;
  const redis = new Redis(REDIS_URL);
  const { packSession, sessionKeys } = await import("../dist/stores/redis/index.js");
  const keys = sessionKeys(prefix);
  const now = Date.now();
  let have = 1; // the signed-in session
  // Written as the store's `create` writes them (the same packed value, key, index and
  // expiries), pipelined 10,000 at a time: the store's API, one user lookup and one MULTI
  // per session, would take a quarter of an hour for a million.
  const fill = async (total) => {
    while (have < total) {
      const pipeline = redis.pipeline();
      const n = Math.min(10_000, total - have);
      for (let i = 0; i < n; i++) {
        const k = have + i;
        const user = `0194d2c6-0000-7000-8000-${String(Math.floor(k / 3)).padStart(12, "0")}`;
        const session = fillerSession(user, now);
        const packed = packSession(session, { id: user, username: `f${k}`, createdAt: now, disabledAt: null });
        pipeline
          .set(keys.session(session.id), Buffer.from(packed), "PXAT", session.idleExpiresAt)
          .hset(keys.userIndex(user), session.id, "")
          .pexpireat(keys.userIndex(user), session.expiresAt, "NX");
      }
      await pipeline.exec();
      have += n;
    }
  };
  const results = {};
  const url = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const server = await startServer({ DATABASE_URL: url, REDIS_URL, REDIS_KEY_PREFIX: prefix });
  try {
    const cookie = await signIn(server.base);
    await fill(SMALL);
    results.small = await throughput(server, cookie);
    process.stderr.write(`  PostgreSQL + Redis, ${SMALL} sessions: ${results.small.rps.toFixed(0)} req/s\n`);
    const usedMemory = async () => Number((await redis.info("memory")).match(/used_memory:(\d+)/)[1]);
    const memoryBefore = await usedMemory();
    const t0 = Date.now();
    await fill(LARGE);
    results.bytesPerSession = ((await usedMemory()) - memoryBefore) / (LARGE - SMALL);
    process.stderr.write(
      `  (filled ${LARGE} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${results.bytesPerSession.toFixed(0)} bytes each in Redis)\n`,
    );
    results.large = await throughput(server, cookie);
    process.stderr.write(`  PostgreSQL + Redis, ${LARGE} sessions: ${results.large.rps.toFixed(0)} req/s\n`);
  } finally {
    await server.stop();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema ${schema} cascade`);
    await c.end();
  }
  return results;
}

let sqlite = null;
if (PARTS.has("sqlite") || PARTS.has("sweep")) {
  process.stderr.write("SQLite…\n");
  sqlite = await sqliteScale();
}
let redis = null;
if (PARTS.has("redis") && (await postgresReachable(PG_URL)) && (await redisReachable(REDIS_URL))) {
  process.stderr.write("PostgreSQL + Redis…\n");
  redis = await redisScale();
}

const row = (name, r) =>
  `${name.padEnd(22)}${r.small.rps.toFixed(0).padStart(12)}${r.large.rps.toFixed(0).padStart(16)}${`${((1 - r.large.rps / r.small.rps) * 100).toFixed(1)}%`.padStart(10)}`;
if (sqlite?.small || redis) {
  console.log(
    `\n${"store".padEnd(22)}${`${SMALL} req/s`.padStart(12)}${`${LARGE} req/s`.padStart(16)}${"loss".padStart(10)}`,
  );
}
if (sqlite?.small) console.log(row("SQLite", sqlite));
if (redis) {
  console.log(row("PostgreSQL + Redis", redis));
  console.log(`Redis memory: ${redis.bytesPerSession.toFixed(0)} bytes per session at ${LARGE} sessions`);
}
if (sqlite?.sweep) {
  const s = sqlite.sweep;
  console.log(
    `\nbefore the sweep (20 s): slowest request ${sqlite.beforeSweep.maxLatencyMs} ms, ${sqlite.beforeSweep.over50Ms} of ${sqlite.beforeSweep.requests} over 50 ms, p99 ${sqlite.beforeSweep.p99Ms} ms; ` +
      `event-loop delay max ${sqlite.beforeSweep.eventLoopMaxMs} ms, p99 ${sqlite.beforeSweep.eventLoopP99Ms} ms`,
  );
  console.log(
    `sweep of ${s.rows} expired SQLite rows under load: ${s.seconds.toFixed(1)} s; slowest request ${s.maxLatencyMs} ms, ${s.over50Ms} of ${s.requests} over 50 ms, ` +
      `p99 ${s.p99Ms} ms; event-loop delay max ${s.eventLoopMaxMs} ms, p99 ${s.eventLoopP99Ms} ms; ${s.non2xx} non-2xx`,
  );
}
