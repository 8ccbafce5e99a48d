/**
 * Redis deployments made by the tests on 127.0.0.1, from Debian's `redis-server` and
 * `redis-sentinel`: a primary with two replicas watched by three Sentinels, and a Cluster
 * of three primaries with two replicas each. Every process keeps its files in a temporary
 * directory and is killed by `stop()`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";

const run = promisify(execFile);

const find = (...paths: string[]) => paths.find((path) => existsSync(path)) ?? null;
export const REDIS_SERVER = find("/usr/bin/redis-server", "/usr/local/bin/redis-server");
/** Debian's redis-sentinel package: the same binary started in Sentinel mode. */
export const REDIS_SENTINEL = find("/usr/bin/redis-sentinel", "/usr/local/bin/redis-sentinel");
export const REDIS_CLI = find("/usr/bin/redis-cli", "/usr/local/bin/redis-cli");
export const sentinelAvailable = REDIS_SERVER !== null && REDIS_SENTINEL !== null && REDIS_CLI !== null;
export const clusterAvailable = REDIS_SERVER !== null && REDIS_CLI !== null;

/** A port that is free, and (for a Cluster node) whose bus port, 10000 above, is free too. */
async function freePorts(count: number, withBus = false): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (ports.includes(port) || (withBus && ports.includes(port + 10_000))) continue;
    if ((await isFree(port)) && (!withBus || (await isFree(port + 10_000)))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, withinMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(100);
  }
}

/** A one-off connection to a node that may be down: its errors are the caller's to see. */
function quiet(port: number): Redis {
  const client = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  return client;
}

/** One command to one node, on a connection of its own. */
export async function ask(port: number, ...command: string[]): Promise<string> {
  const client = quiet(port);
  try {
    await client.connect();
    return String(await client.call(command[0] as string, ...command.slice(1)));
  } finally {
    client.disconnect();
  }
}

interface Processes {
  dir: string;
  procs: Map<number, ChildProcess>;
  start(port: number, args: string[], binary?: string): void;
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  stopAll(): Promise<void>;
}

