#!/usr/bin/env node
/**
 * latchkey's own request path, without HTTP: what `GET /auth/me` costs in the code every
 * adapter shares (`Dispatcher.run`: the origin check, the cookies, authentication, the
 * handler and the answer, `src/http/dispatch.ts`) and in the route's serialiser (Fastify's,
 * fast-json-stringify, compiled from the route's response schema as Fastify compiles it),
 * in-process on SQLite, for `session`, `jwt`, `hybrid` and bearer tokens. Then the parts
 * of a cookie session's check: the store's one read alone, and the session check (the read,
 * SHA-256 and the comparisons).
 *
 * Why in-process: on this project's shared 2-core host, two servers measured over HTTP a
 * few seconds apart differ by up to ±15% a round (docs/performance.md), more than what one
 * change on the request path moves. Here each configuration runs in batches of
 * `BENCH_CHECKS` requests, alternating with the others in one process, so a busy moment of
 * the machine falls on all of them alike.
 *
 * BENCH_BEFORE=<checkout> (built there with `npm run build`): the same measures of that
 * checkout, alternating with this one's batch by batch; each row then prints its ratio
 * (this checkout's time over the other's, the median of the rounds' ratios).
 *
 *   npm run build && node bench/core-path.mjs
 *   BENCH_BEFORE=/tmp/before node bench/core-path.mjs           # a change, before and after
 *   BENCH_ROUNDS=1 BENCH_CHECKS=200 node bench/core-path.mjs     # a smoke run: measures nothing
 *   BENCH_ONLY='^jwt' node --cpu-prof bench/core-path.mjs        # one measure, profiled
 *
 * It reads the builds' internal modules by path (`packages/latchkey/dist/http/dispatch.js`):
 * what it measures is not a public API.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const require = createRequire(import.meta.url);
const fastJsonStringify = require("fast-json-stringify");

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const BEFORE = process.env.BENCH_BEFORE ? resolve(process.env.BENCH_BEFORE) : null;
const N = Number(process.env.BENCH_CHECKS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const ORIGIN = "http://localhost:1";
const PASSWORD = "correct horse battery staple";
/** The headers a browser's `fetch` of `/auth/me` sends, beside its credential. */
const BROWSER = {
  host: "localhost:1",
  connection: "keep-alive",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  accept: "application/json",
  "accept-encoding": "gzip, deflate, br",
  "accept-language": "en-GB,en;q=0.9",
  "sec-fetch-site": "same-origin",
  "sec-fetch-mode": "cors",
  referer: `${ORIGIN}/`,
};
const NO_QUERY = new URLSearchParams();
const dirs = [];

/** latchkey of `checkout` on a SQLite file of its own, an account signed in under `strategy`. */
async function signedIn(checkout, strategy) {
  const dist = join(checkout, "packages/latchkey/dist");
  const latchkey = await import(join(dist, "index.js"));
  const { openSqliteStores } = await import(join(dist, "sqlite.js"));
  const { setUpGuest } = await import(join(dist, "http/guest.js"));
  const { Dispatcher } = await import(join(dist, "http/dispatch.js"));
  const { SHARED_SCHEMAS } = await import(join(dist, "http/schemas.js"));
  const dir = mkdtempSync(join(tmpdir(), "latchkey-core-path-"));
  dirs.push(dir);
  const stores = await openSqliteStores({ path: join(dir, "latchkey.db") });
  const auth = await latchkey.createAuth({
    stores,
    // Nothing is renewed or expires while the bench runs; every check for it still runs.
    sessions: { ...latchkey.DEFAULT_SESSION_POLICY, rotateInterval: 86_400 },
    throttle: latchkey.DEFAULT_THROTTLE_POLICY,
    tokens: { ...latchkey.DEFAULT_TOKEN_POLICY, issuer: ORIGIN, ttl: 3600 },
  });
  const bearer = strategy === "bearer";
  const core = new Dispatcher(setUpGuest({ auth, publicOrigin: ORIGIN, strategy: bearer ? "session" : strategy }));
  const post = (path, value) => {
    const body = new TextEncoder().encode(JSON.stringify(value));
    const headers = { ...BROWSER, origin: ORIGIN, "content-type": "application/json" };
    return core.dispatch({
      method: "POST",
      path,
      query: NO_QUERY,
      headers,
      ip: "127.0.0.1",
      readBody: async () => body,
    });
  };
  const account = { username: `bench-${strategy}`, password: PASSWORD };
  await post("/auth/register", account);
  const signIn = await post(bearer ? "/auth/token" : "/auth/login", account);
  if (signIn.status !== 200) throw new Error(`${checkout}: sign-in under ${strategy} answered ${signIn.status}`);
  const credential = bearer
    ? { authorization: `Bearer ${signIn.json.access_token}` }
    : {
        cookie: signIn.headers
          .filter(([name]) => name === "set-cookie")
          .map(([, value]) => value.split(";")[0])
          .join("; "),
      };
  const route = core.routes.find((r) => r.spec.method === "GET" && r.path === "/auth/me");
  const serialise = fastJsonStringify(route.spec.schema.response[200], {
    schema: Object.fromEntries(SHARED_SCHEMAS.map((schema) => [schema.$id, schema])),
  });
  return { auth, stores, core, route, serialise, headers: { ...BROWSER, ...credential } };
}

