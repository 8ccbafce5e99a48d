/**
 * The store contract on Redis deployments the test makes: a primary with two replicas
 * under three Sentinels (`redis+sentinel://`), and a Cluster of three primaries with a
 * replica each (`redis+cluster://`). Each case gets a fresh key prefix; on the Cluster it
 * becomes a hash tag, so the contract's multi-key scripts run there at all.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
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

describeWith("redis-sentinel", sentinelAvailable)("Redis under Sentinel", () => {
  let deployment: SentinelDeployment;
  beforeAll(async () => {
    deployment = await startSentinelDeployment();
  }, 60_000);
  afterAll(() => deployment?.stop());

  const backend = backendOn("redis-sentinel", () => deployment.url);
  describeStoreContract(backend);
  describePasskeyStoreContract(backend);

  it("a write that must outlive a failover is answered only once a replica holds it", async () => {
    const { stores, cleanup } = await backend.open();
    try {
      const [replicaA, replicaB] = (await deployment.replicaPorts()) as [number, number];
      await deployment.signal(replicaA, "SIGSTOP");
      await deployment.signal(replicaB, "SIGSTOP");
      try {
        const started = Date.now();
        await expect(stores.changes.publish("session_ended", "s1", Date.now())).rejects.toThrow(/unavailable/i);
        // Refused after the wait (1 s), not at once.
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
        // A read does not wait for replicas.
        expect((await stores.changes.position()).seq).toBeGreaterThan(0);
      } finally {
        await deployment.signal(replicaA, "SIGCONT");
        await deployment.signal(replicaB, "SIGCONT");
      }
      await stores.changes.publish("session_ended", "s2", Date.now());
    } finally {
      await cleanup();
    }
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
});
