// The soak's deployment: latchkey instances behind Debian's nginx (rendered from
// deploy/nginx.conf, as test/helpers/cluster.ts does), a fresh PostgreSQL schema or SQLite
// file, and a private Redis the suite may kill and restart. Every instance runs with a
// bounded old space (a leak ends it with an out-of-memory crash, which the soak reports)
// and the event-loop probe, which here also reports the instance's memory.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { freePort } from "../lib.mjs";

const root = join(new URL(".", import.meta.url).pathname, "../..");
export const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path)) ?? null;
export const REDIS_SERVER = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p)) ?? null;
export const POSTGRES_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, withinMs) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not within ${withinMs} ms`);
    await sleep(50);
  }
}

/** A Redis of the suite's own, on a free port, keeping nothing on disk. */
export async function startPrivateRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "latchkey-soak-redis-"));
  let proc;
  const start = async () => {
    proc = spawn(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    await until("Redis", () => client.ping().then((answer) => answer === "PONG"), 10_000);
  };
  const url = `redis://127.0.0.1:${port}`;
  // The suite's own connection, for INFO and DBSIZE; it reconnects after a restart.
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on("error", () => {}); // down on purpose during a restart
  await start();
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
  };
  return {
    url,
    client,
    /** Kills Redis (SIGKILL) and starts it again, empty. */
    async restart(downMs = 1000) {
      await stop();
      await sleep(downMs);
      await start();
    },
    /** used_memory, the key count, and the bytes of each of `keys` (MEMORY USAGE). */
    async memory(keys = []) {
      const info = await client.info("memory");
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
      const bytes = {};
      for (const key of keys) bytes[key] = (await client.memory("USAGE", key)) ?? 0;
      return { usedMemory: used, keys: await client.dbsize(), bytes };
    },
    async close() {
      client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema in the local PostgreSQL; `url` connects into it. */
export async function freshPostgresSchema() {
  const name = `lk_soak_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  await admin.query(`create schema ${name}`);
  const separator = POSTGRES_URL.includes("?") ? "&" : "?";
  return {
    name,
    url: `${POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    /** Size (table and its indexes, bytes) and row estimate of each table in the schema. */
    async tables() {
      const { rows } = await admin.query(
        `select c.relname as name, pg_table_size(c.oid)::bigint as table_bytes,
                pg_indexes_size(c.oid)::bigint as index_bytes, c.reltuples::bigint as row_estimate
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relkind = 'r'`,
        [name],
      );
      return Object.fromEntries(
        rows.map((r) => [r.name, { tableBytes: Number(r.table_bytes), indexBytes: Number(r.index_bytes) }]),
      );
    },
    query: (text, values) => admin.query(text, values),
    /** The security log's rows now (the sweep removes those past EVENT_RETENTION). */
    async events() {
      const { rows } = await admin.query(`select count(*)::bigint as n from ${name}.events`);
      return Number(rows[0]?.n ?? 0);
    },
    /**
     * What autovacuum does, for a server that has it off (this machine's test PostgreSQL):
     * VACUUM the schema's tables, so their sizes show live data, not dead rows. Returns
     * whether it ran (autovacuum off) or left it to the server (on).
     */
    async vacuumIfNoAutovacuum() {
      const { rows } = await admin.query("show autovacuum");
      if (rows[0]?.autovacuum === "on") return false;
      const tables = await admin.query(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'",
        [name],
      );
      for (const { relname } of tables.rows) await admin.query(`vacuum ${name}.${relname}`);
      return true;
    },
    async drop() {
      await admin.query(`drop schema if exists ${name} cascade`);
      await admin.end();
    },
  };
}

/** A fresh SQLite file; its size (with its write-ahead log) is what grows. */
export function freshSqliteFile() {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-soak-sqlite-"));
  const file = join(dir, "latchkey.db");
  const size = (path) => (existsSync(path) ? statSync(path).size : 0);
  return {
    file,
    url: `sqlite:${file}`,
    tables: async () => ({ "(file)": { tableBytes: size(file), indexBytes: 0, walBytes: size(`${file}-wal`) } }),
    /** The write-ahead log's size now: bounded by journal_size_limit (4 MiB) after each checkpoint. */
    walBytes: () => size(`${file}-wal`),
    /** The security log's rows now, read by a connection of its own (WAL readers do not block the server). */
    async events() {
      const { default: Database } = await import("better-sqlite3");
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return Number(db.prepare("select count(*) as n from events").get().n);
      } finally {
        db.close();
      }
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One `latchkey serve` process on a fixed port, restartable after a kill. */
class Instance {
  constructor(index, port, env, oldSpaceMb) {
    this.index = index;
    this.port = port;
    this.env = env;
    this.oldSpaceMb = oldSpaceMb;
    this.base = `http://127.0.0.1:${port}`;
    /** Exits nobody asked for (an out-of-memory crash, say), with the output's tail. */
    this.crashes = [];
  }

  async start() {
    const probe = join(root, "bench/servers/event-loop-probe.cjs");
    const proc = spawn(process.execPath, ["packages/server/bin/latchkey.js", "serve"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        ...this.env,
        PORT: String(this.port),
        NODE_OPTIONS: `--require ${probe} --max-old-space-size=${this.oldSpaceMb}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    this.startedAt = Date.now();
    this.output = "";
    this.killed = false;
    this.reports = [];
    let line = "";
    const keep = (chunk) => {
      this.output = (this.output + chunk).slice(-200_000);
    };
    proc.stdout.on("data", (chunk) => {
      keep(chunk);
      const lines = (line + chunk).split("\n");
      line = lines.pop();
      for (const l of lines) if (l.startsWith('{"eventLoopDelay"')) this.reports.push(JSON.parse(l));
    });
    proc.stderr.on("data", keep);
    proc.once("exit", (code, signal) => {
      if (!this.killed && !this.stopping) {
        this.crashes.push({ at: Date.now(), code, signal, tail: this.output.slice(-4000) });
      }
    });
    const healthz = () => fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok);
    await until(`instance ${this.index}`, healthz, 30_000).catch((error) => {
      const state = this.running ? "still running" : `exited (${proc.exitCode ?? proc.signalCode})`;
      throw new Error(`${error.message}, ${state}; its output ends:\n${this.output.slice(-3000)}`);
    });
  }

  get running() {
    return this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async kill() {
    this.killed = true;
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGKILL");
    await exited;
  }

  /** The probe's report since the previous one: event-loop delay, GC pauses, memory. */
  async sample() {
    if (!this.running) return null;
    this.reports.length = 0;
    this.proc.kill("SIGUSR2");
    for (let i = 0; i < 100 && this.reports.length === 0; i++) await sleep(20);
    return this.reports.shift() ?? null;
  }

  async stop() {
    if (!this.running) return;
    this.stopping = true;
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGTERM");
    await exited;
  }
}

/**
 * `count` instances on `env` behind nginx. The origin is nginx's; `TRUST_PROXY=2` makes the
 * simulated users' own `X-Forwarded-For` address count (as behind a CDN in front of nginx),
 * so the per-address login limits apply per user, not to the whole load generator.
 */
export async function startDeployment({ count, env, oldSpaceMb }) {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-soak-nginx-"));
  const nginxPort = await freePort();
  const origin = `http://localhost:${nginxPort}`;
  const fullEnv = { LOG_LEVEL: "warn", ...env, PUBLIC_ORIGIN: origin, TRUST_PROXY: "2" };
  const instances = [];
  for (let i = 0; i < count; i++) {
    const instance = new Instance(i, await freePort(), fullEnv, oldSpaceMb);
    await instance.start();
    instances.push(instance);
  }
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub), { recursive: true });
  const conf = readFileSync(join(root, "deploy/nginx.conf"), "utf8")
    .replaceAll("{{PREFIX}}", dir)
    .replaceAll("{{LISTEN}}", `127.0.0.1:${nginxPort}`)
    .replaceAll("{{UPSTREAMS}}", instances.map((i) => `server 127.0.0.1:${i.port};`).join("\n    "));
  writeFileSync(join(dir, "nginx.conf"), conf);
  const nginx = spawn(NGINX, ["-c", join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  await until("nginx", () => fetch(`${origin}/healthz`).then((r) => r.ok), 10_000);
  return {
    origin,
    instances,
    /** Waits until every instance answers `/healthz` with 200 (its stores reachable). */
    healthy: (withinMs = 30_000) =>
      until(
        "every instance healthy",
        async () => {
          const answers = await Promise.all(instances.map((i) => fetch(`${i.base}/healthz`).then((r) => r.ok)));
          return answers.every(Boolean);
        },
        withinMs,
      ),
    async stop() {
      nginx.kill("SIGTERM");
      await Promise.all(instances.map((i) => i.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
