/**
 * Issue 26, item 3: every bench command README.md and docs/ tell a reader to run works as
 * written. The commands are read from the markdown (inline code and `sh` blocks), so a newly
 * documented one is run here without being listed: `npm run <bench…|soak…>` and
 * `node bench/….mjs`, with the environment the docs set before them. Each runs once in its
 * short mode (the env knobs below, on top of the documented ones: the figures of a short run
 * mean nothing, the point is that the command runs), must exit 0 and print its results.
 * An npm script runs without its leading build step: `npm test` built everything first.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { NGINX } from "../helpers/cluster.js";
import { POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
const REDIS_SERVER = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].some((p) => existsSync(p));
const TEMP = mkdtempSync(join(tmpdir(), "latchkey-bench-commands-"));
afterAll(() => rmSync(TEMP, { recursive: true, force: true }));

/** What a bench needs, its short mode, and the output that shows it ran to the end. */
interface Mode {
  needs?: Array<[service: string, available: boolean]>;
  env: Record<string, string>;
  /** Replaces the documented arguments, each of which must match `args.documented`. */
  args?: { documented: RegExp; short: string };
  /** What the run prints, given its environment. */
  prints: RegExp[] | ((env: Record<string, string>) => RegExp[]);
  timeoutMs: number;
}

const MODES: Record<string, Mode> = {
  "bench/auth-cost.mjs": {
    env: { BENCH_ROUNDS: "1", BENCH_CHECKS: "200" },
    prints: [
      /^session cookie \(SQLite read\)\s+[\d.]+ µs\/check$/m,
      /^access token EdDSA, first sight\s+[\d.]+ µs\/check$/m,
      /^access token HS256, seen before\s+[\d.]+ µs\/check$/m,
    ],
    timeoutMs: 60_000,
  },
  "bench/core-path.mjs": {
    env: { BENCH_ROUNDS: "1", BENCH_CHECKS: "200" },
    prints: [
      /^session, GET \/auth\/me\s+[\d.]+ µs$/m,
      /^session cookie: the store's one read\s+[\d.]+ µs$/m,
      /^jwt, GET \/auth\/me\s+[\d.]+ µs$/m,
      /^hybrid, GET \/auth\/me\s+[\d.]+ µs$/m,
      /^bearer, GET \/auth\/me\s+[\d.]+ µs$/m,
    ],
    timeoutMs: 60_000,
  },
  "bench/redis-memory.mjs": {
    needs: [["Redis", redisAvailable]],
    env: { REDIS_URL },
    args: { documented: /^\d*$/, short: "200" },
    prints: [/^cookie session\s+\d+ bytes\/session {2}\(200 sessions\)$/m, /^session \+ refresh token \(jwt\)\s+\d+ /m],
    timeoutMs: 60_000,
  },
  "bench/run.mjs": {
    env: {
      BENCH_SECONDS: "1",
      BENCH_ROUNDS: "1",
      BENCH_ONLY: "^session, SQLite, /auth/me$",
      BENCH_RESULTS: join(TEMP, "results"),
    },
    prints: [
      /^configuration\s+req\/s\s+p50 ms/m,
      /^ceiling: bare Fastify\s+\d+/m,
      /^session, SQLite, \/auth\/me\s+\d+.*≥0\.85 floor (yes|NO)/m,
      /^Better Auth \(defaults\), \/auth\/me\s+\d+/m,
      /^Better Auth \(cookie cache\), \/auth\/me\s+\d+/m,
      /^floor: Hono \+ one SQLite read\s+\d+/m,
      /^Express 5 \+ latchkey\/express, \/auth\/me\s+\d+.*≥0\.85 floor (yes|NO)/m,
      /^Hono \+ latchkey\/hono, \/auth\/me\s+\d+.*≥8× BA (yes|NO)/m,
      /^node:http \+ latchkey\/fetch, \/auth\/me\s+\d+/m,
      /^node:http \+ latchkey\/express, \/auth\/me\s+\d+.*≥0\.85 floor (yes|NO)/m,
      /^bound: node:http \+ bridge \+ one SQLite read\s+\d+/m,
      /^floor with latchkey's I\/O: \+ headers, csrfToken\s+\d+/m,
      /^Fastify \+ latchkey\/fastify, \/auth\/me\s+\d+.*≥0\.85 floor (yes|NO)/m,
      /^wrote \S+results\/[\dT-]+\.json and \.svg$/m,
    ],
    // Some twenty servers, each started, warmed up and measured for a second: two minutes on
    // this 2-core machine while other tests run.
    timeoutMs: 240_000,
  },
  "bench/scale.mjs": {
    // Its PostgreSQL + Redis part runs when both are there: CI needs them.
    needs: [
      ["PostgreSQL", postgresAvailable],
      ["Redis", redisAvailable],
    ],
    env: { BENCH_SECONDS: "1", BENCH_ROUNDS: "1", SCALE_SESSIONS: "5000", SCALE_QUIET_SECONDS: "2" },
    prints(env) {
      const parts = (env.SCALE_PARTS ?? "sqlite,sweep,redis").split(",");
      return [
        ...(parts.includes("sqlite") || parts.includes("redis") ? [/^store\s+1000 req\/s\s+5000 req\/s\s+loss$/m] : []),
        ...(parts.includes("sqlite")
          ? [
              /^SQLite\s+\d+\s+\d+\s+-?[\d.]+%$/m,
              /^SQLite: RSS \d+ MB \(peak \d+\) at 1000 sessions, \d+ MB \(peak \d+\) at 5000; the files [\d.]+ and [\d.]+ MB$/m,
            ]
          : []),
        ...(parts.includes("redis")
          ? [
              /^PostgreSQL \+ Redis\s+\d+\s+\d+\s+-?[\d.]+%$/m,
              /^PostgreSQL \+ Redis \(the latchkey process\): RSS \d+ MB \(peak \d+\) at 1000 sessions/m,
            ]
          : []),
        ...(parts.includes("sweep") ? [/^sweep of 5000 expired SQLite rows under load: [\d.]+ s;.* 0 non-2xx$/m] : []),
      ];
    },
    timeoutMs: 150_000,
  },
  "bench/login-load.mjs": {
    env: { BENCH_SECONDS: "1" },
    prints: [
      /^with 16 clients logging in: .* \d+ logins$/m,
      /^paced at \d+ req\/s, alone: \d+ req\/s/m,
      /^paced, with the logins: .* \d+ logins$/m,
      /^paced, beside hashing: .* no login$/m,
      /^p99 ratio [\d.]+ \(target < 3\)/m,
      /^event-loop delay p99 with the logins \(target < 10 ms\): saturated [\d.]+ ms, (met|not met|bounded).*; paced [\d.]+ ms, (met|not met|bounded).* \(bound: beside hashing, [\d.]+ ms\)$/m,
    ],
    timeoutMs: 60_000,
  },
  "bench/services.mjs": {
    env: { BENCH_ROUNDS: "1", BENCH_SECONDS: "1" },
    prints: [
      /^\| per request: latchkey\/verify \(JWKS \+ revocation set\) \| [\d.]+ µs \|$/m,
      /^\| latchkey CPU per event per stream subscriber \| [\d.]+ µs \(\d+ of \d+ events delivered\) \|$/m,
      /^\| what 100 stream subscribers cost `\/auth\/me`'s throughput \(target: under 5%\) \| -?[\d.]+% /m,
    ],
    timeoutMs: 120_000,
  },
  "bench/soak.mjs": {
    needs: [
      ["nginx", NGINX !== null],
      ["redis-server", REDIS_SERVER],
    ],
    env: {
      SOAK_SECONDS: "20",
      SOAK_USERS: "10",
      SOAK_WINDOW_SECONDS: "5",
      SOAK_COMBINATIONS: "sqlite-redis",
      SOAK_REPORT: join(TEMP, "soak.json"),
    },
    prints: [
      /^SQLite \+ Redis, 1 instance: \d+ requests in \d+ s/m,
      /^ {3}ok {3}acknowledged to-dos lost or wrong: 0$/m,
    ],
    timeoutMs: 150_000,
  },
};

