// The soak itself: one durable combination under the mixed workload for a while, faults
// injected on schedule, figures every window, and at the end the ledger checked against
// the database and against every instance directly. `runSoak` returns the report; the
// command (bench/soak.mjs) prints it and judges it against the targets.
import { createRequire } from "node:module";
import { Redis } from "ioredis";
import { freshPostgresSchema, freshSqliteFile, startDeployment, startPrivateRedis } from "./cluster.mjs";
import { Recorder } from "./recorder.mjs";
import { startServiceWatch } from "./service.mjs";
import { Broken, Jar, User } from "./user.mjs";

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;

/** The durable combinations: the three. */
export const COMBINATIONS = {
  "postgres-redis": { name: "PostgreSQL + Redis, 3 instances", postgres: true, redis: true, instances: 3 },
  postgres: { name: "PostgreSQL, 3 instances", postgres: true, redis: false, instances: 3 },
  "sqlite-redis": { name: "SQLite + Redis, 1 instance", postgres: false, redis: true, instances: 1 },
};

/** Runs `work` over `items`, `concurrency` at a time. */
async function each(items, concurrency, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/**
 * One soak run.
 * @param given { combination, seconds, users, windowSeconds, steady, todos, strategy,
 *   faults (boolean), oldSpaceMb, thinkMs, accessTtl, eventRetention, log (a line printer) }
 */
export async function runSoak(given) {
  // The security log kept three minutes (EVENT_RETENTION), in the report's options too.
  const options = { eventRetention: "3min", ...given };
  const combo = COMBINATIONS[options.combination];
  if (!combo) throw new Error(`unknown combination ${options.combination}`);
  const log = options.log ?? (() => {});
  const cleanup = [];
  const report = { combination: options.combination, name: combo.name, options: { ...options, log: undefined } };
  try {
    // --- the deployment ---
    const env = {
      AUTH_STRATEGY: options.strategy,
      // A replayed refresh token is theft after 2 s (the default 10 s would only slow the test).
      REFRESH_REUSE_LEEWAY: "2",
      // The soak's users come from 198.18.0.0/15 addresses of their own; these are per-address.
      REGISTER_ADDRESS_MAX: "100000",
      // Two minutes, not the default ten: the change feed keeps one token lifetime of
      // entries, the one thing that fills before it is steady, so it is full from minute 2.
      ACCESS_TOKEN_TTL: String(options.accessTtl ?? 120),
      // Three minutes, not the default year: the security log is then as large as it will
      // ever be from minute 4, and a 15-minute run shows it flat (docs/deployment.md).
      EVENT_RETENTION: options.eventRetention,
      // And each ended session's reason 3 minutes, not a day: Redis then holds as many of
      // them from minute 3 on as it ever will (one key per ended session).
      SESSION_END_REASON_TTL: "180",
    };
    let store;
    if (combo.postgres) {
      store = await freshPostgresSchema();
      cleanup.push(() => store.drop());
    } else {
      store = freshSqliteFile();
      cleanup.push(() => store.drop());
    }
    env.DATABASE_URL = store.url;
    let redis = null;
    if (combo.redis) {
      redis = await startPrivateRedis();
      cleanup.push(() => redis.close());
      Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: "soak:" });
    }
    const deployment = await startDeployment({ count: combo.instances, env, oldSpaceMb: options.oldSpaceMb });
    cleanup.push(() => deployment.stop());

    // --- the users ---
    const recorder = new Recorder(options.windowSeconds * 1000);
    const ctx = {
      origin: deployment.origin,
      recorder,
      dead: [],
      unexpected: { count: 0 },
      options: { steady: options.steady, todos: options.todos, replayAfterMs: 4000 },
    };
    // A service following the feed, checking every ended access token (issue 24).
    const service = await startServiceWatch({ origin: deployment.origin, env, ctx });
    const users = Array.from({ length: options.users }, (_, i) => new User(ctx, i));
    await each(users, 4, (user) => user.register());
    log(`${combo.name}: ${users.length} users registered; ${options.seconds} s of load`);

    const started = Date.now();
    recorder.start = started;
    recorder.resetWindow();
    const endAt = started + options.seconds * 1000;
    let stopping = false;
    const errors = [];
    const loops = users.map(async (user) => {
      // Users arrive over the first 30 s (less in a short run): 200 logins at once would
      // fill the hashing queues, which is the server shedding a herd, not a steady load.
      await sleep(Math.random() * Math.min(30_000, options.seconds * 200));
      while (!stopping && Date.now() < endAt) {
        await sleep(Math.random() * 2 * options.thinkMs);
        try {
          await user.step();
        } catch (error) {
          if (!(error instanceof Broken)) {
            errors.push(error.stack ?? String(error));
            if (errors.length > 20) stopping = true;
          }
          // A refused or unexpected answer: sign in afresh. A 5xx or a broken connection:
          // the session is still in the store, so keep it and go on, as a browser does.
          if (!(error instanceof Broken) || error.signInAgain) user.browser = null;
          await sleep(error.cause?.waitMs ?? 0);
        }
      }
    });

    // --- faults ---
    const windows = [];
    const faults = (async () => {
      if (!options.faults) return;
      const at = (fraction) => sleep(Math.max(0, started + options.seconds * 1000 * fraction - Date.now()));
      await at(0.4);
      if (stopping) return;
      const victim = deployment.instances[combo.instances - 1];
      const kill = { kind: `SIGKILL instance ${victim.index}`, start: Date.now() };
      windows.push(kill);
      await victim.kill();
      await sleep(3000);
      await victim.start();
      await deployment.healthy();
      kill.recovered = Date.now();
      kill.end = kill.recovered + 3000;
      log(`  fault: ${kill.kind}, back after ${((kill.recovered - kill.start) / 1000).toFixed(1)} s`);
      if (!redis) return;
      await at(0.8);
      if (stopping) return;
      const restart = { kind: "Redis restarted empty", start: Date.now() };
      windows.push(restart);
      await redis.restart(1000);
      await deployment.healthy();
      restart.recovered = Date.now();
      restart.end = restart.recovered + 3000;
      log(`  fault: ${restart.kind}, back after ${((restart.recovered - restart.start) / 1000).toFixed(1)} s`);
    })();

    // --- figures every window ---
    const samples = [];
    let checkedDead = 0;
    const spotRevived = [];
    const cpuStart = process.cpuUsage();
    const sampleOnce = async () => {
      const figures = recorder.closeWindow();
      figures.instances = [];
      for (const instance of deployment.instances) {
        const probe = await instance.sample();
        figures.instances.push(
          probe && {
            rssMb: +(probe.memory.rss / MB).toFixed(1),
            heapUsedMb: +(probe.memory.heapUsed / MB).toFixed(1),
            // Where the RSS is: V8's heap as reserved, memory V8 tracks outside it, and
            // (Linux) the anonymous and file-backed parts.
            heapTotalMb: +(probe.memory.heapTotal / MB).toFixed(1),
            externalMb: +(probe.memory.external / MB).toFixed(1),
            anonMb: Number.isFinite(probe.memory.rssAnon) ? +(probe.memory.rssAnon / MB).toFixed(1) : null,
            fileMb: Number.isFinite(probe.memory.rssFile) ? +(probe.memory.rssFile / MB).toFixed(1) : null,
            loopP50: probe.eventLoopDelay.p50,
            loopP99: probe.eventLoopDelay.p99,
            loopMax: probe.eventLoopDelay.max,
            gcMaxMs: probe.gc.maxMs,
            startedAt: instance.startedAt,
            upSeconds: Math.round((Date.now() - instance.startedAt) / 1000),
          },
        );
      }
      figures.vacuumed = store.vacuumIfNoAutovacuum ? await store.vacuumIfNoAutovacuum().catch(() => null) : null;
      figures.tables = await store.tables().catch(() => null);
      figures.walBytes = store.walBytes ? store.walBytes() : null;
      figures.events = store.events ? await store.events().catch(() => null) : null;
      figures.redis = redis ? await redis.memory(["soak:changes"]).catch(() => null) : null;
      const cpu = process.cpuUsage(cpuStart);
      figures.loadGeneratorCpu = +((cpu.user + cpu.system) / 1000 / (Date.now() - started)).toFixed(2);
      // Sessions ended in this window must be refused now, on an instance chosen in turn.
      const fresh = ctx.dead.slice(checkedDead, checkedDead + 100);
      checkedDead = ctx.dead.length;
      for (const [n, credential] of fresh.entries()) {
        const instance = deployment.instances[n % deployment.instances.length];
        if (!instance.running) continue;
        // A 503 (a store down in a fault) cannot tell; the end checks every credential again.
        const answer = await checkDead(credential, instance.base, deployment.origin).catch(() => 503);
        if (answer !== true && answer !== 503) spotRevived.push({ ...credential, answer, at: Date.now() });
      }
      figures.deadSoFar = ctx.dead.length;
      samples.push(figures);
      log(windowLine(figures));
    };
    // Samples on a fixed schedule (every window from the start, and at the end), not a
    // window after the last sample ended: on a loaded machine a sample (probing each
    // instance, checking ended credentials) takes seconds, and waiting a whole window
    // after it left a 32 s run with two samples instead of three (a clean-clone CI).
    for (let tick = 1; Date.now() < endAt && !stopping; tick++) {
      await sleep(Math.max(0, Math.min(started + tick * options.windowSeconds * 1000, endAt) - Date.now()));
      await sampleOnce();
    }
    stopping = true;
    await Promise.all(loops);
    await faults;
    report.service = await service.stop();
    report.durationSeconds = Math.round((Date.now() - started) / 1000);
    report.samples = samples;
    report.errors = errors;
    report.crashes = deployment.instances.flatMap((i) => i.crashes.map((c) => ({ instance: i.index, ...c })));

    // --- the ledger ---
    await deployment.healthy();
    log(`  checking ${ctx.dead.length} ended credentials on every instance, and every user's to-dos`);
    const revived = [...spotRevived];
    await each(ctx.dead, 32, async (credential) => {
      for (const instance of deployment.instances) {
        let answer = await checkDead(credential, instance.base, deployment.origin);
        for (let retry = 0; answer === 503 && retry < 5; retry++) {
          await sleep(500);
          answer = await checkDead(credential, instance.base, deployment.origin);
        }
        if (answer !== true) revived.push({ ...credential, instance: instance.index, answer });
      }
    });
    if (store.query) {
      const ids = ctx.dead.map((c) => c.sessionId).filter(Boolean);
      if (!combo.redis) {
        const { rows } = await store.query(`select id from ${store.name}.sessions where id = any($1)`, [ids]);
        for (const row of rows) revived.push({ kind: "session row", sessionId: row.id });
      }
    }
    if (redis) {
      const { SESSION_KEY } = await import("../../packages/latchkey/dist/stores/redis/scripts.js");
      const check = new Redis(redis.url);
      for (let i = 0; i < ctx.dead.length; i += 500) {
        const batch = ctx.dead.slice(i, i + 500).filter((c) => c.sessionId);
        if (batch.length === 0) continue;
        const exists = await check.pipeline(batch.map((c) => ["exists", `soak:${SESSION_KEY}${c.sessionId}`])).exec();
        exists.forEach(([, n], j) => {
          if (n === 1) revived.push({ kind: "session key", sessionId: batch[j].sessionId });
        });
      }
      check.disconnect();
    }
    const lost = users.flatMap((u) => u.wrong.map((w) => ({ user: u.name, ...w })));
    const finalLost = [];
    const database = await openDatabase(store, combo);
    ctx.recorder = new Recorder(options.windowSeconds * 1000); // the check's own requests are not the run's
    await each(users, 8, async (user) => {
      const token = await user.token().catch(() => null);
      if (!token) {
        finalLost.push({ user: user.name, problem: "could not sign in for the final check" });
        return;
      }
      for (const instance of deployment.instances) {
        const answer = await fetch(`${instance.base}/api/todos`, {
          headers: { authorization: `Bearer ${token.access}` },
        });
        if (answer.status !== 200) {
          finalLost.push({ user: user.name, instance: instance.index, problem: `list answered ${answer.status}` });
          continue;
        }
        const before = user.wrong.length;
        user.checkList((await answer.json()).todos, `instance ${instance.index}`);
        finalLost.push(...user.wrong.splice(before).map((w) => ({ user: user.name, ...w })));
      }
      const before = user.wrong.length;
      user.checkList(await database.todos(user.name), "database");
      finalLost.push(...user.wrong.splice(before).map((w) => ({ user: user.name, ...w })));
    });
    await database.close();

    const redisRestart = windows.find((w) => w.kind.startsWith("Redis"));
    if (redisRestart) {
      // Redis restarted empty holds no session: every user signs in again at once, and the
      // herd can fill the hashing queue (503 busy). The fault lasts until the last user who
      // was signed in is back: the latest of each user's first login after it, answered.
      const back = users.map((u) => u.signedIn.find((t) => t >= redisRestart.start)).filter((t) => t !== undefined);
      redisRestart.everyoneBack = Math.max(...back);
      redisRestart.end = Math.max(redisRestart.end, redisRestart.everyoneBack);
    }
    const kill = windows.find((w) => w.kind.startsWith("SIGKILL"));
    if (kill) {
      // Users whose requests failed while the instance was down retry them when it is back
      // (a login or a token grant each a password hash), and that herd can fill the
      // hashing queue too. The fault lasts until each of them is served again (one never
      // served again extends nothing: its failures stay failures).
      const back = users.flatMap((u) =>
        u.outages
          .filter((o) => o.failedAt >= kill.start && o.failedAt <= kill.end && o.servedAt !== undefined)
          .map((o) => o.servedAt),
      );
      if (back.length > 0) {
        kill.everyoneBack = Math.max(...back);
        kill.end = Math.max(kill.end, kill.everyoneBack);
      }
    }
    // The herd's echo: clients answered 503 busy retry after Retry-After, with the steps
    // the fault delayed, so the hashing queue can stay full a few seconds more. A window
    // lasts while its 5xx go on with less than 5 s between them, at most 30 s past its
    // recovery (a fault that never ends shows as failures after that).
    for (const w of windows) {
      for (const f of [...recorder.failures].sort((a, b) => a.t0 - b.t0)) {
        if (f.t0 > w.end && f.t0 - w.end <= 5000 && f.t0 <= w.recovered + 30_000) w.end = Math.max(w.end, f.t1);
      }
    }
    const failures = recorder.failures.map((f) => ({ ...f, inWindow: windows.some((w) => overlaps(f, w)) }));
    const refusals = recorder.refusals.map((r) => ({
      ...r,
      // Told, not excused: a live session refused while an instance is down is still a defect.
      inWindow: windows.some((w) => overlaps(r, w)),
      // Sessions held in a Redis that restarted empty are gone: a refusal then is expected.
      expected: redisRestart !== undefined && r.issuedAt < redisRestart.start && r.t1 >= redisRestart.start,
    }));
    report.startedAt = started;
    report.windows = windows.map((w) => ({
      ...w,
      start: w.start - started,
      recovered: w.recovered - started,
      end: w.end - started,
      ...(w.everyoneBack ? { everyoneBack: w.everyoneBack - started } : {}),
    }));
    report.summary = {
      requests: recorder.total,
      perMinute: recorder.perMinute,
      acknowledgedTodos: users.reduce((n, u) => n + u.todos.size, 0),
      todosPerUser: Math.round(users.reduce((n, u) => n + u.todos.size, 0) / users.length),
      endedCredentials: ctx.dead.length,
      endedSessions: new Set(ctx.dead.map((c) => c.sessionId).filter(Boolean)).size,
      lost: lost.length + finalLost.length,
      lostDetails: [...lost, ...finalLost].slice(0, 20),
      revived: revived.length,
      revivedDetails: revived.slice(0, 20),
      failuresInWindows: countBy(failures.filter((f) => f.inWindow)),
      failuresOutsideWindows: countBy(failures.filter((f) => !f.inWindow)),
      failuresOutsideDetails: failures.filter((f) => !f.inWindow).slice(0, 20),
      refusedLiveExpected: refusals.filter((r) => r.expected).length,
      refusedLiveUnexpected: refusals.filter((r) => !r.expected).length,
      refusedLiveDetails: refusals.filter((r) => !r.expected).slice(0, 20),
      unexpectedAnswers: ctx.unexpected.count,
      unexpectedDetails: users.flatMap((u) => u.unexpected).slice(0, 20),
      loadGeneratorErrors: errors.length,
    };
    return report;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
}

