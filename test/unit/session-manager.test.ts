import { beforeEach, describe, expect, it } from "vitest";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { SessionManager } from "../../packages/latchkey/src/core/session-manager.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const MINUTE = 60_000;
const policy = {
  idleTimeout: 30 * 60,
  absoluteTimeout: 12 * 3600,
  rememberIdleTimeout: 7 * 86_400,
  rememberAbsoluteTimeout: 30 * 86_400,
};

describe("SessionManager", () => {
  let stores: Stores;
  let clock: ReturnType<typeof manualClock>;
  let sessions: SessionManager;
  let touches: number;

  beforeEach(async () => {
    stores = createMemoryStores();
    clock = manualClock();
    touches = 0;
    const touch = stores.sessions.touch.bind(stores.sessions);
    stores.sessions.touch = (...args) => {
      touches++;
      return touch(...args);
    };
    sessions = new SessionManager({ store: stores.sessions, changes: stores.changes, clock, policy });
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

  const open = (remember = false) =>
    sessions.create({ userId: "u1", kind: "session", remember, ip: "127.0.0.1", userAgent: "test" });

  for (const how of ["the store's evictable", "listLive (a store without evictable)"]) {
    it(`past maxPerUser, a sign-in ends the least recently used others, found by ${how}`, async () => {
      if (how.startsWith("listLive")) delete stores.sessions.evictable;
      let listed = 0;
      const listLive = stores.sessions.listLive.bind(stores.sessions);
      stores.sessions.listLive = (...args) => {
        listed++;
        return listLive(...args);
      };
      sessions = new SessionManager({
        store: stores.sessions,
        changes: stores.changes,
        clock,
        policy: { ...policy, maxPerUser: 3 },
      });
      const opened = [];
      for (let i = 0; i < 3; i++) {
        opened.push((await open()).session);
        clock.advance(MINUTE);
      }
      // The first is used again: the second is now the least recently used.
      await stores.sessions.touch(opened[0]?.id as string, clock.now(), clock.now() + 30 * MINUTE);
      clock.advance(MINUTE);
      const fourth = await open();
      expect(fourth.evicted.map((s) => s.id)).toEqual([opened[1]?.id]);
      const live = (await sessions.listLive("u1")).map((s) => s.id).sort();
      expect(live).toEqual([opened[0]?.id, opened[2]?.id, fourth.session.id].sort());
      // Only the store without `evictable` reads every live session of the user at each of
      // the four sign-ins; the one read left is the check above.
      expect(listed).toBe(how.startsWith("listLive") ? 5 : 1);
    });
  }

  it("findLiveRecent holds only the sessions read in the last second (issue 17: the soak's heap grew by the others)", async () => {
    const first = [];
    for (let i = 0; i < 5; i++) first.push((await open()).session);
    for (const session of first) await sessions.findLiveRecent(session.id);
    expect(sessions.remembered).toBe(5);
    // Read again a second later, one moves to the back; the four not read since are dropped.
    clock.advance(1000);
    await sessions.findLiveRecent(first[0]?.id as string);
    expect(sessions.remembered).toBe(1);
    clock.advance(500);
    const later = (await open()).session;
    await sessions.findLiveRecent(later.id);
    expect(sessions.remembered).toBe(2);
    // Both past their second: reading one again drops the other.
    clock.advance(1000);
    await sessions.findLiveRecent(later.id);
    expect(sessions.remembered).toBe(1);
  });

  it("findLiveRecent reads a session at most once a second, but never answers for an ended one", async () => {
    const ended = new Set<string>();
    sessions = new SessionManager({
      store: stores.sessions,
      changes: stores.changes,
      clock,
      policy,
      isEnded: (id) => ended.has(id),
    });
    let reads = 0;
    const find = stores.sessions.findWithUser.bind(stores.sessions);
    stores.sessions.findWithUser = (id) => {
      reads++;
      return find(id);
    };
    const { session } = await open();
    expect((await sessions.findLiveRecent(session.id))?.session.id).toBe(session.id);
    expect((await sessions.findLiveRecent(session.id))?.session.id).toBe(session.id);
    expect(reads).toBe(1);
    clock.advance(1000);
    await sessions.findLiveRecent(session.id);
    expect(reads).toBe(2);

    // Ended by another process: the change feed's set says so, and the store agrees.
    ended.add(session.id);
    await stores.sessions.delete(session.id);
    expect(await sessions.findLiveRecent(session.id)).toBeNull();

    // Ended by this process: forgotten at once, even inside the second.
    const other = (await open()).session;
    await sessions.findLiveRecent(other.id);
    await sessions.end(other.id);
    expect(await sessions.findLiveRecent(other.id)).toBeNull();
  });

  it("issues id.secret tokens and stores only a hash of the secret", async () => {
    const { session, token } = await open();
    const [id, secret] = token.split(".");
    expect(id).toBe(session.id);
    expect(secret).toHaveLength(43);
    expect(session.secretHash).not.toContain(secret as string);
    expect(await sessions.validate(token)).not.toBeNull();
    expect(await sessions.validate(`${id}.${"A".repeat(43)}`)).toBeNull();
    expect(await sessions.validate("garbage")).toBeNull();
  });

  it("never issues a session id that a command line would read as an option", async () => {
    const { newSessionToken } = await import("../../packages/latchkey/src/core/session-token.js");
    let calls = 0;
    // The first draw starts with "-" (0xfb... encodes to "-"), the second does not.
    const random = (size: number) => {
      calls++;
      return new Uint8Array(size).fill(calls === 1 ? 0xfb : 0x41);
    };
    const { id } = newSessionToken(random);
    expect(id.startsWith("-")).toBe(false);
    expect(calls).toBe(3);
  });

  it("ends a session left idle past the idle timeout", async () => {
    const { token } = await open();
    clock.advance(30 * MINUTE - 1);
    expect(await sessions.validate(token)).not.toBeNull();
    clock.advance(30 * MINUTE + 1);
    expect(await sessions.validate(token)).toBeNull();
  });

  it("keeps a steadily used session alive past the idle timeout", async () => {
    const { token } = await open();
    for (let i = 0; i < 10; i++) {
      clock.advance(20 * MINUTE);
      expect(await sessions.validate(token)).not.toBeNull();
    }
  });

  it("writes lastSeenAt at most once a minute", async () => {
    const { token } = await open();
    for (let i = 0; i < 50; i++) {
      clock.advance(1000);
      await sessions.validate(token);
    }
    expect(touches).toBe(0);
    clock.advance(10_000);
    await sessions.validate(token);
    await sessions.validate(token);
    expect(touches).toBe(1);
  });

  it("ends even a busy session at the absolute timeout", async () => {
    const { token } = await open();
    for (let elapsed = 0; elapsed < 12 * 60; elapsed += 10) {
      expect(await sessions.validate(token)).not.toBeNull();
      clock.advance(10 * MINUTE);
    }
    expect(await sessions.validate(token)).toBeNull();
  });

  it("uses the remember timeouts for remembered logins", async () => {
    const { session, token } = await open(true);
    expect(session.expiresAt - session.createdAt).toBe(30 * 86_400_000);
    clock.advance(6 * 86_400_000);
    expect(await sessions.validate(token)).not.toBeNull();
  });

  it("refuses the sessions of a disabled account", async () => {
    const { token } = await open();
    await stores.users.setDisabled("u1", clock.now());
    expect(await sessions.validate(token)).toBeNull();
  });

  it("rotates the secret: the old token dies, the new one works", async () => {
    const { session, token } = await open();
    const rotated = await sessions.rotateSecret(session.id);
    expect(rotated).not.toBeNull();
    expect(await sessions.validate(token)).toBeNull();
    expect(await sessions.validate(rotated as string)).not.toBeNull();
  });

  it("publishes every ended session on the change feed", async () => {
    const a = await open();
    const b = await open();
    await sessions.end(a.session.id);
    await sessions.endAllForUser("u1");
    const changes = await stores.changes.read(0, 0, 10);
    expect(changes.map((c) => [c.kind, c.subject])).toEqual([
      ["session_ended", a.session.id],
      ["session_ended", b.session.id],
    ]);
  });

  it("sweeps expired sessions in batches", async () => {
    for (let i = 0; i < 25; i++) await open();
    const live = await open(true);
    clock.advance(31 * MINUTE);
    expect(await sessions.sweep(10)).toBe(25);
    expect(await sessions.validate(live.token)).not.toBeNull();
  });
});
