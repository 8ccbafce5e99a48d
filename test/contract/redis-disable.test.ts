/**
 * Disabling a user on Redis. The Redis store ends the user's sessions inside its own
 * disabling script (a session value carries its user's fields, so none may outlive the
 * disable, whatever fails after). The core must still know which ended: to count them
 * (`latchkey_sessions_ended_total{reason="account_disabled"}`), to tell their holders why
 * (`Latchkey-Session-Ended: account_disabled`), and to drop them from this instance's own
 * caches at once rather than when the feed catches up. Both ways in (the admin API's and
 * the CLI's) are checked.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import type { SessionEndReason } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const CLIENT = { ip: "192.0.2.1", userAgent: "test" };
const PASSWORD = "correct horse battery staple";
const OPERATOR = { actor: null, ip: "", userAgent: "latchkey-cli" };

/** A new user made an admin (the last admin cannot be disabled). */
async function admin(auth: Auth, name: string) {
  const user = await auth.accounts.register(name, PASSWORD, CLIENT);
  await auth.admin.setRoles(user.id, ["admin", "user"], OPERATOR);
  return user;
}

describeWith("Redis", redisAvailable)("Redis: disabling a user ends their sessions as the core's own", () => {
  let auth: Auth;
  let stores: Stores;
  let ended: Array<[SessionEndReason | "unspecified" | "session_expired", number]>;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const fresh = freshPrefix();
    drop = fresh.drop;
    ended = [];
    stores = await openRedisStores({ url: REDIS_URL, base: createMemoryStores(), prefix: fresh.prefix });
    auth = await openTestAuth(stores, { observer: { sessionsEnded: (why, n) => void ended.push([why, n]) } });
  });
  afterEach(async () => {
    await auth.close();
    await drop();
  });

  const ways: Array<[string, (auth: Auth, user: { id: string; username: string }) => Promise<unknown>]> = [
    ["admin.disable", (a, user) => a.admin.disable(user.id, OPERATOR)],
    ["accounts.disable", (a, user) => a.accounts.disable(user.username)],
  ];

  it.each(ways)("%s: counted, told why, and refused at once on this instance", async (_way, disable) => {
    await admin(auth, "root-rhea");
    const user = await auth.accounts.register("disabled-dora", PASSWORD, CLIENT);
    const laptop = await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
    const phone = await auth.sessions.signIn({ userId: user.id, kind: "jwt", remember: false, ...CLIENT });
    const access = await auth.accessTokens.issueFor(phone.session, user);
    // Both checked once, so this instance remembers them as valid for a moment.
    expect(await auth.sessions.validate(laptop.token)).not.toBeNull();
    expect((await auth.accessTokens.verify(access.token)).ok).toBe(true);

    await disable(auth, user);

    expect(ended).toEqual([["account_disabled", 2]]);
    expect(await auth.sessions.validate(laptop.token)).toBeNull();
    expect((await auth.accessTokens.verify(access.token)).ok).toBe(false);
    expect(await auth.sessions.endReason(laptop.session.id)).toBe("account_disabled");
    expect(await auth.sessions.endReason(phone.session.id)).toBe("account_disabled");
  });

  it("a retry of an admin's disable ends what is left and counts nothing twice", async () => {
    await admin(auth, "root-rhea");
    const user = await auth.accounts.register("twice-tess", PASSWORD, CLIENT);
    await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
    await auth.admin.disable(user.id, OPERATOR);
    await auth.admin.disable(user.id, OPERATOR);
    expect(ended).toEqual([["account_disabled", 1]]);
  });

  it("a disable cut short after the store's script is finished by the retry, counted once and told why", async () => {
    await admin(auth, "root-rhea");
    const user = await auth.accounts.register("cut-cora", PASSWORD, CLIENT);
    const { session } = await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
    // The store disabled the user and ended the session; the process died before the core went on.
    expect(await stores.users.setDisabled(user.id, Date.now())).toBe(true);
    expect(ended).toEqual([]);
    // Ending all but one session is not the disable's follow-up: it takes none of them.
    expect(await stores.sessions.deleteByUser(user.id, "another-session")).toEqual([]);
    await auth.admin.disable(user.id, OPERATOR);
    expect(ended).toEqual([["account_disabled", 1]]);
    expect(await auth.sessions.endReason(session.id)).toBe("account_disabled");
  });

  it("enabling forgets the sessions a disable ended, so no later ending claims them", async () => {
    await admin(auth, "root-rhea");
    const user = await auth.accounts.register("back-bea", PASSWORD, CLIENT);
    await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
    expect(await stores.users.setDisabled(user.id, Date.now())).toBe(true);
    expect(await stores.users.setDisabled(user.id, null)).toBe(true);
    expect(await stores.sessions.deleteByUser(user.id)).toEqual([]);
  });

  it("the last admin is refused before any session of theirs ends", async () => {
    const root = await admin(auth, "only-olive");
    const { token } = await auth.sessions.signIn({ userId: root.id, kind: "session", remember: false, ...CLIENT });
    await expect(auth.accounts.disable(root.username)).rejects.toMatchObject({ code: "last_admin" });
    await expect(auth.admin.disable(root.id, OPERATOR)).rejects.toMatchObject({ code: "last_admin" });
    expect(await auth.sessions.validate(token)).not.toBeNull();
    expect(ended).toEqual([]);
  });
});

describe("disabling a user, on the stores that keep sessions apart from it", () => {
  it("counts and marks the same way (memory)", async () => {
    const seen: Array<[string, number]> = [];
    const auth = await openTestAuth(createMemoryStores(), {
      observer: { sessionsEnded: (why, n) => void seen.push([why, n]) },
    });
    try {
      await admin(auth, "root-rhea");
      const user = await auth.accounts.register("disabled-dora", PASSWORD, CLIENT);
      const { session, token } = await auth.sessions.signIn({
        userId: user.id,
        kind: "session",
        remember: false,
        ...CLIENT,
      });
      await auth.admin.disable(user.id, OPERATOR);
      expect(seen).toEqual([["account_disabled", 1]]);
      expect(await auth.sessions.validate(token)).toBeNull();
      expect(await auth.sessions.endReason(session.id)).toBe("account_disabled");
    } finally {
      await auth.close();
    }
  });
});
