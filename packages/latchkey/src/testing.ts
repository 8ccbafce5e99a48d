/**
 * `latchkey/testing`: the store contract, the suite every store backend of latchkey
 * passes (memory, SQLite, PostgreSQL, Redis), published so that whoever writes a store
 * for another database runs the same promises against it. It registers vitest suites:
 * call it from a test file. Nothing in it depends on the backend's name; a case about
 * something optional (`Stores.services`, `Stores.database`, `ChangeFeed.subscribe`, a
 * second handle) is reported skipped, never passed, when the backend has none, and every
 * case that runs must assert something.
 *
 * @example
 * // my-store.test.ts
 * import { describeStoreContract } from "latchkey/testing";
 * import { openMyStores } from "./my-store.js";
 *
 * describeStoreContract({
 *   name: "my database",
 *   async open() {
 *     const stores = await openMyStores({ url: process.env.MY_DB_URL });
 *     return { stores, cleanup: () => stores.close() };
 *   },
 * });
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it, type TestContext, vi } from "vitest";
import type { ServiceStore, Stores } from "./core/ports.js";
import type { ServiceRecord, SessionRecord, UserRecord } from "./core/records.js";
import { describeAuditContract } from "./testing/audit.js";
import { describeChallengeContract } from "./testing/challenges.js";
import { describeEmailContract } from "./testing/email.js";
import { describeFactorContract } from "./testing/factors.js";
import { makeSession, makeUser, T0 } from "./testing/fixtures.js";
import { describeLinkTokenContract } from "./testing/links.js";
import { describeRolesContract } from "./testing/roles.js";
import { describeSessionRenewalContract } from "./testing/session-renewal.js";
import { describeSignInMethodsContract } from "./testing/sign-in-methods.js";

/**
 * A fresh, empty set of stores for one test, and how to dispose of it.
 * @example
 * const opened: OpenedBackend = { stores: createMemoryStores(), cleanup: async () => {} };
 */
export interface OpenedBackend {
  stores: Stores;
  /**
   * A second, independent handle on the same data (another process's view), when the
   * backend has one: the cross-process promises (the change feed's position, the last-admin
   * guard under concurrency, concurrent role changes) are checked through it.
   */
  openAnother?: () => Promise<Stores>;
  /**
   * Begins a change-feed publish whose commit is held until `commit()` is called, as a
   * writer slow to commit does, for a backend whose writes can become visible out of
   * order (PostgreSQL: a row is numbered at INSERT, seen at COMMIT). Without it, the
   * suite's stand-in publishes at `commit()`, which is what a backend whose publishes are
   * atomic (one writer at a time, or a script) does.
   */
  holdPublish?: (change: HeldChange) => Promise<{ commit(): Promise<void> }>;
  cleanup(): Promise<void>;
}

/**
 * A change published by `OpenedBackend.holdPublish`.
 * @example
 * const change: HeldChange = { kind: "session_ended", subject: "sid", at: Date.now() };
 */
export interface HeldChange {
  kind: "session_ended";
  subject: string;
  at: number;
}

/**
 * A backend under test.
 * @example
 * const backend: ContractBackend = {
 *   name: "memory",
 *   open: async () => ({ stores: createMemoryStores(), cleanup: async () => {} }),
 * };
 * describeStoreContract(backend);
 */
export interface ContractBackend {
  name: string;
  /** Opens empty stores; called before every test. */
  open(): Promise<OpenedBackend>;
}

/** A reader of the change feed that keeps only its last `seq`, as every real one does. */
function cursorReader(stores: Stores): { seen: string[]; follow(): Promise<void> } {
  let cursor = 0;
  const seen: string[] = [];
  return {
    seen,
    async follow() {
      for (const change of await stores.changes.read(cursor, 0, 1000)) {
        seen.push(change.subject);
        cursor = change.seq;
      }
    },
  };
}

const user = makeUser;
const session = makeSession;

