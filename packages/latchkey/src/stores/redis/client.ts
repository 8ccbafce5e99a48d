/**
 * The Redis connections of a store, for each topology, and the writes that must outlive a
 * failover.
 *
 * Redis replicates asynchronously: a primary answers a write before any replica has it,
 * so when the primary dies, the replica promoted in its place may lack the last writes it
 * answered. For a session's last use or a throttle count that is harmless; for a logout,
 * a disabled user or a rotated refresh token it would bring back what was revoked. So
 * those writes go through `RedisLink.commit`, which answers only once `WAIT` says enough
 * replicas hold them (Redis's own answer to this, see https://redis.io/docs/latest/commands/wait/):
 * Sentinel and Cluster both promote the replica with the most of the stream, so a write a
 * replica acknowledged survives the failover of its primary. A write no replica
 * acknowledged in time is answered as a store failure (503).
 */
import { Cluster, Redis } from "ioredis";
import type { RedisTopology } from "./topology.js";

/** A connection to one server or to a Cluster: the command API is the same. */
export type RedisClient = Redis | Cluster;

export interface RedisLink {
  /** Reads, and the writes a failover may lose (a session's last use, throttle counts). */
  client: RedisClient;
  /** Runs writes that must outlive a failover, and answers once replicas hold them. */
  commit<T>(write: (writer: RedisClient) => Promise<T>): Promise<T>;
  /** How many replicas `commit` waits for (0: it does not wait). */
  replicas: number;
}

/** How long `commit` waits for replicas before it calls the write failed. */
export const REPLICA_WAIT_MS = 1000;

/**
 * Opens a client. `autoPipelining`: commands issued in the same tick (the session reads of
 * concurrent requests) go out as one write and come back as one read: ~5% less CPU per
 * `session` request, ~8% more requests per second (alternating builds). Not on the
 * subscriber, which only subscribes.
 */
export function connect(
  topology: RedisTopology,
  { autoPipelining, resend = true }: { autoPipelining: boolean; resend?: boolean },
): RedisClient {
  const options = {
    // The writer's commands must not be sent again on a new connection after a reconnect:
    // a WAIT there would vouch for nothing (see `replicatedLink`).
    autoResendUnfulfilledCommands: resend,
    // Fail fast while Redis is down (requests answer 503), reconnect in the background.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    // A command in flight when its connection drops would otherwise wait for ever while a
    // proxy in front of Redis keeps accepting and closing connections (ioredis counts its
    // retries again on each one): past 2 s it is an outage, answered 503.
    commandTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(1000, 50 * 2 ** attempt),
    lazyConnect: false,
    enableAutoPipelining: autoPipelining,
  };
  switch (topology.kind) {
    case "standalone":
      return new Redis(topology.url, options);
    case "sentinel":
      return new Redis({
        ...options,
        sentinels: topology.sentinels,
        name: topology.name,
        db: topology.db,
        ...(topology.username !== undefined && { username: topology.username }),
        ...(topology.password !== undefined && { password: topology.password }),
        ...(topology.sentinelPassword !== undefined && { sentinelPassword: topology.sentinelPassword }),
        // Told of a promotion by the Sentinels' +switch-master, not only by a dead socket.
        failoverDetector: true,
        sentinelRetryStrategy: (attempt: number) => Math.min(1000, 50 * 2 ** attempt),
      });
    case "cluster": {
      // The Cluster client keeps its own offline queue (off here: fail fast while it finds
      // its nodes again); each node's must stay on, as ioredis sets it, or the Cluster's own
      // ready check, sent while a node connects, fails and it reconnects over and over.
      const { enableAutoPipelining, retryStrategy, enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
      return new Cluster(topology.nodes, {
        enableOfflineQueue,
        enableAutoPipelining,
        clusterRetryStrategy: retryStrategy,
        // Reads and writes go to primaries: a replica may lag what a session just wrote.
        scaleReads: "master",
        // After a MOVED or a lost node, retry soon: a failover takes the cluster's node
        // timeout plus an election, a second or two.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        slotsRefreshTimeout: 2000,
        // Ask for the slots' owners every second (not every 5 s), so that a promotion the
        // client did not see through an error is found within a second.
        slotsRefreshInterval: 1000,
        redisOptions: {
          ...nodeOptions,
          ...(topology.username !== undefined && { username: topology.username }),
          ...(topology.password !== undefined && { password: topology.password }),
        },
      });
    }
  }
}

/**
 * A link whose `commit` waits for `replicas` replicas. The writes go on a connection of
 * their own, so a `WAIT` (which holds its connection until answered) never delays a read.
 * Writes answered while one `WAIT` is out share the next: at most two are ever out, one
 * sent and one to follow, whatever the write rate.
 *
 * `WAIT` counts the writes of the connection it runs on. If the writer's connection
 * changed between a write and its `WAIT` (a reconnect, a Cluster node lost or added: a
 * `WAIT` on a new connection answers at once), the write is not vouched for: it fails.
 */
export function replicatedLink(
  client: RedisClient,
  writer: RedisClient,
  { replicas, anchor, timeoutMs = REPLICA_WAIT_MS }: { replicas: number; anchor: string; timeoutMs?: number },
): RedisLink {
  if (replicas <= 0) return { client, replicas: 0, commit: (write) => write(client) };
  let generation = 0;
  const changed = () => generation++;
  // A connection of the writer closed (a reconnect follows), or a Cluster node was dropped.
  for (const event of ["close", "reconnecting", "end", "-node"]) writer.on(event, changed);
  // A Cluster's connection to each node is a client of its own: its closing counts too.
  writer.on("+node", (node: { on(event: string, listener: () => void): void }) => node.on("close", changed));
  let current: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const waitOnce = async (): Promise<void> => {
    // In a Cluster a keyless WAIT would go to any node: the pipeline goes where `anchor`
    // (a key in latchkey's slot) lives, on the connection that made the writes.
    const replies = await writer.pipeline().exists(anchor).wait(replicas, timeoutMs).exec();
    // An error on the first command (a MOVED) means the WAIT ran on a node that is not
    // the slot's primary: it vouches for nothing.
    const routed = replies?.[0]?.[0];
    if (routed) throw routed;
    const [error, acknowledged] = replies?.[1] ?? [new Error("no reply to WAIT")];
    if (error) throw error;
    if (Number(acknowledged) < replicas) {
      throw new Error(`${Number(acknowledged)} of ${replicas} Redis replicas acknowledged within ${timeoutMs} ms`);
    }
  };
  const start = (): Promise<void> => {
    const wait: Promise<void> = waitOnce().finally(() => {
      if (current === wait) current = undefined;
    });
    current = wait;
    return wait;
  };
  // A WAIT covers the writes its connection answered before it was sent. One already out
  // may have been sent before this write's answer arrived, so this write waits for the
  // next one, sent after.
  const barrier = (): Promise<void> => {
    if (current === undefined) return start();
    queued ??= current
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
  return {
    client,
    replicas,
    async commit(write) {
      const before = generation;
      const result = await write(writer);
      await barrier();
      if (generation !== before)
        throw new Error("the Redis connection changed before a replica acknowledged the write");
      return result;
    },
  };
}
