#!/usr/bin/env node
/**
 * Scale (`npm run bench:scale`): `GET /auth/me` with 1,000 and with 1,000,000 live
 * sessions in the store, on SQLite and on PostgreSQL + Redis (when reachable), and the
 * sweep of 1,000,000 expired SQLite rows under load. The two store sizes run side by
 * side (two files, or two Redis key prefixes, each with its server) and are loaded in
 * turn, round after round, so the machine's drift falls on both alike. Targets: a million sessions cost
 * less than 10% of the throughput of a thousand; the sweep never delays a request by more
 * than 50 ms (the server's event-loop delay, from a preloaded monitorEventLoopDelay
 * probe, and the slowest request seen while it runs). Run after `npm run build`.
 *
 *   npm run bench:scale
 *   SCALE_SESSIONS=200000 npm run bench:scale   # a smaller "large" store
 *   SCALE_PARTS=sweep npm run bench:scale       # only the sweep (or sqlite, redis)
 *   SCALE_VERBOSE=1                             # print each 2 s window of the sweep
 *   SCALE_QUIET_SECONDS=20                      # the window of load before the sweep starts
 *   BENCH_SECONDS=1 BENCH_ROUNDS=1 SCALE_SESSIONS=5000 SCALE_QUIET_SECONDS=2 npm run bench:scale
 *                                               # a smoke run (test/docs/bench-commands.test.ts): measures nothing
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, statSync } from "node:fs";
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
const WARM_UP_SECONDS = Math.min(2, SECONDS);
/** The sweep's part: a warm-up, a quiet window of load, then the first sweep, under load. */
const SWEEP_WARM_UP_SECONDS = Math.min(4, SECONDS);
const QUIET_SECONDS = Number(process.env.SCALE_QUIET_SECONDS ?? 20);
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

/**
 * `GET /auth/me` on two servers, one over the small store and one over the large, loaded
 * in turn for ROUNDS rounds: this VM's speed drifts by a third over minutes, so the two
 * are compared within each round, and the loss is the median of the rounds' losses.
 */
async function compare(small, large) {
  for (const s of [small, large]) await load(`${s.server.base}/auth/me`, s.cookie, WARM_UP_SECONDS);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pair = [];
    for (const s of r % 2 ? [large, small] : [small, large]) {
      const result = await load(`${s.server.base}/auth/me`, s.cookie, SECONDS);
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
      pair[s === small ? 0 : 1] = result.requests.average;
    }
    rounds.push({ small: pair[0], large: pair[1] });
  }
  return {
    small: { rps: median(rounds.map((r) => r.small)), ...memoryOf(small.server.pid) },
    large: { rps: median(rounds.map((r) => r.large)), ...memoryOf(large.server.pid) },
    loss: median(rounds.map((r) => 1 - r.large / r.small)),
    rounds,
  };
}