/** One `GET /auth/me`, as an adapter hands it to the core, and its body written. */
function meRequest({ core, route, serialise, headers }) {
  return async () => {
    // An adapter hands over the request's own headers object: a new one per request.
    const facts = { method: "GET", path: "/auth/me", query: NO_QUERY, headers: { ...headers }, ip: "127.0.0.1" };
    const answer = await core.run(route, facts, {});
    if (answer.status !== 200) throw new Error(`GET /auth/me answered ${answer.status}`);
    return serialise(answer.json);
  };
}

/** A cookie session's parts: its store read alone, and the whole session check. */
function sessionParts({ auth, stores, headers }) {
  const value = /(?:^|; )(?:__Host-)?sid=([^;]+)/.exec(headers.cookie)[1];
  const id = value.slice(0, value.indexOf("."));
  const client = { ip: "127.0.0.1", userAgent: BROWSER["user-agent"] };
  return {
    "session cookie: the store's one read": () => stores.sessions.findWithUser(id),
    "session cookie: the check (read, SHA-256)": async () => {
      const found = await auth.sessions.check(value, client, { renew: "with-use" });
      if (found === null || typeof found === "string") throw new Error(`the session check answered ${found}`);
    },
  };
}

/** The measures of one checkout, by name. */
async function measuresOf(checkout) {
  const measures = {};
  for (const strategy of ["session", "jwt", "hybrid", "bearer"]) {
    const app = await signedIn(checkout, strategy);
    measures[`${strategy}, GET /auth/me`] = meRequest(app);
    if (strategy === "session") Object.assign(measures, sessionParts(app));
  }
  return measures;
}

async function batch(run) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await run();
  return Number(process.hrtime.bigint() - start) / 1e3 / N;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const sides = [{ name: "this", measures: await measuresOf(ROOT), times: {} }];
if (BEFORE) sides.push({ name: "before", measures: await measuresOf(BEFORE), times: {} });
// BENCH_ONLY=<regex>: only the measures whose name matches (`BENCH_ONLY='^jwt'`).
const ONLY = new RegExp(process.env.BENCH_ONLY ?? "");
const names = Object.keys(sides[0].measures).filter((name) => ONLY.test(name));
// Warm-up: every measure runs, so each path is compiled before the first round.
for (const side of sides) for (const name of names) await batch(side.measures[name]);
for (let round = 0; round < ROUNDS; round++) {
  // The order of the checkouts alternates, so neither always runs second.
  const order = round % 2 === 0 ? sides : [...sides].reverse();
  for (const name of names) {
    for (const side of order) {
      side.times[name] ??= [];
      side.times[name].push(await batch(side.measures[name]));
    }
  }
}

console.log(`\nµs a request, in-process (median of ${ROUNDS} rounds of ${N})${BEFORE ? `; before: ${BEFORE}` : ""}`);
for (const name of names) {
  const times = sides[0].times[name];
  let line = `${name.padEnd(44)} ${median(times).toFixed(2).padStart(7)} µs`;
  if (BEFORE) {
    const before = sides[1].times[name];
    const ratios = times.map((time, k) => time / before[k]);
    line += `   before ${median(before).toFixed(2).padStart(7)} µs   ×${median(ratios).toFixed(3)}`;
    line += ` (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
  }
  console.log(line);
}
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
// The stores' timers (the change feed's poll, the checkpointer) would keep the process up.
process.exit(0);
