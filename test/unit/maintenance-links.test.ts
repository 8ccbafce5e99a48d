/**
 * Maintenance sweeps expired mailed-link tokens (issue 31), in batches until none is left,
 * keeps the live ones, and reports how many it deleted beside the other sweeps.
 */
import { expect, it, vi } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { startMaintenance } from "../../packages/latchkey/src/core/maintenance.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");

it("sweeps every expired link token, in batches, and reports the count", async () => {
  const stores = createMemoryStores();
  const alice = makeUser("alice");
  await stores.users.create(alice);
  const token = (id: string, expiresAt: number) => ({
    id,
    userId: alice.id,
    purpose: "reset_password" as const,
    secretHash: "h",
    email: "alice@example.com",
    createdAt: NOW - 3_600_000,
    expiresAt,
    usedAt: null,
  });
  // More than one batch (500) of dead tokens, and one still live.
  for (let i = 0; i < 1_234; i++) await stores.links.create(token(`dead-${i}`, NOW - 1));
  await stores.links.create(token("live", NOW + 60_000));
  const auth = {
    stores,
    clock: { now: () => NOW },
    sessions: { sweep: async () => 0 },
    keys: { prune: async () => 0 },
    tokenLifetimeMs: 900_000,
    eventRetentionMs: 365 * 86_400_000,
  } as unknown as Pick<Auth, "sessions" | "clock" | "stores" | "keys" | "tokenLifetimeMs" | "eventRetentionMs">;
  const log = { debug: vi.fn(), warn: vi.fn() };
  const maintenance = startMaintenance(auth, { log });
  await maintenance.runOnce();
  await maintenance.stop();
  expect(log.warn).not.toHaveBeenCalled();
  expect(log.debug).toHaveBeenCalledWith(expect.objectContaining({ links: 1_234 }), "swept expired records");
  expect(await stores.links.find("dead-0")).toBeNull();
  expect(await stores.links.find("live")).not.toBeNull();
});