/** A server's resident memory now and at its peak (MB), after the rounds. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { rssMb: mb("VmRSS"), peakRssMb: mb("VmHWM") };
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
  let results = {};
  if (PARTS.has("sqlite")) {
    // The small store in a file of its own, beside the large one, each with its server.
    const smallFile = `${file}-small`;
    const small = { server: await startServer({ DATABASE_URL: `sqlite:${smallFile}`, SWEEP_INTERVAL: "86400" }) };
    const large = { server: await startServer({ DATABASE_URL: `sqlite:${file}`, SWEEP_INTERVAL: "86400" }) };
    try {
      small.cookie = await signIn(small.server.base);
      large.cookie = await signIn(large.server.base);
      fillSqlite(smallFile, SMALL);
      const t0 = Date.now();
      fillSqlite(file, LARGE);
      process.stderr.write(`  (filled ${LARGE} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      results = await compare(small, large);
      results.fileMb = {
        small: statSync(smallFile).size / 2 ** 20,
        large: statSync(file).size / 2 ** 20,
      };
      process.stderr.write(
        `  SQLite: ${JSON.stringify(results.rounds.map((r) => [Math.round(r.small), Math.round(r.large)]))}\n`,
      );
    } finally {
      await small.server.stop();
      await large.server.stop();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${smallFile}${suffix}`, { force: true });
    }
  }
  let server = await startServer({ DATABASE_URL: `sqlite:${file}`, SWEEP_INTERVAL: "86400" });
  try {
    const cookie = await signIn(server.base);
    if (!PARTS.has("sqlite")) fillSqlite(file, LARGE);
    await server.stop();
    if (!PARTS.has("sweep")) return results;

    // The sweep: a million expired rows next to the live ones, swept while under load.
    fillSqlite(file, LARGE, { expired: true });
    // The first sweep starts 30 s after the start (by default): warm-up (4 s) and a quiet
    // window (20 s) first.
    const firstSweep = SWEEP_WARM_UP_SECONDS + QUIET_SECONDS + 6;
    server = await startServer({ DATABASE_URL: `sqlite:${file}`, SWEEP_INTERVAL: String(firstSweep) });
    await load(`${server.base}/auth/me`, cookie, SWEEP_WARM_UP_SECONDS);
    await server.eventLoop(); // start and warm-up: not part of the measured windows
    const quiet = await steadyLoad(server, cookie, () => false, QUIET_SECONDS);
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
  const { packSession, sessionKeys } = await import("../packages/latchkey/dist/stores/redis/session-codec.js");
  const keys = sessionKeys(prefix);
  const now = Date.now();
  // Written as the store's `create` writes them (the same packed value, key, index and
  // expiries), pipelined 10,000 at a time: the store's API, one user lookup and one MULTI
  // per session, would take a quarter of an hour for a million.
  const fill = async (total, into) => {
    let have = 1; // the signed-in session
    while (have < total) {
      const pipeline = redis.pipeline();
      const n = Math.min(10_000, total - have);
      for (let i = 0; i < n; i++) {
        const k = have + i;
        const user = `0194d2c6-0000-7000-8000-${String(Math.floor(k / 3)).padStart(12, "0")}`;
        const session = fillerSession(user, now);
        const packed = packSession(session, {
          id: user,
          username: `f${k}`,
          createdAt: now,
          disabledAt: null,
          roles: ["user"],
          rolesAt: now,
        });
        pipeline
          .set(into.session(session.id), Buffer.from(packed), "PXAT", session.idleExpiresAt)
          .hset(into.userIndex(user), session.id, "")
          .pexpireat(into.userIndex(user), session.expiresAt, "NX");
      }
      await pipeline.exec();
      have += n;
    }
  };
  let results = {};
  const url = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  // The small store under a key prefix of its own, with its own server.
  const smallPrefix = `${prefix}small:`;
  const small = { server: await startServer({ DATABASE_URL: url, REDIS_URL, REDIS_KEY_PREFIX: smallPrefix }) };
  const server = await startServer({ DATABASE_URL: url, REDIS_URL, REDIS_KEY_PREFIX: prefix });
  const large = { server };
  try {
    small.cookie = await signIn(small.server.base);
    large.cookie = await signIn(server.base);
    await fill(SMALL, sessionKeys(smallPrefix));
    const usedMemory = async () => Number((await redis.info("memory")).match(/used_memory:(\d+)/)[1]);
    const memoryBefore = await usedMemory();
    const t0 = Date.now();
    await fill(LARGE, keys);
    const bytesPerSession = ((await usedMemory()) - memoryBefore) / (LARGE - 1);
    process.stderr.write(
      `  (filled ${LARGE} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${bytesPerSession.toFixed(0)} bytes each in Redis)\n`,
    );
    results = { ...(await compare(small, large)), bytesPerSession };
    process.stderr.write(
      `  PostgreSQL + Redis: ${JSON.stringify(results.rounds.map((r) => [Math.round(r.small), Math.round(r.large)]))}\n`,
    );
  } finally {
    await small.server.stop();
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
  `${name.padEnd(22)}${r.small.rps.toFixed(0).padStart(12)}${r.large.rps.toFixed(0).padStart(16)}${`${(r.loss * 100).toFixed(1)}%`.padStart(10)}`;
if (sqlite?.small || redis) {
  console.log(
    `\n${"store".padEnd(22)}${`${SMALL} req/s`.padStart(12)}${`${LARGE} req/s`.padStart(16)}${"loss".padStart(10)}`,
  );
}
if (sqlite?.small) console.log(row("SQLite", sqlite));
const memory = (name, r) =>
  `${name}: RSS ${r.small.rssMb.toFixed(0)} MB (peak ${r.small.peakRssMb.toFixed(0)}) at ${SMALL} sessions, ` +
  `${r.large.rssMb.toFixed(0)} MB (peak ${r.large.peakRssMb.toFixed(0)}) at ${LARGE}`;
if (sqlite?.small) {
  console.log(
    `${memory("SQLite", sqlite)}; the files ${sqlite.fileMb.small.toFixed(1)} and ${sqlite.fileMb.large.toFixed(1)} MB`,
  );
}
if (redis) console.log(memory("PostgreSQL + Redis (the latchkey process)", redis));
if (redis) {
  console.log(row("PostgreSQL + Redis", redis));
  console.log(`Redis memory: ${redis.bytesPerSession.toFixed(0)} bytes per session at ${LARGE} sessions`);
}
if (sqlite?.sweep) {
  const s = sqlite.sweep;
  console.log(
    `\nbefore the sweep (${QUIET_SECONDS} s): slowest request ${sqlite.beforeSweep.maxLatencyMs} ms, ${sqlite.beforeSweep.over50Ms} of ${sqlite.beforeSweep.requests} over 50 ms, p99 ${sqlite.beforeSweep.p99Ms} ms; ` +
      `event-loop delay max ${sqlite.beforeSweep.eventLoopMaxMs} ms, p99 ${sqlite.beforeSweep.eventLoopP99Ms} ms`,
  );
  console.log(
    `sweep of ${s.rows} expired SQLite rows under load: ${s.seconds.toFixed(1)} s; slowest request ${s.maxLatencyMs} ms, ${s.over50Ms} of ${s.requests} over 50 ms, ` +
      `p99 ${s.p99Ms} ms; event-loop delay max ${s.eventLoopMaxMs} ms, p99 ${s.eventLoopP99Ms} ms; ${s.non2xx} non-2xx`,
  );
}
