/**
 * Maintenance sweeps expired sign-in challenges (issue 32) as it sweeps link tokens: in
 * batches until none is left, keeping the live ones, and reports how many it deleted.
 */
import { expect, it, vi } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { startMaintenance } from "../../packages/latchkey/src/core/maintenance.js";
import type { ChallengeRecord } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");

it("sweeps every expired challenge, in batches, and reports the count", async () => {
  const stores = createMemoryStores();
  const alice = makeUser("alice");
  await stores.users.create(alice);
  const challenge = (id: string, expiresAt: number, userId: string | null): ChallengeRecord => ({
    id,
    userId,
    purpose: "second_factor",
    secretHash: "h",
    data: "{}",
    createdAt: NOW - 300_000,
    expiresAt,
    usedAt: null,
    failures: 0,
  });
  // More than one batch (500) of dead challenges, some of nobody yet, and one still live.
  for (let i = 0; i < 1_234; i++) await stores.challenges.create(challenge(`dead-${i}`, NOW, i % 2 ? alice.id : null));
  await stores.challenges.create(challenge("live", NOW + 60_000, alice.id));
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
  expect(log.debug).toHaveBeenCalledWith(
    expect.objectContaining({ challenges: 1_234, links: 0 }),
    "swept expired records",
  );
  expect(await stores.challenges.find("dead-0")).toBeNull();
  expect(await stores.challenges.find("dead-1")).toBeNull();
  expect(await stores.challenges.find("live")).not.toBeNull();
});