const overlaps = (request, window) => request.t0 <= window.end && request.t1 >= window.start;

function countBy(failures) {
  const counts = {};
  for (const f of failures) {
    const key = `${f.status || "network"} ${f.cause}: ${f.route}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** true when `credential` is refused by the instance at `base`; otherwise what it answered. */
async function checkDead(credential, base, origin) {
  const headers = { origin };
  let path = "/auth/me";
  let method = "GET";
  let body;
  if (credential.kind === "cookie") headers.cookie = credential.cookie;
  else if (credential.kind === "bearer") headers.authorization = `Bearer ${credential.token}`;
  else {
    path = "/auth/refresh";
    method = "POST";
    headers["content-type"] = "application/json";
    body = JSON.stringify({ refresh_token: credential.token });
  }
  const answer = await fetch(`${base}${path}`, { method, headers, body });
  await answer.arrayBuffer();
  // A refused credential is a 401 and, under hybrid, never a fresh access cookie. Any
  // other answer counts against it (a 2xx is a revived session; anything else is not the
  // contract's answer to a dead credential), but a 503 is left to the caller to ask again.
  const renewed = answer.headers.getSetCookie().some((c) => c.startsWith("__Host-at=") && !/max-age=0/i.test(c));
  return answer.status === 401 && !renewed ? true : answer.status;
}

/** The to-dos each user has in the database itself, read apart from latchkey. */
async function openDatabase(store, combo) {
  if (combo.postgres) {
    return {
      async todos(username) {
        const { rows } = await store.query(
          `select t.id, t.title, t.done from ${store.name}.todos t join ${store.name}.users u on u.id = t.user_id where u.username = $1`,
          [username],
        );
        return rows.map((r) => ({ id: r.id, title: r.title, done: Boolean(r.done) }));
      },
      close: async () => {},
    };
  }
  const SQLite = require("better-sqlite3");
  const db = new SQLite(store.file, { readonly: true });
  const statement = db.prepare(
    "select t.id, t.title, t.done from todos t join users u on u.id = t.user_id where u.username = ?",
  );
  return {
    todos: async (username) =>
      statement.all(username).map((r) => ({ id: r.id, title: r.title, done: Boolean(r.done) })),
    close: async () => db.close(),
  };
}

function windowLine(f) {
  const route = (name) => f.routes[name];
  const show = (name, label) => {
    const r = route(name);
    return r ? `${label} ${r.p50}/${r.p99}` : `${label} -`;
  };
  const instances = f.instances
    .map((i, n) =>
      i
        ? `#${n} rss ${i.rssMb} (anon ${i.anonMb}) heap ${i.heapUsedMb}/${i.heapTotalMb} ext ${i.externalMb} loop ${i.loopP99}`
        : `#${n} down`,
    )
    .join(" | ");
  const tables = f.tables
    ? Object.entries(f.tables)
        .filter(([, t]) => t.tableBytes + t.indexBytes > 64 * 1024)
        .map(([name, t]) => `${name} ${((t.tableBytes + t.indexBytes + (t.walBytes ?? 0)) / MB).toFixed(1)}`)
        .join(" ")
    : "";
  const redis = f.redis
    ? ` redis ${(f.redis.usedMemory / MB).toFixed(2)} MB ${f.redis.keys} keys (feed ${(f.redis.bytes["soak:changes"] / MB).toFixed(2)})`
    : "";
  return (
    `  ${String(f.atSeconds).padStart(4)} s ${String(f.requestsPerSecond).padStart(4)} req/s 5xx ${f.failures}` +
    (f.failures ? ` ${JSON.stringify(f.failureCauses)}` : "") +
    ` | ${show("GET /auth/me", "me")} ${show("POST /auth/login", "login")} ${show("POST /api/todos", "add")}` +
    ` | ${instances} | MB: ${tables}${redis}` +
    (f.walBytes === null || f.walBytes === undefined ? "" : ` wal ${(f.walBytes / MB).toFixed(1)}`) +
    (f.events === null || f.events === undefined ? "" : ` events ${f.events}`) +
    ` | gen cpu ${f.loadGeneratorCpu}`
  );
}

export { Jar };
