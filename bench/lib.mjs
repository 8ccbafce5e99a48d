// Helpers the bench scripts share.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";

const root = join(new URL(".", import.meta.url).pathname, "..");

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The keys of `redis` that start with `prefix`, in batches. */
export async function* keysWithPrefix(redis, prefix) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== "0");
}

/** Deletes every key of `redis` that starts with `prefix`. */
export async function deleteKeysWithPrefix(redis, prefix) {
  for await (const keys of keysWithPrefix(redis, prefix)) await redis.unlink(...keys);
}

/** The User-Agent of the filler sessions: a current desktop Chrome. */
export const FILLER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

/**
 * A session record as a sign-in at `now` makes it (the default 30-minute idle and
 * 12-hour absolute timeouts), with a random id and secret hash, for filling a store.
 */
export function fillerSession(userId, now, kind = "session") {
  return {
    id: randomBytes(16).toString("base64url"),
    userId,
    secretHash: randomBytes(32).toString("base64url"),
    kind,
    remember: false,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 43_200_000,
    idleTimeoutMs: 1_800_000,
    idleExpiresAt: now + 1_800_000,
    ip: "203.0.113.7",
    userAgent: FILLER_AGENT,
    previousSecretHash: null,
    secretRotatedAt: now,
    authTime: now,
    amr: ["pwd"],
  };
}

/** Whether PostgreSQL answers at `url` within a second. */
export async function postgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether Redis answers at `url`, without retrying. */
export async function redisReachable(url) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * `latchkey serve` with the event-loop probe preloaded (bench/servers/event-loop-probe.cjs),
 * at `LOG_LEVEL=warn` on a free port, once it answers `/healthz`. `eventLoop()` reads the
 * server's event-loop delay (ms) and GC pauses since the previous call.
 */
export async function startProbedServer(env) {
  const port = await freePort();
  const proc = spawn(process.execPath, ["packages/server/bin/latchkey.js", "serve"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOG_LEVEL: "warn",
      NODE_OPTIONS: `--require ${join(root, "bench/servers/event-loop-probe.cjs")}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  proc.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    base,
    pid: proc.pid,
    async eventLoop() {
      const before = output.length;
      proc.kill("SIGUSR2");
      for (let i = 0; i < 100 && output.length === before; i++) await new Promise((r) => setTimeout(r, 20));
      const report = JSON.parse(output.slice(before).trim().split("\n").pop());
      return { ...report.eventLoopDelay, gc: report.gc };
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(); // stopped already
        proc.once("exit", resolve);
        proc.kill("SIGTERM");
      }),
  };
}