/** One command as documented, where, and what it takes to run it here. */
interface Documented {
  where: string;
  text: string;
  env: Record<string, string>;
  /** The command line after the npm script is resolved, without its build step. */
  command: string;
  file: string;
  args: string;
}

const ASSIGNMENT = /^([A-Z][A-Z0-9_]*)=('[^']*'|"[^"]*"|[^\s'"]+)\s+/;
const BENCH = /^(?:npm run(?: -s)? ((?:bench|soak)[\w:-]*)|node (bench\/[\w./-]+))(.*)$/;

/** Inline code (which may wrap onto a second line) and the lines of fenced blocks. */
function codeOf(file: string): Array<{ where: string; text: string }> {
  const markdown = readFileSync(join(ROOT, file), "utf8");
  const found: Array<{ where: string; text: string }> = [];
  const lineAt = (index: number) => `${file}:${markdown.slice(0, index).split("\n").length}`;
  const fences = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const block of markdown.matchAll(fences)) {
    const start = block.index + block[0].indexOf("\n") + 1;
    let offset = start;
    for (const line of (block[1] as string).split("\n")) {
      found.push({ where: lineAt(offset), text: line.replace(/\s+#.*$/, "") });
      offset += line.length + 1;
    }
  }
  const prose = markdown.replace(fences, (block) => block.replace(/[^\n]/g, " "));
  for (const span of prose.matchAll(/`([^`\n]+(?:\n[^`\n]+)?)`/g)) {
    found.push({ where: lineAt(span.index), text: span[1] as string });
  }
  return found.map((c) => ({ ...c, text: c.text.replace(/\s+/g, " ").trim() }));
}

function parse(where: string, text: string): Documented | null {
  let rest = text;
  const env: Record<string, string> = {};
  for (let m = ASSIGNMENT.exec(rest); m; m = ASSIGNMENT.exec(rest)) {
    env[m[1] as string] = (m[2] as string).replace(/^(['"])(.*)\1$/, "$2");
    rest = rest.slice(m[0].length);
  }
  const bench = BENCH.exec(rest);
  if (!bench) return null;
  const [, script, node, args = ""] = bench;
  let command = `node ${node}`;
  if (script !== undefined) {
    const body = SCRIPTS[script];
    if (body === undefined) throw new Error(`${where}: \`${text}\`: package.json has no script "${script}"`);
    command = body.replace(/^npm run(?: -s)? build(?::server)? && /, "");
  }
  const file = /^node (bench\/\S+\.mjs)$/.exec(command)?.[1];
  if (file === undefined) throw new Error(`${where}: \`${text}\` runs \`${command}\`, not one bench script`);
  return { where, text, env, command, file, args: args.trim() };
}

const documented = FILES.flatMap(codeOf).flatMap(({ where, text }) => parse(where, text) ?? []);

/** The documented commands, one run per distinct command line and environment in short mode. */
const runs = new Map<string, { first: Documented; all: Documented[]; env: Record<string, string>; line: string }>();
for (const d of documented) {
  const mode = MODES[d.file];
  const env = { ...d.env, ...mode?.env };
  const line = `${d.command}${mode?.args ? ` ${mode.args.short}` : d.args ? ` ${d.args}` : ""}`;
  const key = JSON.stringify([line, Object.entries(env).sort()]);
  const run = runs.get(key) ?? { first: d, all: [], env, line };
  run.all.push(d);
  runs.set(key, run);
}

/** What the clone's bench/results holds (a fresh clone has no such folder). */
const cloneResults = () => (existsSync(join(ROOT, "bench/results")) ? readdirSync(join(ROOT, "bench/results")) : []);

function run(line: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", line], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? TEMP,
        LATCHKEY_TEST_POSTGRES_URL: POSTGRES_URL,
        LATCHKEY_TEST_REDIS_URL: REDIS_URL,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

it("the docs document the bench commands, each runnable as written, with knobs the benches read", () => {
  const files = new Set(documented.map((d) => d.file));
  for (const file of [
    "bench/auth-cost.mjs",
    "bench/core-path.mjs",
    "bench/redis-memory.mjs",
    "bench/run.mjs",
    "bench/soak.mjs",
  ]) {
    expect(files, `${file} is documented`).toContain(file);
  }
  const sources = readdirSync(join(ROOT, "bench"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => readFileSync(join(ROOT, "bench", f), "utf8"))
    .join("\n");
  for (const d of documented) {
    expect(d.text, `${d.where}: a documented command is written out, not a placeholder`).not.toMatch(/<[^>]*>/);
    expect(MODES[d.file], `${d.where}: \`${d.text}\` needs its short mode in MODES here`).toBeDefined();
    for (const name of Object.keys(d.env)) {
      expect(sources, `${d.where}: \`${d.text}\` sets ${name}, which no bench reads`).toMatch(
        new RegExp(`\\benv\\.${name}\\b`),
      );
    }
    const accepts = MODES[d.file]?.args?.documented ?? /^$/;
    expect(d.args, `${d.where}: \`${d.text}\`: arguments the short mode does not expect`).toMatch(accepts);
  }
});

for (const { first, all, env, line } of runs.values()) {
  const mode = MODES[first.file];
  if (mode === undefined) continue; // the test above fails for it
  const missing = (mode.needs ?? []).filter(([, available]) => !available).map(([service]) => service);
  describeWith(missing.join(", "), missing.length === 0)(`\`${first.text}\` (${first.where})`, () => {
    it(`runs in its short mode and prints its results (documented at ${all.map((d) => d.where).join(", ")})`, {
      timeout: mode.timeoutMs,
    }, async () => {
      const resultsBefore = cloneResults();
      const result = await run(line, env);
      const shown = `${line}\n${result.out.slice(-3000)}\n${result.err.slice(-3000)}`;
      expect(result.code, shown).toBe(0);
      const prints = typeof mode.prints === "function" ? mode.prints(env) : mode.prints;
      expect(prints.length).toBeGreaterThan(0);
      for (const pattern of prints) expect(result.out, shown).toMatch(pattern);
      // A short run writes into the test's folder, never the clone's.
      expect(cloneResults()).toEqual(resultsBefore);
      if (env.SOAK_REPORT) expect(JSON.parse(readFileSync(env.SOAK_REPORT, "utf8"))).toHaveLength(1);
      if (env.BENCH_RESULTS) expect(readdirSync(env.BENCH_RESULTS).sort().join(" ")).toMatch(/\.json .*\.svg$/);
    });
  });
}
