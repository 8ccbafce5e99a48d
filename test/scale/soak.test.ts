/**
 * The soak's short variant (issue 17): `npm run soak` for 32 s per durable combination, 40
 * users, faults included (an instance SIGKILLed, the private Redis restarted empty). What a
 * run of any length must show is asserted: no acknowledged write lost or wrong, no ended
 * session accepted by any instance or left in a store, no 5xx and no live session refused
 * outside a fault's window, no answer outside the contract, no instance crashed under its
 * bounded old space. The steady-state targets (throughput, flat heap and Redis memory) are
 * measurements of a 15-minute run, reported in docs/deployment.md, not asserted here.
 */

import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { judge } from "../../bench/soak/judge.mjs";
import { COMBINATIONS, runSoak, type SoakOptions } from "../../bench/soak/run.mjs";
import { NGINX } from "../helpers/cluster.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

const REDIS_SERVER = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].some((p) => existsSync(p));

for (const combination of Object.keys(COMBINATIONS) as SoakOptions["combination"][]) {
  const combo = COMBINATIONS[combination];
  const needs = ["nginx", combo.postgres && "PostgreSQL", combo.redis && "redis-server"].filter(Boolean).join(", ");
  const available = NGINX !== null && (!combo.postgres || postgresAvailable) && (!combo.redis || REDIS_SERVER);

  describeWith(needs, available)(`soak, short: ${combo.name}`, () => {
    it("loses no acknowledged write, revives no ended session, and fails only inside a fault", async () => {
      const report = await runSoak({
        combination,
        seconds: 32,
        users: 40,
        windowSeconds: 10,
        steady: true,
        todos: 10,
        strategy: "hybrid",
        faults: true,
        oldSpaceMb: 96,
        thinkMs: 100,
      });
      const s = report.summary;
      const failed = judge(report).filter((check) => check.ok === false);
      // On failure: the checks missed, the faults' windows (ms from the start), and the
      // summary with each refusal's error code, Latchkey-Session-Ended and session.
      const why = { failed, startedAt: report.startedAt, windows: report.windows, details: s };
      expect(failed, JSON.stringify(why, null, 1).slice(0, 6000)).toEqual([]);
      expect(report.errors).toEqual([]);
      // The run did what it is meant to: writes, ended sessions, both faults, figures.
      expect(s.acknowledgedTodos).toBeGreaterThan(100);
      expect(s.endedSessions).toBeGreaterThan(20);
      // A service followed the feed and was shown the ended access tokens (issue 24).
      expect(report.service.presented).toBeGreaterThan(10);
      expect(report.service.missed).toBe(0);
      expect(report.windows.map((w) => w.kind)).toEqual(
        combo.redis
          ? [`SIGKILL instance ${combo.instances - 1}`, "Redis restarted empty"]
          : [`SIGKILL instance ${combo.instances - 1}`],
      );
      expect(report.samples.length).toBeGreaterThanOrEqual(3);
      for (const sample of report.samples) expect(sample.instances).toHaveLength(combo.instances);
      expect(report.samples.at(-1)?.instances.every((i) => i !== null && i.heapUsedMb > 0)).toBe(true);
      if (combo.redis) expect(report.samples.at(-1)?.redis?.keys).toBeGreaterThan(0);
      // The security log's rows are counted, and on SQLite the write-ahead log's size.
      expect(report.samples.at(-1)?.events).toBeGreaterThan(0);
      if (combination === "sqlite-redis") expect(report.samples.at(-1)?.walBytes).toBeTypeOf("number");
    }, 300_000);
  });
}
