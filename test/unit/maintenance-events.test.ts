/**
 * Issue 34: the security log has a retention (`eventRetentionDays`, the server's
 * `EVENT_RETENTION`). The sweep deletes older events in batches and keeps the rest;
 * createAuth refuses a retention it could not honour.
 */
import { describe, expect, it, vi } from "vitest";
import {
  createAuth,
  DEFAULT_EVENT_RETENTION_DAYS,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { EventRecord } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-03-01T12:00:00Z");

function options(stores = createMemoryStores()) {
  return {
    stores,
    clock: manualClock(NOW),
    hasher: { hash: async () => "h", verify: async () => false, needsRehash: () => false },
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://localhost:3000" },
  };
}

const event = (id: string, userId: string, at: number): EventRecord => ({
  id,
  userId,
  type: "login",
  at,
  sessionId: null,
  ip: "127.0.0.1",
  userAgent: "ua",
  detail: null,
});

describe("the security log's retention", () => {
  it("sweeps the events older than eventRetentionDays, in batches, and keeps the newer", async () => {
    const stores = createMemoryStores();
    const alice = makeUser("alice");
    await stores.users.create(alice);
    // More than one batch (500) past a 30-day retention, and events on either side of it.
    for (let i = 0; i < 1_234; i++) await stores.events.append(event(`old-${i}`, alice.id, NOW - 40 * DAY + i));
    await stores.events.append(event("just-past", alice.id, NOW - 30 * DAY - 1));
    await stores.events.append(event("just-kept", alice.id, NOW - 30 * DAY));
    await stores.events.append(event("recent", alice.id, NOW - DAY));
    const auth = await createAuth({ ...options(stores), eventRetentionDays: 30 });
    expect(auth.eventRetentionMs).toBe(30 * DAY);
    const log = { debug: vi.fn(), warn: vi.fn() };
    const maintenance = auth.startMaintenance({ log });
    await maintenance.runOnce();
    await maintenance.stop();
    expect(log.warn).not.toHaveBeenCalled();
    expect(log.debug).toHaveBeenCalledWith(expect.objectContaining({ events: 1_235 }), "swept expired records");
    expect((await stores.events.listByUser(alice.id, 10)).map((e) => e.id)).toEqual(["recent", "just-kept"]);
    auth.stop();
  });

  it("takes a backlog over several sweeps, 10,000 events at most each, so no sweep holds the event loop for long", async () => {
    const stores = createMemoryStores();
    const alice = makeUser("alice");
    await stores.users.create(alice);
    for (let i = 0; i < 10_600; i++) await stores.events.append(event(`old-${i}`, alice.id, NOW - 400 * DAY + i));
    const auth = await createAuth(options(stores));
    const log = { debug: vi.fn(), warn: vi.fn() };
    const maintenance = auth.startMaintenance({ log });
    await maintenance.runOnce();
    expect(log.debug).toHaveBeenLastCalledWith(expect.objectContaining({ events: 10_000 }), "swept expired records");
    await maintenance.runOnce();
    expect(log.debug).toHaveBeenLastCalledWith(expect.objectContaining({ events: 600 }), "swept expired records");
    await maintenance.stop();
    expect(await stores.events.listByUser(alice.id, 10)).toEqual([]);
    auth.stop();
  });

  it("keeps a year by default", async () => {
    const stores = createMemoryStores();
    const alice = makeUser("alice");
    await stores.users.create(alice);
    await stores.events.append(event("two-years", alice.id, NOW - 730 * DAY));
    await stores.events.append(event("half-a-year", alice.id, NOW - 182 * DAY));
    const auth = await createAuth(options(stores));
    expect(DEFAULT_EVENT_RETENTION_DAYS).toBe(365);
    expect(auth.eventRetentionMs).toBe(365 * DAY);
    const maintenance = auth.startMaintenance();
    await maintenance.runOnce();
    await maintenance.stop();
    expect((await stores.events.listByUser(alice.id, 10)).map((e) => e.id)).toEqual(["half-a-year"]);
    auth.stop();
  });

  it("keeps a part of a day: fifteen minutes, for the soak's flat log", async () => {
    const stores = createMemoryStores();
    const alice = makeUser("alice");
    await stores.users.create(alice);
    await stores.events.append(event("sixteen-minutes", alice.id, NOW - 16 * 60_000));
    await stores.events.append(event("fourteen-minutes", alice.id, NOW - 14 * 60_000));
    const auth = await createAuth({ ...options(stores), eventRetentionDays: 15 / 1440 });
    expect(auth.eventRetentionMs).toBe(15 * 60_000);
    const maintenance = auth.startMaintenance();
    await maintenance.runOnce();
    await maintenance.stop();
    expect((await stores.events.listByUser(alice.id, 10)).map((e) => e.id)).toEqual(["fourteen-minutes"]);
    auth.stop();
  });

  it.each([0, -1, 1 / 2000, 36_501, Number.NaN, Number.POSITIVE_INFINITY, "30" as unknown as number])(
    "refuses eventRetentionDays %s, naming the option",
    async (days) => {
      await expect(createAuth({ ...options(), eventRetentionDays: days })).rejects.toThrow(
        "latchkey: option eventRetentionDays must be a number of days from 1/1440 (a minute) to 36500",
      );
    },
  );

  it("refuses an explicit retention for an event store that cannot delete, and leaves such a store's log alone by default", async () => {
    const stores = createMemoryStores();
    const { append, listByUser } = stores.events;
    const withoutSweep = { ...stores, events: { append, listByUser } };
    await expect(createAuth({ ...options(withoutSweep), eventRetentionDays: 30 })).rejects.toThrow(
      "stores.events has no sweepOlderThan(before, limit)",
    );
    const alice = makeUser("alice");
    await stores.users.create(alice);
    await stores.events.append(event("ancient", alice.id, NOW - 3_000 * DAY));
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const auth = await createAuth(options(withoutSweep));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("the security log is kept for ever"), {
      code: "LATCHKEY_NO_EVENT_SWEEP",
    });
    warn.mockRestore();
    expect(auth.eventRetentionMs).toBe(Number.POSITIVE_INFINITY);
    const log = { debug: vi.fn(), warn: vi.fn() };
    const maintenance = auth.startMaintenance({ log });
    await maintenance.runOnce();
    await maintenance.stop();
    expect(log.warn).not.toHaveBeenCalled();
    expect((await stores.events.listByUser(alice.id, 10)).map((e) => e.id)).toEqual(["ancient"]);
    auth.stop();
  });
});
