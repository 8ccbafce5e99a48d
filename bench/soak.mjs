#!/usr/bin/env node
/**
 * Soak (`npm run soak`): the mixed workload of many users on latchkey behind nginx, for
 * each durable combination in turn (PostgreSQL + Redis and PostgreSQL with 3 instances,
 * SQLite + Redis with 1), with faults on schedule (SIGKILL of an instance at 40% of the
 * run; a private Redis killed and restarted empty at 80%), figures every 30 s, and a
 * ledger of acknowledged writes and ended sessions checked at the end against the
 * database and every instance. See docs/deployment.md ("Sustained load").
 *
 *   npm run soak                               # 15 minutes per combination, 200 users
 *   SOAK_SECONDS=120 SOAK_USERS=60 npm run soak
 *   SOAK_COMBINATIONS=postgres-redis           # or postgres, sqlite-redis (comma-separated)
 *   SOAK_MODE=growing                          # each user's to-do list grows (default: steady)
 *   SOAK_FAULTS=0                              # no kill, no Redis restart
 *   SOAK_STRATEGY=session                      # the cookie strategy (default: hybrid)
 *   SOAK_OLD_SPACE_MB=96                       # each instance's --max-old-space-size
 *   SOAK_THINK_MS=500                          # a user's mean pause between steps (0 to twice it)
 *   SOAK_ACCESS_TTL=120                        # ACCESS_TOKEN_TTL: the change feed keeps one lifetime
 *   SOAK_EVENT_RETENTION=3min                  # EVENT_RETENTION: the security log keeps three minutes
 *   SOAK_REPORT=soak.json                      # also write the whole report as JSON
 *
 * Exits 1 when a target is missed: 0 lost, 0 revived, 0 5xx outside a fault's window,
 * and from 10 minutes on, last-minute throughput >= 0.9 of the second minute's and heap,
 * Redis memory, the SQLite write-ahead log and the security log flat.
 */
import { writeFileSync } from "node:fs";
import { judge } from "./soak/judge.mjs";
import { COMBINATIONS, runSoak } from "./soak/run.mjs";

const env = process.env;
const options = {
  seconds: Number(env.SOAK_SECONDS ?? 900),
  users: Number(env.SOAK_USERS ?? 200),
  windowSeconds: Number(env.SOAK_WINDOW_SECONDS ?? 30),
  steady: (env.SOAK_MODE ?? "steady") === "steady",
  todos: Number(env.SOAK_TODOS ?? 20),
  strategy: env.SOAK_STRATEGY ?? "hybrid",
  faults: env.SOAK_FAULTS !== "0",
  oldSpaceMb: Number(env.SOAK_OLD_SPACE_MB ?? 96),
  thinkMs: Number(env.SOAK_THINK_MS ?? 500),
  accessTtl: Number(env.SOAK_ACCESS_TTL ?? 120),
  eventRetention: env.SOAK_EVENT_RETENTION ?? "3min",
};
const combinations = (env.SOAK_COMBINATIONS ?? Object.keys(COMBINATIONS).join(",")).split(",");

const reports = [];
let failed = false;
for (const combination of combinations) {
  const report = await runSoak({ ...options, combination, log: (line) => console.log(line) });
  const checks = judge(report);
  report.checks = checks;
  reports.push(report);
  const s = report.summary;
  console.log(
    `\n${report.name}: ${s.requests} requests in ${report.durationSeconds} s; per minute ${s.perMinute.join(" ")}`,
  );
  console.log(`  ${s.acknowledgedTodos} to-dos held (${s.todosPerUser} per user), ${s.endedSessions} sessions ended`);
  for (const w of report.windows) {
    console.log(
      `  fault: ${w.kind} at ${(w.start / 1000).toFixed(0)} s, recovered at ${(w.recovered / 1000).toFixed(1)} s` +
        (w.everyoneBack
          ? `, every user ${w.kind.startsWith("Redis") ? "signed in" : "served"} again at ${(w.everyoneBack / 1000).toFixed(1)} s`
          : "") +
        `, window closed at ${(w.end / 1000).toFixed(1)} s`,
    );
  }
  console.log(`  5xx in fault windows: ${JSON.stringify(s.failuresInWindows)}`);
  if (s.refusedLiveExpected) console.log(`  sessions lost with the Redis restart: ${s.refusedLiveExpected}`);
  for (const check of checks) {
    const mark = check.ok === null ? "  -  " : check.ok ? " ok  " : "MISS ";
    console.log(`  ${mark} ${check.name}: ${check.figure}`);
    if (check.ok === false) failed = true;
  }
  for (const key of [
    "lostDetails",
    "revivedDetails",
    "failuresOutsideDetails",
    "refusedLiveDetails",
    "unexpectedDetails",
  ]) {
    if (s[key].length > 0) console.log(`  ${key}: ${JSON.stringify(s[key].slice(0, 5))}`);
  }
  for (const crash of report.crashes) console.log(`  crash of instance ${crash.instance}:\n${crash.tail}`);
  for (const error of report.errors) console.log(`  load generator error: ${error}`);
  if (report.errors.length > 0) failed = true;
  console.log();
}
if (env.SOAK_REPORT) writeFileSync(env.SOAK_REPORT, `${JSON.stringify(reports, null, 2)}\n`);
process.exit(failed ? 1 : 0);
