/**
 * Redis failover under traffic: a `latchkey serve` process on Redis under Sentinel, then
 * on a Redis Cluster (both made by the test, see test/helpers/redis-deployments.ts), with
 * browsers logging in, reading `/auth/me` and logging out while the primary that holds
 * latchkey's keys is killed (SIGKILL). What it shows:
 * - every answer is a success or a 503, and the 503s stop once a replica is promoted;
 * - nothing answered is lost: every session whose login was answered 200 is still valid,
 *   every session whose logout was answered 204 is still ended.
 * It also shows what `REDIS_WAIT_REPLICAS` buys, deterministically: with the replicas
 * paused, a logout is answered 503 rather than 204, because no replica holds it; with
 * `REDIS_WAIT_REPLICAS=0` it is answered 204 and the promoted replica brings the session back.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { HttpClient } from "../helpers/http-client.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import {
  clusterAvailable,
  sentinelAvailable,
  startClusterDeployment,
  startSentinelDeployment,
} from "../helpers/redis-deployments.js";
import { describeWith } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";
const USERS = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  at: number;
  what: "login" | "me" | "logout";
  status: number;
}

/** Browsers that log in, read `/auth/me` and (every other time) log out, until stopped. */
function traffic(origin: string) {
  const answers: Answer[] = [];
  const live: HttpClient[] = [];
  const ended: Array<Map<string, string>> = [];
  let running = true;
  const note = (what: Answer["what"], status: number) => answers.push({ at: Date.now(), what, status });
  const browse = async (user: number) => {
    for (let round = 0; running; round++) {
      const browser = new HttpClient(origin);
      const login = await browser.login(origin, `failover${user}`, PASSWORD);
      note("login", login.status);
      if (login.status !== 200) {
        await sleep(50);
        continue;
      }
      note("me", (await browser.request(origin, "GET", "/auth/me")).status);
      if (round % 2 === 0) {
        live.push(browser);
        continue;
      }
      const cookies = new Map(browser.cookies);
      const logout = await browser.request(origin, "POST", "/auth/logout");
      note("logout", logout.status);
      if (logout.status === 204) ended.push(cookies);
      // A logout answered 503 may or may not have happened: neither list holds it.
    }
  };
  const loops = Array.from({ length: USERS }, (_, user) => browse(user));
  return {
    answers,
    live,
    ended,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const ok: Record<Answer["what"], number> = { login: 200, me: 200, logout: 204 };

/**
 * The failover run: traffic for a second, the primary killed, traffic until three seconds
 * after the promotion, then every session checked.
 */
async function failoverUnderTraffic(
  server: RunningServer,
  kill: () => Promise<void>,
  promoted: () => Promise<unknown>,
): Promise<{ killedAt: number; promotedAt: number; last503: number | null; answers: number }> {
  const origin = server.origin;
  const run = traffic(origin);
  await sleep(1000);
  const killedAt = Date.now();
  await kill();
  await promoted();
  const promotedAt = Date.now();
  // Service must be back within three seconds of the promotion (the client's reconnect
  // back-off is at most one), then a settled check.
  await sleep(3000);
  const settledFrom = Date.now();
  await sleep(1000);
  await run.stop();

  const when = (a: Answer) => ({ ...a, at: a.at - killedAt });
  const unexpected = run.answers.filter((a) => a.status !== ok[a.what] && a.status !== 503);
  // What the server logged as its warnings, to say why when an assertion fails.
  const warnings = () =>
    server
      .output()
      .split("\n")
      .filter((line) => /"level":(40|50)/.test(line))
      .map((line) => `${(JSON.parse(line) as { time: number }).time - killedAt} ms: ${line.slice(0, 300)}`)
      .join("\n");
  expect(unexpected.map(when), warnings()).toEqual([]);
  const failed = run.answers.filter((a) => a.status === 503);
  // 503s only from the kill on, none once service has settled after the promotion.
  expect(failed.filter((a) => a.at < killedAt || a.at >= settledFrom).map(when), warnings()).toEqual([]);
  expect(run.answers.filter((a) => a.at >= settledFrom && a.status === ok[a.what]).length).toBeGreaterThan(5);

  // Nothing answered is lost: each live session still reads, each ended one stays ended.
  expect(run.live.length).toBeGreaterThan(5);
  expect(run.ended.length).toBeGreaterThan(5);
  for (const browser of run.live) expect((await browser.request(origin, "GET", "/auth/me")).status).toBe(200);
  for (const cookies of run.ended) {
    const browser = new HttpClient(origin);
    for (const [name, value] of cookies) browser.cookies.set(name, value);
    expect((await browser.request(origin, "GET", "/auth/me")).status).toBe(401);
  }
  const last503 = failed.length > 0 ? (failed.at(-1) as Answer).at : null;
  return { killedAt, promotedAt, last503, answers: run.answers.length };
}

async function registerUsers(origin: string): Promise<void> {
  for (let user = 0; user < USERS; user++) {
    const response = await new HttpClient(origin).request(origin, "POST", "/auth/register", {
      username: `failover${user}`,
      password: PASSWORD,
    });
    expect(response.status).toBe(201);
  }
}

/**
 * The change feed's epoch before `failover` and after it: the same history (the part
 * before `/`), a new epoch (the promoted primary's replication id after it), so every
 * follower reads the window again rather than trust a seq the dead primary may have
 * given to an entry it never passed on.
 */
async function epochAcross(url: string, failover: () => Promise<void>): Promise<void> {
  const before = await openRedisStores({ url, base: createMemoryStores() });
  const { epoch } = await before.changes.position();
  await before.close();
  await failover();
  const after = await openRedisStores({ url, base: createMemoryStores() });
  try {
    const { epoch: next } = await after.changes.position();
    expect(next).not.toBe(epoch);
    expect(next.split("/")[0]).toBe(epoch.split("/")[0]);
  } finally {
    await after.close();
  }
}

function report(topology: string, run: Awaited<ReturnType<typeof failoverUnderTraffic>>): void {
  const outage = run.last503 === null ? 0 : run.last503 - run.killedAt;
  console.log(
    `[redis-failover] ${topology}: promoted ${run.promotedAt - run.killedAt} ms after the kill; ` +
      `503s for ${outage} ms; ${run.answers} answers`,
  );
}

/**
 * A deployment the test makes and a `latchkey serve` process on it (SQLite for the durable
 * data), started before a describe block's cases with the users registered, and stopped
 * after them. `restart` starts the server again with the same settings.
 */
function servedOn<D extends { url: string; stop(): Promise<void> }>(
  start: () => Promise<D>,
  env: Record<string, string> = {},
): { deployment: D; server: RunningServer; restart(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-failover-"));
  const serve = (url: string) =>
    startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`,
      REDIS_URL: url,
      REGISTER_ADDRESS_MAX: "1000",
      ...env,
    });
  const served = {
    deployment: undefined as unknown as D,
    server: undefined as unknown as RunningServer,
    async restart() {
      await served.server.stop();
      served.server = await serve(served.deployment.url);
    },
  };
  beforeAll(async () => {
    served.deployment = await start();
    served.server = await serve(served.deployment.url);
    await registerUsers(served.server.origin);
  }, 90_000);
  afterAll(async () => {
    await served.server?.stop();
    await served.deployment?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return served;
}

describeWith("redis-sentinel", sentinelAvailable)("Redis under Sentinel: the primary killed under traffic", () => {
  const served = servedOn(startSentinelDeployment);

  it("503s only until a replica is promoted, then normal service; no session answered is lost, no logout undone", async () => {
    const old = await served.deployment.primary();
    await epochAcross(served.deployment.url, async () => {
      const run = await failoverUnderTraffic(
        served.server,
        () => served.deployment.signal(old, "SIGKILL"),
        () => served.deployment.promotedFrom(old, 30_000),
      );
      report("Sentinel", run);
    });
  }, 90_000);

  it("with the replicas paused and cut off, a logout is answered 503 (no replica holds it), not 204", async () => {
    const browser = new HttpClient(served.server.origin);
    expect((await browser.login(served.server.origin, "failover0", PASSWORD)).status).toBe(200);
    // The steps of the REDIS_WAIT_REPLICAS=0 case below, where the same logout is answered
    // 204 and undone by the next failover. (One of the two ports is the primary killed
    // above: signalling it does nothing.)
    const replicas = await served.deployment.replicaPorts();
    for (const port of replicas) await served.deployment.signal(port, "SIGSTOP");
    try {
      await served.deployment.cutReplicas();
      const started = Date.now();
      expect((await browser.request(served.server.origin, "POST", "/auth/logout")).status).toBe(503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      for (const port of replicas) await served.deployment.signal(port, "SIGCONT");
    }
    // Once a replica is back, the logout goes through.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 204; attempt++) {
      status = (await browser.request(served.server.origin, "POST", "/auth/logout")).status;
      if (status !== 204) await sleep(200);
    }
    expect(status).toBe(204);
    expect((await browser.request(served.server.origin, "GET", "/auth/me")).status).toBe(401);
  }, 30_000);
});

describeWith("redis-sentinel", sentinelAvailable)(
  "Redis under Sentinel with REDIS_WAIT_REPLICAS=0: what the wait prevents",
  () => {
    const served = servedOn(startSentinelDeployment, { REDIS_WAIT_REPLICAS: "0" });

    it("a logout answered 204 while no replica has it comes undone when the primary dies", async () => {
      const browser = new HttpClient(served.server.origin);
      expect((await browser.login(served.server.origin, "failover0", PASSWORD)).status).toBe(200);
      // The replicas have the session; then they stop hearing from the primary.
      await sleep(300);
      const old = await served.deployment.primary();
      const replicas = await served.deployment.replicaPorts();
      for (const port of replicas) await served.deployment.signal(port, "SIGSTOP");
      await served.deployment.cutReplicas();
      const cookies = new Map(browser.cookies);
      expect((await browser.request(served.server.origin, "POST", "/auth/logout")).status).toBe(204);
      await served.deployment.signal(old, "SIGKILL");
      for (const port of replicas) await served.deployment.signal(port, "SIGCONT");
      await served.deployment.promotedFrom(old, 30_000);
      // This instance remembers the sessions it ended (it applies its own feed entries);
      // a restarted one, like any other instance, knows only what Redis holds.
      await served.restart();
      const again = new HttpClient(served.server.origin);
      for (const [name, value] of cookies) again.cookies.set(name, value);
      let status = 0;
      for (let attempt = 0; attempt < 50; attempt++) {
        status = (await again.request(served.server.origin, "GET", "/auth/me")).status;
        if (status !== 503) break;
        await sleep(200);
      }
      // The logged-out session is back: what the default REDIS_WAIT_REPLICAS=1 refuses.
      expect(status).toBe(200);
    }, 60_000);
  },
);

describeWith("redis-server and redis-cli (Cluster)", clusterAvailable)(
  "Redis Cluster: the primary of latchkey's slot killed under traffic",
  () => {
    const served = servedOn(startClusterDeployment);

    it("503s only until its replica is promoted, then normal service; no session answered is lost, no logout undone", async () => {
      // The default prefix `lk:` is the hash tag `{lk:}` on a Cluster.
      const old = await served.deployment.primaryOf("{lk:}changes");
      await epochAcross(served.deployment.url, async () => {
        const run = await failoverUnderTraffic(
          served.server,
          () => served.deployment.kill(old),
          () => served.deployment.promotedFrom(old, "{lk:}changes", 30_000),
        );
        report("Cluster", run);
      });
    }, 90_000);
  },
);