function processes(name: string): Processes {
  const dir = mkdtempSync(join(tmpdir(), `latchkey-${name}-`));
  const procs = new Map<number, ChildProcess>();
  const kill = async (port: number, signal: NodeJS.Signals = "SIGKILL") => {
    const proc = procs.get(port);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill(signal);
    await exited;
  };
  return {
    dir,
    procs,
    start(port, args, binary = REDIS_SERVER as string) {
      const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "ignore"] });
      procs.set(port, proc);
    },
    kill,
    async stopAll() {
      // A paused process (SIGSTOP) dies of SIGKILL as well.
      await Promise.all([...procs.keys()].map((port) => kill(port)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const serverArgs = (port: number, dir: string) => [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  "--dir",
  dir,
];

export interface SentinelDeployment {
  /** `redis+sentinel://...` naming the three Sentinels. */
  url: string;
  name: string;
  sentinelPorts: number[];
  /** The port of the primary the Sentinels name now. */
  primary(): Promise<number>;
  replicaPorts(): Promise<number[]>;
  /**
   * Kills a node (SIGKILL), or pauses it (SIGSTOP) and resumes it (SIGCONT). A paused
   * replica still receives the replication stream into its socket buffer, and applies it
   * when resumed; `cutReplicas` closes the links so that it cannot.
   */
  signal(port: number, signal: "SIGKILL" | "SIGSTOP" | "SIGCONT"): Promise<void>;
  /** Closes the primary's links to its replicas (they reconnect, unless paused). */
  cutReplicas(): Promise<void>;
  /** Resolves once the Sentinels name a primary other than `port`, and it has its replicas. */
  promotedFrom(port: number, withinMs: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A primary, two replicas and three Sentinels (quorum 2) that call a primary down after
 * one second of silence.
 */
export async function startSentinelDeployment(): Promise<SentinelDeployment> {
  const name = "lkprimary";
  const p = processes("sentinel");
  const [primary, replicaA, replicaB, ...sentinels] = (await freePorts(6)) as [number, number, number, ...number[]];
  try {
    p.start(primary, serverArgs(primary, p.dir));
    for (const replica of [replicaA, replicaB]) {
      p.start(replica, [...serverArgs(replica, p.dir), "--replicaof", "127.0.0.1", String(primary)]);
    }
    await until("the replicas in sync", 15_000, async () => {
      const info = await ask(primary, "INFO", "replication");
      return (info.match(/state=online/g) ?? []).length === 2;
    });
    for (const port of sentinels) {
      const dir = join(p.dir, `sentinel-${port}`);
      mkdirSync(dir);
      const conf = join(dir, "sentinel.conf");
      writeFileSync(
        conf,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 2`,
          "",
        ].join("\n"),
      );
      p.start(port, [conf], REDIS_SENTINEL as string);
    }
    await until("the Sentinels agreed", 15_000, async () => {
      for (const port of sentinels) {
        const reply = await ask(port, "SENTINEL", "CKQUORUM", name);
        if (!reply.startsWith("OK")) return false;
      }
      return true;
    });
  } catch (error) {
    await p.stopAll();
    throw error;
  }
  const primaryNow = async () => {
    for (const port of sentinels) {
      try {
        const client = quiet(port);
        await client.connect();
        const reply = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string];
        client.disconnect();
        return Number(reply[1]);
      } catch {
        // ask the next
      }
    }
    throw new Error("no Sentinel answered");
  };
  return {
    url: `redis+sentinel://${sentinels.map((port) => `127.0.0.1:${port}`).join(",")}/${name}`,
    name,
    sentinelPorts: sentinels,
    primary: primaryNow,
    async replicaPorts() {
      const current = await primaryNow();
      return [primary, replicaA, replicaB].filter((port) => port !== current);
    },
    async signal(port, signal) {
      if (signal === "SIGKILL") await p.kill(port);
      else p.procs.get(port)?.kill(signal);
    },
    async cutReplicas() {
      await ask(await primaryNow(), "CLIENT", "KILL", "TYPE", "replica");
    },
    async promotedFrom(old, withinMs) {
      let promoted = old;
      await until("a replica promoted", withinMs, async () => {
        promoted = await primaryNow();
        if (promoted === old) return false;
        return (await ask(promoted, "ROLE")).startsWith("master");
      });
      return promoted;
    },
    stop: () => p.stopAll(),
  };
}

export interface ClusterDeployment {
  /** `redis+cluster://...` naming every node. */
  url: string;
  ports: number[];
  /** The primary serving `key`'s slot now. */
  primaryOf(key: string): Promise<number>;
  /** The replicas of the primary serving `key`'s slot now. */
  replicasOf(key: string): Promise<number[]>;
  kill(port: number): Promise<void>;
  /** Pauses a node (SIGSTOP) or resumes it (SIGCONT). */
  signal(port: number, signal: "SIGSTOP" | "SIGCONT"): Promise<void>;
  /** Resolves once another node serves `key`'s slot as a primary and the cluster is ok. */
  promotedFrom(old: number, key: string, withinMs: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Three primaries with two replicas each, calling a node failed after one second. Two, so
 * that a promoted replica still has one to acknowledge writes (`REDIS_WAIT_REPLICAS`).
 */
export async function startClusterDeployment(): Promise<ClusterDeployment> {
  const p = processes("cluster");
  const ports = await freePorts(9, true);
  try {
    for (const port of ports) {
      const dir = join(p.dir, String(port));
      mkdirSync(dir);
      p.start(port, [
        ...serverArgs(port, dir),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, "nodes.conf"),
        "--cluster-node-timeout",
        "1000",
      ]);
    }
    await until("the nodes up", 10_000, async () => {
      for (const port of ports) if ((await ask(port, "PING")) !== "PONG") return false;
      return true;
    });
    await run(REDIS_CLI as string, [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "2",
      "--cluster-yes",
    ]);
    await until("the cluster ok, each primary's replicas in sync", 30_000, async () => {
      let synced = 0;
      for (const port of ports) {
        if (!(await ask(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) return false;
        if ((await ask(port, "INFO", "replication")).match(/state=online/g)?.length === 2) synced++;
      }
      return synced === 3;
    });
  } catch (error) {
    await p.stopAll();
    throw error;
  }
  /** `key`'s slot's nodes, as a node answers `CLUSTER SLOTS`: the primary's port first, then its replicas'. */
  const nodesOf = async (key: string, asking = ports) => {
    for (const port of asking) {
      if (p.procs.get(port)?.exitCode !== null || p.procs.get(port)?.signalCode !== null) continue;
      try {
        const slot = Number(await ask(port, "CLUSTER", "KEYSLOT", key));
        const client = quiet(port);
        await client.connect();
        const slots = (await client.call("CLUSTER", "SLOTS")) as Array<[number, number, ...Array<[string, number]>]>;
        client.disconnect();
        const range = slots.find(([from, to]) => from <= slot && slot <= to);
        if (range) return (range.slice(2) as Array<[string, number]>).map((node) => Number(node[1]));
      } catch {
        // ask the next
      }
    }
    throw new Error("no node answered");
  };
  const primaryOf = async (key: string, asking = ports) => (await nodesOf(key, asking))[0] as number;
  return {
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
    ports,
    primaryOf: (key) => primaryOf(key),
    // From the primary itself: CLUSTER SLOTS may not list a replica yet.
    replicasOf: async (key) => {
      const info = await ask(await primaryOf(key), "INFO", "replication");
      return [...info.matchAll(/^slave\d+:ip=[^,]+,port=(\d+)/gm)].map((match) => Number(match[1]));
    },
    kill: (port) => p.kill(port),
    async signal(port, signal) {
      p.procs.get(port)?.kill(signal);
    },
    async promotedFrom(old, key, withinMs) {
      let promoted = old;
      await until("a replica promoted", withinMs, async () => {
        promoted = await primaryOf(
          key,
          ports.filter((port) => port !== old),
        );
        if (promoted === old) return false;
        return (await ask(promoted, "CLUSTER", "INFO")).includes("cluster_state:ok");
      });
      return promoted;
    },
    stop: () => p.stopAll(),
  };
}
