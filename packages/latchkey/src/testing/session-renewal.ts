/**
 * The store contract's cases about session secrets that renew as they are used
 * (`../testing.ts`): the previous secret and the renewal time stored and read with the
 * session, a renewal that happens only from the secret it expects (exactly one of racing
 * renewals, on two handles where the backend has them), a password change that forgets
 * the previous secret, and the security log's `detail`.
 */
import { describe, expect, it } from "vitest";
import type { SecretRenewal } from "../core/ports.js";
import type { EventRecord, SessionRecord, UserRecord } from "../core/records.js";
import { readSession, storedSession, T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/** Concurrent renewals per round of the concurrency case. */
const RENEWERS = 8;

/** A renewal to `secretHash` at `at`, the session used then with a 10-minute idle timeout. */
const renewal = (secretHash: string, at: number): SecretRenewal => ({
  secretHash,
  at,
  lastSeenAt: at,
  idleExpiresAt: at + 600_000,
});

/**
 * Registers the session renewal cases, inside `describeStoreContract`'s suite.
 * @example
 * describeSessionRenewalContract({ stores: () => s, opened: () => opened });
 */
export function describeSessionRenewalContract(state: ContractState): void {
  describe("session secret renewal", () => {
    let alice: UserRecord;
    const start = async (extra: Partial<SessionRecord> = {}): Promise<SessionRecord> => {
      let one: SessionRecord;
      ({ user: alice, session: one } = await storedSession(state.stores(), extra));
      return one;
    };

    it("a new session reads with no previous secret, renewed when it was created", async () => {
      const s = state.stores();
      const one = await start({ createdAt: T0 - 5000, lastSeenAt: T0 - 5000 });
      expect(one).toMatchObject({ previousSecretHash: null, secretRotatedAt: T0 - 5000 });
      expect(await readSession(s, one.id)).toEqual(one);
      expect(await s.sessions.listLive(T0, alice.id)).toEqual([one]);
    });

    it("renews only from the expected secret: previous, secret, renewal time and use in one step", async () => {
      const s = state.stores();
      const one = await start();
      expect(await s.sessions.renewSecret(one.id, one.secretHash, renewal("second", T0 + 1000))).toBe(true);
      const renewed: SessionRecord = {
        ...one,
        secretHash: "second",
        previousSecretHash: one.secretHash,
        secretRotatedAt: T0 + 1000,
        lastSeenAt: T0 + 1000,
        idleExpiresAt: T0 + 601_000,
      };
      expect(await readSession(s, one.id)).toEqual(renewed);
      // A stale secret (the one just renewed away, or any other) changes nothing.
      expect(await s.sessions.renewSecret(one.id, one.secretHash, renewal("stale", T0 + 2000))).toBe(false);
      expect(await s.sessions.renewSecret(one.id, "never-was", renewal("stale", T0 + 2000))).toBe(false);
      expect(await readSession(s, one.id)).toEqual(renewed);
      // A touch, and a role change, keep what the renewal wrote.
      expect(await s.sessions.touch(one.id, T0 + 3000, T0 + 603_000)).toBe(true);
      expect(await s.users.setRoles(alice.id, ["editor", "user"], T0 + 3000)).toBe(T0 + 3000);
      const touched = { ...renewed, lastSeenAt: T0 + 3000, idleExpiresAt: T0 + 603_000 };
      expect(await readSession(s, one.id)).toEqual(touched);
      // The next renewal goes from the current secret, and forgets the one before it.
      expect(await s.sessions.renewSecret(one.id, "second", renewal("third", T0 + 4000))).toBe(true);
      const expected = {
        ...touched,
        secretHash: "third",
        previousSecretHash: "second",
        secretRotatedAt: T0 + 4000,
        lastSeenAt: T0 + 4000,
        idleExpiresAt: T0 + 604_000,
      };
      expect(await readSession(s, one.id)).toEqual(expected);
      expect(await s.sessions.listLive(T0 + 4000, alice.id)).toEqual([expected]);
      expect(await s.sessions.delete(one.id)).toEqual(expected);
      expect(await s.sessions.renewSecret(one.id, "third", renewal("fourth", T0 + 5000))).toBe(false);
      expect(await s.sessions.renewSecret("missing", "third", renewal("fourth", T0 + 5000))).toBe(false);
      expect(await readSession(s, one.id)).toBeNull();
    });

    it("a password change's replaceSecret forgets the previous secret; a renewal from before it fails", async () => {
      const s = state.stores();
      const one = await start();
      expect(await s.sessions.renewSecret(one.id, one.secretHash, renewal("second", T0 + 1000))).toBe(true);
      expect(await s.sessions.replaceSecret(one.id, "after-password", T0 + 2000)).toBe(true);
      const replaced = {
        ...one,
        secretHash: "after-password",
        previousSecretHash: null,
        secretRotatedAt: T0 + 2000,
        lastSeenAt: T0 + 1000,
        idleExpiresAt: T0 + 601_000,
      };
      expect(await readSession(s, one.id)).toEqual(replaced);
      expect(await s.sessions.renewSecret(one.id, "second", renewal("late", T0 + 3000))).toBe(false);
      expect(await readSession(s, one.id)).toEqual(replaced);
    });

    it(`of ${RENEWERS} concurrent renewals from one secret, exactly one wins and its secret is stored (on two handles where the backend has them)`, async () => {
      const s = state.stores();
      const opened = state.opened();
      const handles = [s, ...(opened.openAnother ? [await opened.openAnother()] : [])];
      const one = await start();
      let current = one.secretHash;
      for (let round = 0; round < 4; round++) {
        const at = T0 + 1000 * (round + 1);
        const secrets = Array.from({ length: RENEWERS }, (_, i) => `round-${round}-renewer-${i}`);
        const results = await Promise.all(
          secrets.map((secret, i) =>
            handles[i % handles.length]?.sessions.renewSecret(one.id, current, renewal(secret, at + i)),
          ),
        );
        expect(results.filter((won) => won === true)).toHaveLength(1);
        const winner = results.indexOf(true);
        for (const handle of handles) {
          expect(await readSession(handle, one.id)).toMatchObject({
            secretHash: secrets[winner],
            previousSecretHash: current,
            secretRotatedAt: at + winner,
            lastSeenAt: at + winner,
            idleExpiresAt: at + winner + 600_000,
          });
        }
        current = secrets[winner] as string;
      }
    });

    it("the security log keeps each event's detail: none, or JSON", async () => {
      const s = state.stores();
      alice = user("alice");
      await s.users.create(alice);
      const event = (id: string, extra: Partial<EventRecord>): EventRecord => ({
        id,
        userId: alice.id,
        type: "login",
        at: T0,
        sessionId: "sid",
        ip: "203.0.113.9",
        userAgent: "test",
        detail: null,
        ...extra,
      });
      const plain = event("e1", {});
      const reuse = event("e2", {
        type: "session_reuse_detected",
        at: T0 + 1,
        ip: "198.51.100.7",
        userAgent: "curl/8.5.0",
        detail: JSON.stringify({ ip: "203.0.113.9", userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "Firefox" ü' }),
      });
      await s.events.append(plain);
      await s.events.append(reuse);
      expect(await s.events.listByUser(alice.id, 10)).toEqual([reuse, plain]);
    });
  });
}