/**
 * Registers the store contract's suites for `backend`, each test on fresh stores.
 *
 * @example
 * describeStoreContract({ name: "memory", open: async () => ({ stores: createMemoryStores(), cleanup: async () => {} }) });
 */
export function describeStoreContract(backend: ContractBackend): void {
  describe(`store contract: ${backend.name}`, () => {
    let opened: OpenedBackend;
    let s: Stores;

    beforeEach(async () => {
      // A case that asserts nothing proves nothing: it fails instead of passing.
      expect.hasAssertions();
      opened = await backend.open();
      s = opened.stores;
    });
    afterEach(() => opened.cleanup());

    /** The backend's `what`, or the case reported skipped (not passed) saying what is missing. */
    const needs = <T>(what: T | undefined, missing: string, context: TestContext): T =>
      what ?? context.skip(`the backend has no ${missing}`);

    describe("users", () => {
      it("creates, finds by id and username, and refuses a taken username", async () => {
        const alice = user("alice");
        expect(await s.users.create(alice)).toBe(true);
        expect(await s.users.create(user("alice"))).toBe(false);
        expect(await s.users.findById(alice.id)).toEqual(alice);
        expect(await s.users.findByUsername("alice")).toEqual(alice);
        expect(await s.users.findByUsername("bob")).toBeNull();
        expect(await s.users.findById("missing")).toBeNull();
      });

      it("of concurrent creations of one username, exactly one succeeds", async () => {
        const results = await Promise.all(Array.from({ length: 8 }, () => s.users.create(user("carol"))));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it("lists by username, updates the hash, disables and enables", async () => {
        const bob = user("bob");
        await s.users.create(bob);
        await s.users.create(user("alice"));
        expect((await s.users.list()).map((u) => u.username)).toEqual(["alice", "bob"]);
        expect(await s.users.updatePasswordHash(bob.id, "new-hash")).toBe(true);
        expect(await s.users.setDisabled(bob.id, T0 + 5)).toBe(true);
        expect(await s.users.findById(bob.id)).toMatchObject({ passwordHash: "new-hash", disabledAt: T0 + 5 });
        expect(await s.users.setDisabled(bob.id, null)).toBe(true);
        expect((await s.users.findById(bob.id))?.disabledAt).toBeNull();
        expect(await s.users.setDisabled("missing", T0)).toBe(false);
        expect(await s.users.updatePasswordHash("missing", "x")).toBe(false);
      });

      it("deletes a user with their sessions and events", async () => {
        const alice = user("alice");
        const bob = user("bob");
        await s.users.create(alice);
        await s.users.create(bob);
        const sa = session(alice.id);
        const sb = session(bob.id);
        await s.sessions.create(sa);
        await s.sessions.create(sb);
        await s.events.append({
          id: "e1",
          userId: alice.id,
          type: "login",
          at: T0,
          sessionId: sa.id,
          ip: "",
          userAgent: "",
          detail: null,
        });
        expect(await s.users.delete(alice.id)).toBe(true);
        expect(await s.users.delete(alice.id)).toBe(false);
        expect(await s.sessions.findWithUser(sa.id)).toBeNull();
        expect(await s.events.listByUser(alice.id, 10)).toEqual([]);
        expect(await s.sessions.findWithUser(sb.id)).not.toBeNull();
      });
    });

    describe("sessions", () => {
      let alice: UserRecord;
      beforeEach(async () => {
        alice = user("alice");
        await s.users.create(alice);
      });

      it("finds a session with its user in one call", async () => {
        // The profile: no password hash, and no address even when the user has one.
        expect(await s.users.setEmail(alice.id, "alice@example.com", T0)).toBe(true);
        const one = session(alice.id, { remember: true, kind: "session" });
        await s.sessions.create(one);
        const { passwordHash: _hash, email: _email, emailVerifiedAt: _verifiedAt, ...profile } = alice;
        expect(await s.sessions.findWithUser(one.id)).toEqual({ session: one, user: profile });
        expect(await s.sessions.findWithUser("missing")).toBeNull();
      });

      it("touches, replaces the secret, and reports a missing session", async () => {
        const one = session(alice.id);
        await s.sessions.create(one);
        expect(await s.sessions.touch(one.id, T0 + 60_000, T0 + 660_000)).toBe(true);
        expect(await s.sessions.replaceSecret(one.id, "other-hash", T0 + 61_000)).toBe(true);
        expect((await s.sessions.findWithUser(one.id))?.session).toMatchObject({
          lastSeenAt: T0 + 60_000,
          idleExpiresAt: T0 + 660_000,
          secretHash: "other-hash",
          secretRotatedAt: T0 + 61_000,
        });
        expect(await s.sessions.touch("missing", T0, T0)).toBe(false);
        expect(await s.sessions.replaceSecret("missing", "x", T0)).toBe(false);
      });

      it("deletes one session and returns it once", async () => {
        const one = session(alice.id);
        await s.sessions.create(one);
        expect(await s.sessions.delete(one.id)).toEqual(one);
        expect(await s.sessions.delete(one.id)).toBeNull();
      });

      it("deletes all of a user's sessions but one", async () => {
        const bob = user("bob");
        await s.users.create(bob);
        const [a1, a2, a3, b1] = [session(alice.id), session(alice.id), session(alice.id), session(bob.id)];
        for (const x of [a1, a2, a3, b1]) await s.sessions.create(x as SessionRecord);
        const deleted = await s.sessions.deleteByUser(alice.id, a2?.id);
        expect(deleted.sort()).toEqual([a1?.id, a3?.id].sort());
        expect(await s.sessions.findWithUser(a2?.id as string)).not.toBeNull();
        expect(await s.sessions.findWithUser(b1?.id as string)).not.toBeNull();
        expect((await s.sessions.deleteByUser(alice.id)).length).toBe(1);
      });

      it("lists live sessions newest first, per user or all", async () => {
        const bob = user("bob");
        await s.users.create(bob);
        const older = session(alice.id, { createdAt: T0 });
        const newer = session(alice.id, { createdAt: T0 + 1000 });
        const idle = session(alice.id, { idleExpiresAt: T0 + 10 });
        const other = session(bob.id, { createdAt: T0 + 500 });
        for (const x of [older, newer, idle, other]) await s.sessions.create(x);
        const now = T0 + 100;
        expect((await s.sessions.listLive(now, alice.id)).map((x) => x.id)).toEqual([newer.id, older.id]);
        expect((await s.sessions.listLive(now)).map((x) => x.id)).toEqual([newer.id, other.id, older.id]);
      });

      it("names the live sessions past the most recently used, when it can (evictable)", async (context) => {
        if (!s.sessions.evictable) return context.skip();
        const bob = user("bob");
        await s.users.create(bob);
        const used = (lastSeenAt: number, extra: Partial<SessionRecord> = {}) =>
          session(alice.id, { lastSeenAt, ...extra });
        // `old` and `oldest` were last used at the same time: the one created first goes first.
        const [oldest, old] = [used(T0 + 20, { createdAt: T0 }), used(T0 + 20, { createdAt: T0 + 1 })];
        const [recent, latest] = [used(T0 + 30), used(T0 + 40)];
        const idle = used(T0 + 5, { idleExpiresAt: T0 + 50 });
        const expired = used(T0 + 60, { expiresAt: T0 + 90 });
        const bobs = session(bob.id, { lastSeenAt: T0 });
        for (const x of [oldest, old, recent, latest, idle, expired, bobs]) await s.sessions.create(x);
        const now = T0 + 100;
        // The new sign-in (`latest`) left out, one kept: the two least recently used are past it.
        expect(await s.sessions.evictable(alice.id, now, 1, latest.id)).toEqual([old.id, oldest.id]);
        expect(await s.sessions.evictable(alice.id, now, 2, latest.id)).toEqual([oldest.id]);
        expect(await s.sessions.evictable(alice.id, now, 3, latest.id)).toEqual([]);
        expect(await s.sessions.evictable(alice.id, now, 0, "none")).toEqual([latest.id, recent.id, old.id, oldest.id]);
        expect(await s.sessions.evictable(alice.id, now, 4, "none")).toEqual([]);
      });

      it("sweeps dead sessions in batches and leaves live ones", async () => {
        for (let i = 0; i < 7; i++) await s.sessions.create(session(alice.id, { idleExpiresAt: T0 + i }));
        const live = session(alice.id, { idleExpiresAt: T0 + 1_000_000 });
        await s.sessions.create(live);
        // A store that expires rows by itself (Redis) may have nothing left to sweep.
        const first = await s.sessions.sweepExpired(T0 + 100, 5);
        expect([0, 5]).toContain(first);
        let total = first;
        for (let round = 0; round < 3; round++) total += await s.sessions.sweepExpired(T0 + 100, 5);
        expect([0, 7]).toContain(total);
        expect(await s.sessions.sweepExpired(T0 + 100, 5)).toBe(0);
        expect(await s.sessions.listLive(T0 + 100, alice.id)).toEqual([live]);
        expect(await s.sessions.findWithUser(live.id)).not.toBeNull();
      });
    });

    describe("refresh tokens", () => {
      let sessionId: string;
      beforeEach(async () => {
        const alice = user("alice");
        await s.users.create(alice);
        const one = session(alice.id);
        await s.sessions.create(one);
        sessionId = one.id;
      });
      const token = (id: string) => ({
        id,
        sessionId,
        secretHash: `hash-${id}`,
        createdAt: T0,
        expiresAt: T0 + 3_600_000,
        rotatedAt: null,
      });

      it("creates and finds", async () => {
        await s.refreshTokens.create(token("r1"));
        expect(await s.refreshTokens.find("r1")).toEqual(token("r1"));
        expect(await s.refreshTokens.find("missing")).toBeNull();
      });

      it("of concurrent rotations of one token, exactly one wins", async () => {
        await s.refreshTokens.create(token("r1"));
        const results = await Promise.all(Array.from({ length: 10 }, () => s.refreshTokens.markRotated("r1", T0 + 5)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await s.refreshTokens.find("r1"))?.rotatedAt).toBe(T0 + 5);
        expect(await s.refreshTokens.markRotated("missing", T0)).toBe(false);
      });

      it("retires a session's current tokens, and goes with its session", async () => {
        await s.refreshTokens.create(token("r1"));
        await s.refreshTokens.create(token("r2"));
        await s.refreshTokens.retireForSession(sessionId, T0 + 7);
        expect((await s.refreshTokens.find("r2"))?.rotatedAt).toBe(T0 + 7);
        await s.sessions.delete(sessionId);
        expect(await s.refreshTokens.find("r1")).toBeNull();
      });
    });

    describe("signing keys", () => {
      const key = (kid: string, createdAt: number) => ({
        kid,
        alg: "EdDSA" as const,
        publicJwk: `{"kid":"${kid}"}`,
        privateJwk: `{"kid":"${kid}","d":"x"}`,
        createdAt,
        retiredAt: null,
      });

      it("lists oldest first, retires all but one, deletes long-retired keys", async () => {
        await s.keys.add(key("b", T0 + 1));
        await s.keys.add(key("a", T0));
        await s.keys.add(key("c", T0 + 2));
        expect((await s.keys.list()).map((k) => k.kid)).toEqual(["a", "b", "c"]);
        await s.keys.add({ ...key("es", T0 + 3), alg: "ES256" });
        await s.keys.retireOthers("c", "EdDSA", T0 + 10);
        // Docs issue 19 bug 1: a key of another algorithm is never retired by this one.
        expect((await s.keys.list()).map((k) => k.retiredAt)).toEqual([T0 + 10, T0 + 10, null, null]);
        expect(await s.keys.deleteRetiredBefore(T0 + 10)).toBe(0);
        expect(await s.keys.deleteRetiredBefore(T0 + 11)).toBe(2);
        expect((await s.keys.list()).map((k) => k.kid)).toEqual(["c", "es"]);
      });
    });

    describe("services", () => {
      const service = (name: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
        id: `svc_${randomUUID().replaceAll("-", "").slice(0, 22)}`,
        name,
        secretHash: "hash-of-the-client-secret",
        createdAt: T0,
        revokedAt: null,
        ...extra,
      });

      const servicesOf = (context: TestContext): ServiceStore =>
        needs(s.services, "services store (Stores.services is optional)", context);

      it("creates, finds by id and by name, lists oldest first, and refuses a taken name", async (context) => {
        const services = servicesOf(context);
        const billing = service("billing");
        const mail = service("mail", { createdAt: T0 + 1 });
        expect(await services.create(billing)).toBe(true);
        expect(await services.create(mail)).toBe(true);
        expect(await services.create(service("billing"))).toBe(false);
        expect(await services.findById(billing.id)).toEqual(billing);
        expect(await services.findByName("mail")).toEqual(mail);
        expect(await services.findByName("nope")).toBeNull();
        expect((await services.list()).map((x) => x.name)).toEqual(["billing", "mail"]);
      });

      it("revokes a live service once; a revoked name stays taken", async (context) => {
        const services = servicesOf(context);
        const billing = service("billing");
        await services.create(billing);
        expect(await services.revoke(billing.id, T0 + 5)).toBe(true);
        expect(await services.revoke(billing.id, T0 + 6)).toBe(false);
        expect(await services.revoke("svc_missing", T0 + 6)).toBe(false);
        expect((await services.findById(billing.id))?.revokedAt).toBe(T0 + 5);
        expect(await services.create(service("billing"))).toBe(false);
      });

      it("of N racing creations of one name, exactly one wins", async (context) => {
        const services = servicesOf(context);
        const results = await Promise.all(Array.from({ length: 8 }, () => services.create(service("racer"))));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("the database lent to the host", () => {
      it("runs a host's migrations once, in tables of their own, beside latchkey's; its rows go with their user", async (context) => {
        const handle = needs(s.database, "SQL database to lend (Stores.database is optional)", context);
        const migrations = {
          "0001-notes": {
            async up(db: Kysely<unknown>) {
              await db.schema
                .createTable("host_notes")
                .addColumn("id", "text", (c) => c.primaryKey())
                .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
                .execute();
            },
          },
        };
        expect(await handle.migrate("host_app", migrations)).toEqual(["0001-notes"]);
        expect(await handle.migrate("host_app", migrations)).toEqual([]);
        await expect(handle.migrate("Bad Name", migrations)).rejects.toBeInstanceOf(TypeError);
        // latchkey's own history is not a host's to share.
        await expect(handle.migrate("latchkey", migrations)).rejects.toBeInstanceOf(TypeError);
        const alice = user("alice");
        await s.users.create(alice);
        const db = handle.kysely as Kysely<{ host_notes: { id: string; user_id: string } }>;
        await db.insertInto("host_notes").values({ id: "n1", user_id: alice.id }).execute();
        expect(await db.selectFrom("host_notes").selectAll().execute()).toHaveLength(1);
        await s.users.delete(alice.id);
        expect(await db.selectFrom("host_notes").selectAll().execute()).toEqual([]);
        await db.schema.dropTable("host_notes").execute();
      });
    });

    describe("events", () => {
      it("lists a user's newest events first, up to the limit", async () => {
        const alice = user("alice");
        await s.users.create(alice);
        for (let i = 0; i < 5; i++) {
          await s.events.append({
            id: `e${i}`,
            userId: alice.id,
            type: "login",
            at: T0, // same instant: insertion order decides
            sessionId: i % 2 === 0 ? `s${i}` : null,
            ip: "127.0.0.1",
            userAgent: "ua",
            detail: null,
          });
        }
        const events = await s.events.listByUser(alice.id, 3);
        expect(events.map((e) => e.id)).toEqual(["e4", "e3", "e2"]);
        expect(events[1]?.sessionId).toBeNull();
        expect(events[0]?.sessionId).toBe("s4");
      });

      it("sweeps the events older than a time, oldest first, at most a batch at a time (sweepOlderThan)", async (context) => {
        // A store without it keeps its log for ever (createAuth refuses eventRetentionDays then).
        const sweep = needs(
          s.events.sweepOlderThan?.bind(s.events),
          "sweep of old events (EventStore.sweepOlderThan is optional)",
          context,
        );
        const alice = user("alice");
        const bob = user("bob");
        await s.users.create(alice);
        await s.users.create(bob);
        // Appended out of time order (the oldest after a newer one): the sweep goes by `at`.
        for (const [id, owner, at] of [
          ["late", alice, T0 + 30],
          ["old", alice, T0 + 10],
          ["oldest", bob, T0],
          ["edge", alice, T0 + 20],
        ] as const) {
          await s.events.append({
            id,
            userId: owner.id,
            type: "login",
            at,
            sessionId: null,
            ip: "",
            userAgent: "ua",
            detail: null,
          });
        }
        expect(await sweep(T0 + 20, 1)).toBe(1);
        expect((await s.events.listByUser(bob.id, 10)).map((e) => e.id)).toEqual([]);
        expect(await sweep(T0 + 20, 10)).toBe(1);
        // `before` itself is kept: only events strictly older go.
        expect((await s.events.listByUser(alice.id, 10)).map((e) => e.id)).toEqual(["edge", "late"]);
        expect(await sweep(T0 + 20, 10)).toBe(0);
      });
    });

    describe("disabled users", () => {
      it("a disabled user's session never reads as an enabled user's, whether or not it was deleted (fail closed)", async () => {
        const alice = user("alice");
        await s.users.create(alice);
        const one = session(alice.id);
        await s.sessions.create(one);
        expect((await s.sessions.findWithUser(one.id))?.user.disabledAt).toBeNull();
        expect(await s.users.setDisabled(alice.id, T0 + 5)).toBe(true);
        // Whether the second step of disabling (deleting the sessions) happens or fails:
        // a session store either has already ended the session or reads the user disabled.
        const found = await s.sessions.findWithUser(one.id);
        expect(found === null || found.user.disabledAt === T0 + 5).toBe(true);
        // A session created for a disabled user (a login racing the disable) reads disabled or is refused.
        const late = session(alice.id);
        const created = await s.sessions.create(late).then(
          () => true,
          (e: { code?: string }) => e.code === "account_disabled",
        );
        expect(created).toBe(true);
        const lateFound = await s.sessions.findWithUser(late.id);
        expect(lateFound === null || lateFound.user.disabledAt === T0 + 5).toBe(true);
        await s.users.setDisabled(alice.id, null);
        const again = session(alice.id);
        await s.sessions.create(again);
        expect((await s.sessions.findWithUser(again.id))?.user.disabledAt).toBeNull();
      });
    });

    describeRolesContract({ stores: () => s, opened: () => opened });
    describeAuditContract({ stores: () => s, opened: () => opened });
    describeEmailContract({ stores: () => s, opened: () => opened });
    describeLinkTokenContract({ stores: () => s, opened: () => opened });
    describeFactorContract({ stores: () => s, opened: () => opened });
    describeChallengeContract({ stores: () => s, opened: () => opened });
    describeSessionRenewalContract({ stores: () => s, opened: () => opened });
    describeSignInMethodsContract({ stores: () => s, opened: () => opened });

    describe("counters", () => {
      it("count within a window and start again after it", async () => {
        expect(await s.counters.hit("k", 1000, T0)).toEqual({ count: 1, resetAt: T0 + 1000 });
        expect(await s.counters.hit("k", 1000, T0 + 500)).toEqual({ count: 2, resetAt: T0 + 1000 });
        expect(await s.counters.peek("k", T0 + 999)).toEqual({ count: 2, resetAt: T0 + 1000 });
        expect(await s.counters.peek("k", T0 + 1000)).toBeNull();
        expect(await s.counters.hit("k", 1000, T0 + 1000)).toEqual({ count: 1, resetAt: T0 + 2000 });
        await s.counters.reset("k");
        expect(await s.counters.peek("k", T0 + 1001)).toBeNull();
      });

      it("give N distinct counts to N concurrent hits", async () => {
        const counts = await Promise.all(Array.from({ length: 20 }, () => s.counters.hit("c", 60_000, T0)));
        expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });

      it("release takes back one hit of the current window, never below zero, nothing after it", async () => {
        await s.counters.hit("r", 1000, T0);
        await s.counters.hit("r", 1000, T0);
        await s.counters.release("r", T0 + 1);
        expect(await s.counters.peek("r", T0 + 2)).toEqual({ count: 1, resetAt: T0 + 1000 });
        await s.counters.release("r", T0 + 3);
        await s.counters.release("r", T0 + 4);
        expect((await s.counters.peek("r", T0 + 5))?.count ?? 0).toBe(0);
        expect((await s.counters.hit("r", 1000, T0 + 6)).count).toBe(1);
        await s.counters.release("missing", T0);
        expect(await s.counters.peek("missing", T0)).toBeNull();
      });

      it("sweep ended windows (or expire them by themselves)", async () => {
        await s.counters.hit("a", 10, T0);
        await s.counters.hit("b", 10_000, T0);
        expect(await s.counters.sweepExpired(T0 + 100)).toBeLessThanOrEqual(1);
        expect(await s.counters.peek("a", T0 + 100)).toBeNull();
        expect(await s.counters.peek("b", T0 + 100)).not.toBeNull();
      });
    });

    describe("change feed", () => {
      it("reads changes in publish order after a sequence number", async () => {
        await s.changes.publish("session_ended", "s1", T0);
        await s.changes.publish("user_changed", "u1", T0 + 1);
        await s.changes.publish("session_ended", "s2", T0 + 2);
        const all = await s.changes.read(0, 0, 10);
        expect(all.map((c) => c.subject)).toEqual(["s1", "u1", "s2"]);
        expect(all[0]?.seq).toBeLessThan(all[1]?.seq as number);
        expect((await s.changes.read(all[0]?.seq as number, 0, 10)).map((c) => c.subject)).toEqual(["u1", "s2"]);
        expect((await s.changes.read(0, T0 + 1, 10)).map((c) => c.subject)).toEqual(["u1", "s2"]);
        expect((await s.changes.read(0, 0, 1)).map((c) => c.subject)).toEqual(["s1"]);
        expect(await s.changes.prune(T0 + 2)).toBe(2);
        expect((await s.changes.read(0, 0, 10)).map((c) => c.subject)).toEqual(["s2"]);
      });

      it("applies the time filter before the limit (1,500 old entries never hide a new one)", async () => {
        for (let i = 0; i < 1500; i++) await s.changes.publish("session_ended", `old-${i}`, T0 - 7_200_000);
        await s.changes.publish("session_ended", "new", T0);
        const read = await s.changes.read(0, T0 - 60_000, 1000);
        expect(read.map((c) => c.subject)).toEqual(["new"]);
        expect((await s.changes.read(0, 0, 1000)).length).toBe(1000);
      }, 60_000);

      it("tells its position: a stable epoch and the highest seq", async () => {
        const empty = await s.changes.position();
        expect(typeof empty.epoch).toBe("string");
        await s.changes.publish("session_ended", "a", T0);
        await s.changes.publish("session_ended", "b", T0);
        const read = await s.changes.read(0, 0, 10);
        const position = await s.changes.position();
        expect(position.epoch).toBe(empty.epoch);
        expect(position.seq).toBe(read.at(-1)?.seq);
        if (opened.openAnother) expect((await (await opened.openAnother()).changes.position()).epoch).toBe(empty.epoch);
      });

      it("keeps its position when every entry was pruned: a quiet feed has lost nothing", async () => {
        await s.changes.publish("session_ended", "a", T0);
        await s.changes.publish("session_ended", "b", T0 + 1);
        const before = await s.changes.position();
        expect(await s.changes.prune(T0 + 2)).toBe(2);
        const after = await s.changes.position();
        expect(after).toEqual(before);
        expect(after.seq).toBeGreaterThan(0);
        await s.changes.publish("session_ended", "c", T0 + 3);
        const [next] = await s.changes.read(before.seq, 0, 10);
        expect(next?.subject).toBe("c");
        expect((await s.changes.position()).seq).toBe(next?.seq);
      });

      it("makes a change committed late readable after a cursor that passed later changes", async () => {
        const hold =
          opened.holdPublish ??
          (async (change: HeldChange) => ({ commit: () => s.changes.publish(change.kind, change.subject, change.at) }));
        const held = await hold({ kind: "session_ended", subject: "held", at: T0 });
        await s.changes.publish("session_ended", "after-1", T0);
        await s.changes.publish("session_ended", "after-2", T0);
        const { seen, follow } = cursorReader(s);
        await follow();
        expect(seen).toEqual(["after-1", "after-2"]);
        await held.commit();
        await follow();
        expect(seen).toEqual(["after-1", "after-2", "held"]);
        await follow();
        expect(seen).toHaveLength(3);
      });

      it("is read whole and once by a cursor reader while many writers publish at once", async () => {
        const handles = [s];
        if (opened.openAnother) handles.push(await opened.openAnother(), await opened.openAnother());
        const subjects = Array.from({ length: 240 }, (_, i) => `end-${i}`);
        const { seen, follow } = cursorReader(s);
        let writing = true;
        const reader = (async () => {
          while (writing) await follow();
        })();
        // Rounds of 96 at once, spread over the handles (other processes, where the backend has them).
        for (let i = 0; i < subjects.length; i += 96) {
          await Promise.all(
            subjects
              .slice(i, i + 96)
              .map((subject, j) => handles[j % handles.length]?.changes.publish("session_ended", subject, T0)),
          );
        }
        writing = false;
        await reader;
        await follow();
        expect(seen.filter((subject) => subject.startsWith("end-")).sort()).toEqual([...subjects].sort());
      }, 60_000);

      it("offers subscribe, if at all, as a plain function that wakes its caller after a publish", async (context) => {
        const subscribe = needs(
          s.changes.subscribe,
          "push for the change feed (ChangeFeed.subscribe is optional)",
          context,
        );
        let woken = false;
        const unsubscribe = subscribe.call(s.changes, () => {
          woken = true;
        });
        expect(typeof unsubscribe).toBe("function");
        try {
          // A push may be set up in the background (a LISTEN, a SUBSCRIBE): publish until it wakes.
          await vi.waitFor(
            async () => {
              if (!woken) await s.changes.publish("session_ended", "wake", T0);
              expect(woken).toBe(true);
            },
            { timeout: 5000, interval: 100 },
          );
        } finally {
          unsubscribe();
        }
      });

      it("is shared by every handle on the same data", async (context) => {
        const another = needs(
          opened.openAnother,
          "second handle on the same data (OpenedBackend.openAnother)",
          context,
        );
        const other = await another();
        await other.changes.publish("session_ended", "from-other", T0);
        expect((await s.changes.read(0, 0, 10)).map((c) => c.subject)).toEqual(["from-other"]);
      });
    });

    describe("secrets", () => {
      it("keep the first value stored under a name, across handles", async () => {
        const results = await Promise.all(["a", "b", "c"].map((v) => s.secrets.getOrCreate("key", v)));
        expect(new Set(results).size).toBe(1);
        if (opened.openAnother) {
          const other = await opened.openAnother();
          expect(await other.secrets.getOrCreate("key", "z")).toBe(results[0]);
        }
      });
    });

    it("answers ping", async () => {
      await expect(s.ping()).resolves.toBeUndefined();
    });
  });
}
