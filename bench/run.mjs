#!/usr/bin/env node
/**
 * `npm run bench`: latchkey against its ceiling, its floors and its peers, in one run on
 * this machine. Each server runs in its own process; the load (autocannon, 50 connections)
 * comes from this one. Every server is started and warmed up first; then ROUNDS rounds
 * each measure every configuration in turn. The table reports medians over the rounds, and
 * the ratios of each configuration's requests per second to the ceiling's, to Express's
 * on the same route, to Better Auth's `getSession` (its defaults, and its cookie cache)
 * and, for a host app of Express, Hono or node:http mounting latchkey through its adapter,
 * to that framework's bare hello route and its floor, taken within each round. Results go
 * to bench/results/<timestamp>.json and .svg (BENCH_RESULTS names another folder).
 *
 *   npm run bench                # everything reachable (PostgreSQL and Redis if running)
 *   BENCH_SECONDS=3 npm run bench
 *   BENCH_ONLY='SQLite, /auth/me' BENCH_BEFORE=/tmp/before npm run bench
 *   BENCH_SECONDS=1 BENCH_ROUNDS=1 BENCH_ONLY='^session, SQLite, /auth/me$' npm run bench
 *                                # a smoke run (test/docs/bench-commands.test.ts): measures nothing
 *
 * BENCH_BEFORE names another checkout of latchkey, built (`npm run build` there): each
 * latchkey server configuration, and each host app through an adapter, is measured twice in
 * every round, this checkout's and that one's, side by side, so a change on the request path shows its before and after in
 * one run. BENCH_ONLY picks latchkey server configurations by name; the baselines, the peers
 * and the adapters' trio (hello, floor, latchkey in the framework) always run, but
 * BENCH_ADAPTERS=0 leaves the host apps and their frameworks' baselines out (twelve servers of
 * some thirty-five).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { renderChart } from "./chart.mjs";
import { freePort, postgresReachable, redisReachable } from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARM_UP_SECONDS = Math.min(2, SECONDS);
// BENCH_REWARM_SECONDS: unmeasured load on a server right before each of its measured windows.
const REWARM_SECONDS = Number(process.env.BENCH_REWARM_SECONDS ?? 0);
const CONNECTIONS = 50;
const PG_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const PASSWORD = "correct horse battery staple";
const here = new URL(".", import.meta.url).pathname;
const root = join(here, "..");
const RESULTS = process.env.BENCH_RESULTS ?? join(here, "results");

const reachable = {
  postgres: await postgresReachable(PG_URL),
  redis: await redisReachable(REDIS_URL),
};

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

function peakRssMb(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : 0;
}

async function start(command, env, cwd = root) {
  const port = await freePort();
  const proc = spawn(process.execPath, command, {
    cwd,
    env: { PATH: process.env.PATH, ...env, PORT: String(port), LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.status < 500,
      () => false,
    );
    const okMe =
      ok ||
      (await fetch(`${base}/auth/me`).then(
        () => true,
        () => false,
      ));
    if (okMe) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    proc,
    base,
    port,
    stop: () =>
      new Promise((resolve) => {
        proc.once("exit", resolve);
        proc.kill("SIGTERM");
      }),
  };
}

/** The server command of a checkout: packages/server/bin since the workspaces, bin/ before. */
function serverBin(checkout) {
  const current = join(checkout, "packages/server/bin/latchkey.js");
  return existsSync(current) ? current : join(checkout, "bin/latchkey.js");
}

