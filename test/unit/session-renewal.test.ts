/**
 * Issue 28 in the core, on a frozen clock: a cookie session's secret renews on the write
 * of use that comes at least `rotateInterval` after the last renewal, never on a request
 * that would not have written; the secret before works for `rotateGrace`, and after it
 * ends the session as stolen, recorded with both clients; two racing renewals make one
 * winner and two successes.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { SecurityLog } from "../../packages/latchkey/src/core/security-log.js";
import { SessionManager, type SessionPolicy } from "../../packages/latchkey/src/core/session-manager.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const POLICY: SessionPolicy = {
  idleTimeout: 30 * 60,
  absoluteTimeout: 12 * 3600,
  rememberIdleTimeout: 7 * 86_400,
  rememberAbsoluteTimeout: 30 * 86_400,
  touchInterval: 60,
  rotateInterval: 15 * 60,
  rotateGrace: 30,
};
const OWNER = { ip: "192.0.2.1", userAgent: "owner's browser" };
const THIEF = { ip: "203.0.113.9", userAgent: "curl/8.5" };

describe("session secrets that renew", () => {
  let stores: Stores;
  let clock: ReturnType<typeof manualClock>;
  let writes: string[];
  let log: SecurityLog;
  const manager = (policy: SessionPolicy = POLICY) =>
    new SessionManager({
      store: stores.sessions,
      changes: stores.changes,
      clock,
      policy,
      log,
      counters: stores.counters,
    });

  beforeEach(async () => {
    stores = createMemoryStores();
    clock = manualClock();
    log = new SecurityLog({ store: stores.events, clock });
    writes = [];
    for (const name of ["touch", "renewSecret"] as const) {
      const real = stores.sessions[name].bind(stores.sessions) as (...args: unknown[]) => Promise<boolean>;
      (stores.sessions as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        writes.push(name);
        return real(...args);
      };
    }
    await stores.users.create({
      id: "u1",
      username: "alice",
      passwordHash: "x",
      createdAt: 0,
      disabledAt: null,
      roles: ["user"],
      rolesAt: 0,
      email: null,
      emailVerifiedAt: null,
    });
  });

  async function login(sessions: SessionManager) {
    return sessions.create({ userId: "u1", kind: "session", remember: false, ...OWNER });
  }

  it("renews on the first write of use after the interval, and only then: never an extra write", async () => {
    const sessions = manager();
    const { token } = await login(sessions);
    // Within the interval: writes of use, no renewal.
    for (let i = 0; i < 14; i++) {
      clock.advance(MINUTE);
      const valid = await sessions.check(token, OWNER);
      expect(valid && typeof valid !== "string" && valid.renewedToken).toBeUndefined();
    }
    expect(writes).toEqual(Array(14).fill("touch"));
    // 15 minutes: the due write of use renews (one write, not two).
    clock.advance(MINUTE);
    const renewed = await sessions.check(token, OWNER);
    expect(renewed !== null && typeof renewed !== "string" && typeof renewed.renewedToken).toBe("string");
    expect(writes.slice(14)).toEqual(["renewSecret"]);
    // A request within the touch interval writes nothing, renewal due or not.
    clock.advance(10 * SECOND);
    await sessions.check(token, OWNER);
    expect(writes).toHaveLength(15);
  });

  it("a request that does not write never renews, even long past the interval", async () => {
    const sessions = manager({ ...POLICY, rotateInterval: 60 });
    const { token } = await login(sessions);
    clock.advance(59 * SECOND);
    const early = await sessions.check(token, OWNER);
    expect(early !== null && typeof early !== "string" && early.renewedToken).toBeUndefined();
    expect(writes).toEqual([]);
  });

  it("accepts the secret before a renewal for the grace, then ends the session as stolen, with both clients", async () => {
    const sessions = manager();
    const { token: old } = await login(sessions);
    clock.advance(15 * MINUTE);
    const renewed = await sessions.check(old, OWNER);
    if (!renewed || typeof renewed === "string" || !renewed.renewedToken) throw new Error("no renewal");
    const fresh = renewed.renewedToken;
    clock.advance(30 * SECOND);
    expect(await sessions.check(old, OWNER)).not.toBeNull(); // the grace, to the millisecond
    expect(await sessions.check(fresh, OWNER)).not.toBeNull();
    clock.advance(1);
    expect(await sessions.check(old, THIEF)).toBe("session_reuse_detected");
    // Ended: the new secret is dead too, and its holder is told why (for a day); the end
    // went on the change feed.
    expect(await sessions.check(fresh, OWNER)).toBe("session_reuse_detected");
    expect(await sessions.validate(fresh, OWNER)).toBeNull();
    clock.advance(24 * 60 * MINUTE + 1);
    expect(await sessions.check(fresh, OWNER)).toBeNull();
    const feed = await stores.changes.read(0, 0, 100);
    expect(feed.map((c) => [c.kind, c.subject])).toEqual([["session_ended", renewed.session.id]]);
    const [event] = await stores.events.listByUser("u1", 1);
    expect(event).toMatchObject({
      type: "session_reuse_detected",
      sessionId: renewed.session.id,
      ip: THIEF.ip,
      userAgent: THIEF.userAgent,
      detail: JSON.stringify(OWNER),
    });
  });

  it("a secret two renewals old is only refused (no alarm): only the one before the last is remembered", async () => {
    const sessions = manager();
    const { token: first } = await login(sessions);
    let current = first;
    for (let i = 0; i < 2; i++) {
      clock.advance(15 * MINUTE);
      const renewed = await sessions.check(current, OWNER);
      if (!renewed || typeof renewed === "string" || !renewed.renewedToken) throw new Error("no renewal");
      current = renewed.renewedToken;
    }
    clock.advance(MINUTE);
    expect(await sessions.check(first, THIEF)).toBeNull();
    expect(await sessions.check(current, OWNER)).not.toBeNull();
  });

  it("of two racing renewals, one wins and both requests go on with the session", async () => {
    const sessions = manager();
    const { token } = await login(sessions);
    clock.advance(15 * MINUTE);
    const [a, b] = await Promise.all([sessions.check(token, OWNER), sessions.check(token, OWNER)]);
    for (const found of [a, b]) expect(found === null || typeof found === "string").toBe(false);
    const renewedTokens = [a, b].flatMap((found) => (found && typeof found !== "string" && found.renewedToken) || []);
    expect(renewedTokens).toHaveLength(1);
    expect(writes.filter((w) => w === "renewSecret")).toHaveLength(2);
  });

  it("never renews with rotateInterval 0, and a password change forgets the secret before", async () => {
    const off = manager({ ...POLICY, rotateInterval: 0 });
    const { token, session } = await login(off);
    for (let i = 0; i < 6; i++) {
      clock.advance(10 * MINUTE);
      const found = await off.check(token, OWNER);
      expect(found !== null && typeof found !== "string" && found.renewedToken).toBeUndefined();
    }
    expect(off.secretSchedule(session).renewsAfter).toBeNull();

    const on = manager();
    clock.advance(MINUTE);
    const renewed = await on.check(token, OWNER);
    if (!renewed || typeof renewed === "string" || !renewed.renewedToken) throw new Error("no renewal");
    const changed = await on.rotateSecret(session.id);
    // After a password change, neither earlier secret works, and neither raises the alarm.
    clock.advance(MINUTE);
    expect(await on.check(token, THIEF)).toBeNull();
    expect(await on.check(renewed.renewedToken, THIEF)).toBeNull();
    expect(await on.check(changed as string, OWNER)).not.toBeNull();
    expect(await stores.events.listByUser("u1", 10)).toEqual([]);
  });
});
