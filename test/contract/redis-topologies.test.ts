/**
 * The store contract on Redis deployments the test makes: a primary with two replicas
 * under three Sentinels (`redis+sentinel://`), and a Cluster of three primaries with
 * two replicas each (`redis+cluster://`). Each case gets a fresh key prefix; on the Cluster it
 * becomes a hash tag, so the contract's multi-key scripts run there at all.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { clusterPrefix } from "../../packages/latchkey/src/stores/redis/topology.js";
import { makeSession, makeUser, T0 } from "../../packages/latchkey/src/testing/fixtures.js";
import { describeStoreContract } from "../../packages/latchkey/src/testing.js";
import {
  type ClusterDeployment,
  clusterAvailable,
  type SentinelDeployment,
  sentinelAvailable,
  startClusterDeployment,
  startSentinelDeployment,
} from "../helpers/redis-deployments.js";
import { describeWith } from "../helpers/services.js";
import { describePasskeyStoreContract } from "./passkeys.js";

function backendOn(name: string, url: () => string) {
  return {
    name,
    async open() {
      const prefix = `lktest:${randomBytes(5).toString("hex")}:`;
      const base = createMemoryStores();
      const handles: Stores[] = [await openRedisStores({ url: url(), base, prefix })];
      return {
        stores: handles[0] as Stores,
        prefix,
        openAnother: async () => {
          const another = await openRedisStores({ url: url(), base, prefix });
          handles.push(another);
          return another;
        },
        async cleanup() {
          for (const handle of handles) await handle.close();
        },
      };
    },
  };
}

/**
 * With every replica of the primary holding the stores' keys paused, each kind of write
 * that must outlive a failover is refused after the wait (1 s), while reads, a session's
 * last use and throttle counts answer at once; once the replicas resume, writes go through.
 */
async function eachWriteWaits(
  backend: ReturnType<typeof backendOn>,
  replicasOf: (prefix: string) => Promise<number[]>,
  signal: (port: number, signal: "SIGSTOP" | "SIGCONT") => Promise<void>,
): Promise<void> {
  const { stores, prefix, cleanup } = await backend.open();
  try {
    const alice = makeUser("alice");
    await stores.users.create(alice);
    const kept = makeSession(alice.id, { id: "kept" });
    const other = makeSession(alice.id, { id: "other" });
    await stores.sessions.create(kept);
    await stores.sessions.create(other);
    const token = {
      id: "rt1",
      sessionId: kept.id,
      secretHash: "h",
      createdAt: T0,
      expiresAt: T0 + 60_000_000,
      rotatedAt: null,
    };
    await stores.refreshTokens.create(token);
    const replicas = await replicasOf(prefix);
    expect(replicas.length).toBeGreaterThan(0);
    for (const port of replicas) await signal(port, "SIGSTOP");
    try {
      // Reads, a session's last use and throttle counts do not wait.
      const started = Date.now();
      expect((await stores.sessions.findWithUser(kept.id))?.session.id).toBe(kept.id);
      expect(await stores.sessions.touch(kept.id, T0 + 2, T0 + 60_000)).toBe(true);
      expect((await stores.counters.hit("k", 60_000, T0)).count).toBe(1);
      expect((await stores.changes.position()).epoch).toMatch(/\//);
      expect(Date.now() - started).toBeLessThan(900);
      const writes: Array<[string, () => Promise<unknown>]> = [
        ["sessions.create", () => stores.sessions.create(makeSession(alice.id, { id: "new" }))],
        ["sessions.delete", () => stores.sessions.delete(other.id)],
        ["sessions.deleteByUser", () => stores.sessions.deleteByUser(alice.id, kept.id)],
        ["sessions.replaceSecret", () => stores.sessions.replaceSecret(kept.id, "h2", T0 + 1)],
        ["sessions.reauthenticate", () => stores.sessions.reauthenticate(kept.id, T0 + 1, ["pwd"])],
        ["refreshTokens.create", () => stores.refreshTokens.create({ ...token, id: "rt2" })],
        ["refreshTokens.markRotated", () => stores.refreshTokens.markRotated(token.id, T0 + 1)],
        ["refreshTokens.retireForSession", () => stores.refreshTokens.retireForSession(kept.id, T0 + 1)],
        ["changes.publish", () => stores.changes.publish("session_ended", "s1", T0)],
        ["users.setDisabled", () => stores.users.setDisabled(alice.id, T0 + 1)],
      ];
      for (const [name, write] of writes) {
        const started = Date.now();
        await expect(write(), name).rejects.toThrow(/unavailable/i);
        // Refused after the wait (1 s), not at once.
        expect(Date.now() - started, name).toBeGreaterThanOrEqual(900);
      }
    } finally {
      for (const port of replicas) await signal(port, "SIGCONT");
    }
    await stores.changes.publish("session_ended", "s2", T0);
  } finally {
    await cleanup();
  }
}

describeWith("redis-sentinel", sentinelAvailable)("Redis under Sentinel", () => {
  let deployment: SentinelDeployment;
  beforeAll(async () => {
    deployment = await startSentinelDeployment();
  }, 60_000);
  afterAll(() => deployment?.stop());

  const backend = backendOn("redis-sentinel", () => deployment.url);
  describeStoreContract(backend);
  describePasskeyStoreContract(backend);

  it(
    "each write that must outlive a failover is answered only once a replica holds it; reads and the rest do not wait",
    () =>
      eachWriteWaits(
        backend,
        () => deployment.replicaPorts(),
        (port, signal) => deployment.signal(port, signal),
      ),
    60_000,
  );

  it("refuses to open when writes would wait for more replicas than the primary has", async () => {
    await expect(
      openRedisStores({ url: deployment.url, base: createMemoryStores(), waitForReplicas: 3 }),
    ).rejects.toThrow(
      "writes wait for 3 replica(s) (REDIS_WAIT_REPLICAS, waitForReplicas) but the primary has 2 connected",
    );
  });
});

describeWith("redis-server and redis-cli (Cluster)", clusterAvailable)("Redis Cluster", () => {
  let deployment: ClusterDeployment;
  beforeAll(async () => {
    deployment = await startClusterDeployment();
  }, 60_000);
  afterAll(() => deployment?.stop());

  const backend = backendOn("redis-cluster", () => deployment.url);
  describeStoreContract(backend);
  describePasskeyStoreContract(backend);

  it(
    "each write that must outlive a failover is answered only once a replica of its slot's primary holds it; reads and the rest do not wait",
    () =>
      eachWriteWaits(
        backend,
        // The prefix is the hash tag: every key of the stores is in its slot. Paused for
        // the ten writes' waits (about 11 s), the replicas are flagged failed by the other
        // nodes (cluster-node-timeout 1 s) and rejoin when resumed: a replica's failure
        // starts no failover.
        (prefix) => deployment.replicasOf(clusterPrefix(prefix)),
        (port, signal) => deployment.signal(port, signal),
      ),
    60_000,
  );
});