async function cookieOf(response) {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

/** Starts a latchkey configuration and returns the request autocannon should repeat. */
async function prepareLatchkey(config) {
  const file = join(tmpdir(), `latchkey-bench-${randomBytes(4).toString("hex")}.db`);
  const cleanups = [
    async () => {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    },
  ];
  const env = { AUTH_STRATEGY: config.strategy ?? "session", DATABASE_URL: `sqlite:${file}` };
  if (config.postgres) {
    const schema = `lkbench_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    env.DATABASE_URL = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    });
  }
  if (config.redis) Object.assign(env, { REDIS_URL, REDIS_KEY_PREFIX: `lkbench:${randomBytes(4).toString("hex")}:` });
  // Access tokens outlive the run (every server is started before the first round, and a
  // long run could outlast the default ten minutes); nothing on the request path depends
  // on their lifetime. So do session secrets: renewed after the default fifteen minutes,
  // the secret autocannon keeps sending would end the session as stolen 30 s later (the
  // check for renewal still runs on every request, as it does by default).
  const checkout = config.before ?? root;
  const server = await start(
    [serverBin(checkout), "serve"],
    { ...env, PUBLIC_ORIGIN: "http://localhost:1", ACCESS_TOKEN_TTL: "3600", SESSION_ROTATE_INTERVAL: "86400" },
    checkout,
  );
  server.databaseUrl = env.DATABASE_URL;
  const headers = { "content-type": "application/json", origin: "http://localhost:1" };
  const username = `bench${randomBytes(3).toString("hex")}`;
  await fetch(`${server.base}/auth/register`, {
    method: "POST",
    headers,
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  let auth;
  if (config.bearer) {
    const tokens = await (
      await fetch(`${server.base}/auth/token`, {
        method: "POST",
        headers,
        body: JSON.stringify({ username, password: PASSWORD }),
      })
    ).json();
    auth = { authorization: `Bearer ${tokens.access_token}` };
  } else {
    const login = await fetch(`${server.base}/auth/login`, {
      method: "POST",
      headers,
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    const { csrfToken } = await login.clone().json();
    auth = { cookie: await cookieOf(login), "x-csrf-token": csrfToken };
  }
  for (let i = 0; i < 10; i++) {
    await fetch(`${server.base}/api/todos`, {
      method: "POST",
      headers: { ...headers, ...auth },
      body: JSON.stringify({ title: `to-do ${i}` }),
    });
  }
  return checked(config, server, auth, async () => {
    for (const c of cleanups) await c();
  });
}

/** A prepared server, once its route answers 200 to the credentials autocannon will repeat. */
async function checked(config, server, auth, cleanup) {
  const check = await fetch(`${server.base}${config.path}`, { headers: auth });
  if (check.status !== 200) throw new Error(`${config.name}: ${config.path} answered ${check.status}`);
  return { server, headers: auth, cleanup };
}

async function prepareExpress() {
  const server = await start(["bench/servers/express.mjs"], {});
  const login = await fetch(`${server.base}/login`, { method: "POST" });
  return { server, headers: { cookie: await cookieOf(login) }, cleanup: async () => {} };
}

/**
 * The floors: a latchkey session (with its ten to-dos) is created in a SQLite file or a
 * PostgreSQL schema, then a bare Fastify server with the store's prepared reads
 * (bench/servers/floor.mjs, floor-postgres.mjs) answers for it. What a cookie session on
 * that store cannot go below on this machine.
 */
async function prepareFloor(config) {
  const { server, headers, cleanup } = await prepareLatchkey({
    name: config.name,
    strategy: "session",
    postgres: config.postgres,
    path: config.path,
  });
  await server.stop();
  // An adapter's framework has its own floor (bench/servers/<framework>-floor.mjs) on the
  // same kind of SQLite file and cookie.
  const script = config.framework
    ? `bench/servers/${config.framework}-${config.bound ? "bridge-floor" : "floor"}.mjs`
    : "bench/servers/floor.mjs";
  const floor = config.postgres
    ? await start(["bench/servers/floor-postgres.mjs"], { DATABASE_URL: server.databaseUrl })
    : await start([script], {
        DATABASE_FILE: server.databaseUrl.slice("sqlite:".length),
        ...(config.io && { LATCHKEY_IO: "1" }),
      });
  return { server: floor, headers: { cookie: headers.cookie }, cleanup };
}

/**
 * The ceiling with latchkey's I/O: the cookies and the `/auth/me` answer of a `jwt`
 * login, served by bench/servers/ceiling-io.mjs with no authentication.
 */
async function prepareCeilingIo() {
  const { server, headers, cleanup } = await prepareLatchkey({ name: "ceiling-io", strategy: "jwt", path: "/auth/me" });
  const body = await (await fetch(`${server.base}/auth/me`, { headers })).text();
  await server.stop();
  const io = await start(["bench/servers/ceiling-io.mjs"], { BODY: body });
  return { server: io, headers: { cookie: headers.cookie }, cleanup };
}

async function prepareCeiling() {
  const server = await start(["bench/servers/ceiling.mjs"], {});
  return { server, headers: {}, cleanup: async () => {} };
}

/**
 * A host app of Express, Hono or node:http mounting latchkey through its adapter
 * (bench/servers/<framework>-latchkey.mjs), cookie sessions on a SQLite file: an account
 * registered and signed in through its own routes, as a browser would.
 */
async function prepareAdapter(config) {
  const file = join(tmpdir(), `latchkey-bench-${randomBytes(4).toString("hex")}.db`);
  const origin = "http://localhost:1";
  const server = await start(
    [adapterScript(config)],
    { DATABASE_FILE: file, PUBLIC_ORIGIN: origin },
    config.before ?? root,
  );
  const headers = { "content-type": "application/json", origin };
  const body = JSON.stringify({ username: `bench${randomBytes(3).toString("hex")}`, password: PASSWORD });
  const register = await fetch(`${server.base}/auth/register`, { method: "POST", headers, body });
  const login = await fetch(`${server.base}/auth/login`, { method: "POST", headers, body });
  if (!register.ok || !login.ok)
    throw new Error(`${config.name}: register answered ${register.status}, login ${login.status}`);
  return checked(config, server, { cookie: await cookieOf(login) }, async () => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
  });
}

/** The host app of an adapter's configuration: bench/servers/<framework>-latchkey.mjs by default. */
function adapterScript(config) {
  return `bench/servers/${config.script ?? `${config.framework}-latchkey`}.mjs`;
}

/** A framework's bare hello route (bench/servers/<framework>-hello.mjs). */
async function prepareHello(config) {
  const server = await start([`bench/servers/${config.framework}-hello.mjs`], {});
  return { server, headers: {}, cleanup: async () => {} };
}

/**
 * The peer, Better Auth, on a SQLite file (bench/servers/better-auth.mjs): an account
 * signed up and signed in through its email-and-password routes, and its session cookies
 * (with the cookie cache, two) on `GET /auth/me`, which answers `auth.api.getSession`.
 */
async function prepareBetterAuth(config) {
  const file = join(tmpdir(), `latchkey-bench-${randomBytes(4).toString("hex")}.db`);
  const server = await start(["bench/servers/better-auth.mjs"], {
    DATABASE_FILE: file,
    COOKIE_CACHE: config.cookieCache ? "1" : "0",
  });
  const headers = { "content-type": "application/json", origin: server.base };
  const account = { email: "bench@example.com", password: PASSWORD };
  const signUp = await fetch(`${server.base}/api/auth/sign-up/email`, {
    method: "POST",
    headers,
    body: JSON.stringify({ ...account, name: "bench" }),
  });
  const signIn = await fetch(`${server.base}/api/auth/sign-in/email`, {
    method: "POST",
    headers,
    body: JSON.stringify(account),
  });
  if (!signUp.ok || !signIn.ok)
    throw new Error(`${config.name}: sign-up answered ${signUp.status}, sign-in ${signIn.status}`);
  const auth = { cookie: await cookieOf(signIn) };
  const check = await fetch(`${server.base}${config.path}`, { headers: auth });
  const answer = check.status === 200 ? await check.json() : null;
  if (answer?.user?.email !== account.email)
    throw new Error(`${config.name}: ${config.path} answered ${check.status}, not the user`);
  return {
    server,
    headers: auth,
    cleanup: async () => {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    },
  };
}

function load(url, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections: CONNECTIONS, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function prepare(config) {
  const prepared =
    config.kind === "ceiling"
      ? await prepareCeiling()
      : config.kind === "express"
        ? await prepareExpress()
        : config.kind === "floor"
          ? await prepareFloor(config)
          : config.kind === "ceiling-io"
            ? await prepareCeilingIo()
            : config.kind === "hello"
              ? await prepareHello(config)
              : config.kind === "adapter"
                ? await prepareAdapter(config)
                : config.kind === "better-auth"
                  ? await prepareBetterAuth(config)
                  : await prepareLatchkey(config);
  return { ...prepared, config, url: `${prepared.server.base}${config.path}`, rounds: [] };
}

async function measureRound(prepared) {
  const { server, headers, url, config } = prepared;
  if (REWARM_SECONDS > 0) await load(url, headers, REWARM_SECONDS);
  const cpuBefore = cpuSeconds(server.proc.pid);
  const result = await load(url, headers, SECONDS);
  const cpu = (cpuSeconds(server.proc.pid) - cpuBefore) / SECONDS;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${config.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpu };
}

/** Whether a configuration is latchkey's (its server, or a host app through an adapter). */
const isLatchkey = (config) => !config.kind || config.kind === "adapter";

/** The targets of a latchkey configuration (none for a baseline). */
function targetsOf(config) {
  if (!isLatchkey(config)) return {};
  const betterAuth = config.path === "/auth/me" ? { ratioToBetterAuth: BETTER_AUTH_TARGET } : {};
  if (config.kind === "adapter") return { ratioToFloor: config.target, ratioToExpress: EXPRESS_TARGET, ...betterAuth };
  return {
    ...(config.target !== undefined && { ratioToCeiling: config.target }),
    ...(config.floor !== undefined && !config.before && { ratioToFloor: FLOOR_TARGET }),
    ratioToExpress: EXPRESS_TARGET,
    ...betterAuth,
  };
}

function summary(prepared) {
  const { config, rounds } = prepared;
  return {
    name: config.name,
    kind: config.kind ?? "latchkey",
    ...(config.framework ? { framework: config.framework } : {}),
    ...(config.bound ? { bound: true } : {}),
    ...(config.boundBy ? { boundBy: config.boundBy } : {}),
    ...(config.floor ? { floor: config.floor } : {}),
    path: config.path,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpu: median(rounds.map((r) => r.cpu)),
    peakRssMb: prepared.peakRssMb,
    targets: targetsOf(config),
    rounds,
  };
}

const ONLY = new RegExp(process.env.BENCH_ONLY ?? "");

// The targets of the issue that set up this bench: the ratios to the ceiling apply to
// `GET /auth/me` (the ceiling answers its shape), 4× Express to every latchkey route.
// Issue 33's: 8× Better Auth with its defaults on every `GET /auth/me`, and each adapter's
// host app 0.85 of its framework's floor.
const EXPRESS_TARGET = 4;
const BETTER_AUTH_TARGET = 8;
const ADAPTER_TARGET = 0.85;
const FLOOR_TARGET = 0.85;
const CEILING = "ceiling: bare Fastify";
const IO_CEILING = "ceiling with latchkey's I/O";
const SQLITE_FLOOR = "floor: Fastify + one SQLite read";
const SQLITE_FLOOR_IO = "floor with latchkey's I/O: + headers, csrfToken";
const TODO_FLOOR = "floor: Fastify + two SQLite reads, /api/todos";
const POSTGRES_FLOOR = "floor: Fastify + one PostgreSQL read";
const NODE_BRIDGE_BOUND = "bound: node:http + bridge + one SQLite read";
/** The frameworks whose latchkey adapter is measured against the framework alone. */
const FRAMEWORKS = [
  { framework: "express", label: "Express 5", adapter: "latchkey/express" },
  { framework: "hono", label: "Hono", adapter: "latchkey/hono" },
  { framework: "node", label: "node:http", adapter: "latchkey/fetch" },
];
const ADAPTERS = process.env.BENCH_ADAPTERS !== "0";
const CONFIGS = [
  { name: CEILING, kind: "ceiling", path: "/auth/me" },
  { name: "Express 5 + express-session, /auth/me", kind: "express", path: "/auth/me" },
  { name: "Express 5 + express-session, /api/todos", kind: "express", path: "/api/todos" },
  { name: IO_CEILING, kind: "ceiling-io", path: "/auth/me" },
  { name: SQLITE_FLOOR, kind: "floor", path: "/auth/me" },
  // The SQLite floor plus what the contract and the checklist add to every answer
  // (bench/servers/floor.mjs, LATCHKEY_IO=1): the bound of a cookie session's `/auth/me`.
  { name: SQLITE_FLOOR_IO, kind: "floor", io: true, path: "/auth/me" },
  { name: TODO_FLOOR, kind: "floor", path: "/api/todos" },
  { name: POSTGRES_FLOOR, kind: "floor", postgres: true, path: "/auth/me" },
  { name: "Better Auth (defaults), /auth/me", kind: "better-auth", path: "/auth/me" },
  { name: "Better Auth (cookie cache), /auth/me", kind: "better-auth", cookieCache: true, path: "/auth/me" },
  // A framework's rows name their baselines: its bare hello route (`hello`) and its floor.
  ...(ADAPTERS ? FRAMEWORKS : []).flatMap(({ framework, label, adapter }) => {
    const baselines = { hello: `hello: bare ${label}`, floor: `floor: ${label} + one SQLite read` };
    return [
      { name: baselines.hello, kind: "hello", framework, path: "/hello", ...baselines },
      { name: baselines.floor, kind: "floor", framework, path: "/auth/me", ...baselines },
      {
        name: `${label} + ${adapter}, /auth/me`,
        kind: "adapter",
        framework,
        path: "/auth/me",
        target: ADAPTER_TARGET,
        ...baselines,
        ...(framework === "node" && { boundBy: NODE_BRIDGE_BOUND }),
      },
      // node:http's floor writes to the response itself; latchkey/fetch cannot: its bound is
      // the same floor as a fetch-style handler through toNodeHandler (node-bridge-floor.mjs).
      // What does write to the response itself: latchkey/express's middleware on node:http.
      ...(framework === "node"
        ? [
            {
              name: "node:http + latchkey/express, /auth/me",
              kind: "adapter",
              framework,
              script: "node-native-latchkey",
              path: "/auth/me",
              target: ADAPTER_TARGET,
              ...baselines,
            },
            { name: NODE_BRIDGE_BOUND, kind: "floor", framework, bound: true, path: "/auth/me", ...baselines },
          ]
        : []),
    ];
  }),
  // latchkey/fastify in a bare Fastify app (no logger, no product hooks): Fastify's hello is
  // the ceiling, its floor the SQLite floor; ×bound is to the floor with latchkey's I/O.
  ...(ADAPTERS
    ? [
        {
          name: "Fastify + latchkey/fastify, /auth/me",
          kind: "adapter",
          framework: "fastify",
          path: "/auth/me",
          target: ADAPTER_TARGET,
          hello: CEILING,
          floor: SQLITE_FLOOR,
          boundBy: SQLITE_FLOOR_IO,
        },
      ]
    : []),
  // Issue 33: each configuration at 0.85 of what bounds it (FLOOR_TARGET), named by `floor`:
  // the store's floor for `session`, the to-do floor for the to-do routes, and for the token
  // strategies the ceiling with latchkey's I/O (no store read is theirs to make).
  {
    name: "session, SQLite, /auth/me",
    strategy: "session",
    path: "/auth/me",
    floor: SQLITE_FLOOR,
    boundBy: SQLITE_FLOOR_IO,
  },
  { name: "session, SQLite, /api/todos", strategy: "session", path: "/api/todos", floor: TODO_FLOOR },
  { name: "jwt, SQLite, /auth/me", strategy: "jwt", path: "/auth/me", floor: IO_CEILING },
  { name: "jwt, SQLite, /api/todos", strategy: "jwt", path: "/api/todos", floor: TODO_FLOOR },
  { name: "hybrid, SQLite, /auth/me", strategy: "hybrid", path: "/auth/me", floor: IO_CEILING },
  { name: "bearer, SQLite, /auth/me", bearer: true, path: "/auth/me", floor: IO_CEILING },
  { name: "bearer, SQLite, /api/todos", bearer: true, path: "/api/todos", floor: TODO_FLOOR },
  {
    name: "session, PostgreSQL, /auth/me",
    strategy: "session",
    postgres: true,
    path: "/auth/me",
    floor: POSTGRES_FLOOR,
  },
  {
    name: "session, PostgreSQL + Redis, /auth/me",
    strategy: "session",
    postgres: true,
    redis: true,
    path: "/auth/me",
    target: 0.45,
  },
  { name: "bearer, PostgreSQL + Redis, /api/todos", bearer: true, postgres: true, redis: true, path: "/api/todos" },
]
  .filter((c) => (!c.postgres || reachable.postgres) && (!c.redis || reachable.redis))
  // BENCH_ONLY=<regex> measures only the matching configurations (plus the baselines).
  .filter((c) => (c.kind ? true : ONLY.test(c.name)))
  // BENCH_BEFORE=<checkout>: each latchkey configuration (and host app through an adapter)
  // again, served by that checkout.
  .flatMap((c) =>
    !isLatchkey(c) ||
    !process.env.BENCH_BEFORE ||
    (c.kind === "adapter" && !existsSync(join(process.env.BENCH_BEFORE, adapterScript(c))))
      ? [c]
      : [c, { ...c, name: `${c.name} (before)`, before: process.env.BENCH_BEFORE, target: undefined }],
  );

if (!CONFIGS.some((c) => !c.kind)) {
  console.error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no latchkey configuration that can run here`);
  process.exit(2);
}

// Every server is started (and warmed up) first; then each round measures every
// configuration in turn, so the VM's drift in speed (±30% over minutes here) falls on all
// of them alike, and each ratio is taken within its round against the ceiling and Express
// measured minutes, not a quarter of an hour, apart. The table reports medians of rounds.
const prepared = [];
try {
  for (const config of CONFIGS) {
    process.stderr.write(`starting ${config.name}…\n`);
    const p = await prepare(config);
    prepared.push(p);
    await load(p.url, p.headers, WARM_UP_SECONDS);
  }
  for (let r = 0; r < ROUNDS; r++) {
    process.stderr.write(`round ${r + 1} of ${ROUNDS}…\n`);
    for (const p of prepared) p.rounds.push(await measureRound(p));
  }
} finally {
  for (const p of prepared) {
    p.peakRssMb = peakRssMb(p.server.proc.pid);
    await p.server.stop();
    await p.cleanup();
  }
}
const results = prepared.map(summary);

// Each configuration against the ceiling, and against Express serving the same route,
// round by round; the table shows the median of each ratio.
// Against Better Auth's two configurations too; and a framework's rows (its floor, its host
// app with latchkey) against its hello route and its floor.
const expressOf = (path) => prepared.find((p) => p.config.kind === "express" && p.config.path === path) ?? prepared[1];
const find = (test) => prepared.find((p) => test(p.config));
const betterAuth = find((c) => c.kind === "better-auth" && !c.cookieCache);
const betterAuthCached = find((c) => c.kind === "better-auth" && c.cookieCache);
const ratio = (rounds, baseline) =>
  baseline ? median(rounds.map((round, k) => round.rps / baseline.rounds[k].rps)) : null;
results.forEach((r, i) => {
  const rounds = prepared[i].rounds;
  r.ratioToCeiling = median(rounds.map((round, k) => round.rps / prepared[0].rounds[k].rps));
  r.ratioToExpress = median(rounds.map((round, k) => round.rps / expressOf(r.path).rounds[k].rps));
  r.ratioToBetterAuth = ratio(rounds, betterAuth);
  r.ratioToBetterAuthCookieCache = ratio(rounds, betterAuthCached);
  // Each baseline a configuration names: its framework's hello route, its floor, its bound.
  const { hello, floor, boundBy } = prepared[i].config;
  r.ratioToHello = ratio(rounds, hello && find((c) => c.name === hello));
  r.ratioToFloor = ratio(rounds, floor && find((c) => c.name === floor));
  r.ratioToBound = ratio(rounds, boundBy && find((c) => c.name === boundBy));
});

const pad = (s, n) => String(s).padEnd(n);
const num = (x, d = 0) => (x === null ? "-" : x.toFixed(d)).padStart(8);
/** "≥0.70 no · ≥4× yes · ≥8× BA yes": each target of a configuration and whether its median met it. */
function targetStatus(r) {
  const status = [];
  const mark = (met) => (met ? "yes" : "NO");
  if (r.targets.ratioToCeiling !== undefined)
    status.push(`≥${r.targets.ratioToCeiling.toFixed(2)} ${mark(r.ratioToCeiling >= r.targets.ratioToCeiling)}`);
  if (r.targets.ratioToFloor !== undefined)
    status.push(`≥${r.targets.ratioToFloor.toFixed(2)} floor ${mark(r.ratioToFloor >= r.targets.ratioToFloor)}`);
  if (r.targets.ratioToExpress !== undefined)
    status.push(`≥${r.targets.ratioToExpress}× ${mark(r.ratioToExpress >= r.targets.ratioToExpress)}`);
  if (r.targets.ratioToBetterAuth !== undefined)
    status.push(`≥${r.targets.ratioToBetterAuth}× BA ${mark(r.ratioToBetterAuth >= r.targets.ratioToBetterAuth)}`);
  return status.join(" · ");
}

const columns = [
  "req/s",
  "p50 ms",
  "p99 ms",
  "CPU",
  "RSS MB",
  "×ceil",
  "×expr",
  "×BA",
  "×BAcc",
  "×hello",
  "×floor",
  "×bound",
];
console.log(`\n${pad("configuration", 48)}${columns.map((c) => c.padStart(8)).join("")}  targets`);
for (const r of results) {
  const ratios = [r.ratioToCeiling, r.ratioToExpress, r.ratioToBetterAuth, r.ratioToBetterAuthCookieCache];
  console.log(
    `${pad(r.name, 48)}${num(r.rps)}${num(r.p50, 1)}${num(r.p99, 1)}${num(r.cpu * 100)}%${num(r.peakRssMb)}${[...ratios, r.ratioToHello, r.ratioToFloor, r.ratioToBound].map((x) => num(x, 2)).join("")}  ${targetStatus(r)}`,
  );
}
console.log(
  "\n×BA, ×BAcc: to Better Auth's getSession, defaults and cookie cache; ×hello, ×floor: to the same framework's",
);
console.log("bare hello route and its floor (one SQLite read), for the rows of Express 5, Hono and node:http;");
console.log(
  "×bound: latchkey/fetch's host app to the same floor through toNodeHandler (Request and Response objects);",
);
console.log(
  "for session, SQLite and Fastify's host app, to the SQLite floor with latchkey's I/O (headers, csrfToken).",
);
const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\..+/, "");
const meta = {
  at: new Date().toISOString(),
  node: process.version,
  seconds: SECONDS,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  cpus: (await import("node:os")).cpus().length,
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, `${stamp}.json`), `${JSON.stringify({ meta, results }, null, 2)}\n`);
writeFileSync(join(RESULTS, `${stamp}.svg`), renderChart(results));
const written = join(RESULTS, `${stamp}.json`);
const shown = relative(process.cwd(), written).startsWith("..") ? written : relative(process.cwd(), written);
console.log(`\nwrote ${shown} and .svg`);
