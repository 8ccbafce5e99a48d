/** The records the store contract's cases make (`../testing.ts`). */
import { randomUUID } from "node:crypto";
import type { Stores } from "../core/ports.js";
import type { SessionRecord, UserRecord } from "../core/records.js";

/**
 * The cases' "now". Real time: a store with server-side expiry (Redis) expires keys by
 * the wall clock.
 * @example
 * const session = makeSession(userId, { expiresAt: T0 + 60_000 });
 */
export const T0 = Date.now();

/**
 * A user named `username` (a fresh id, the default role), with `extra` over it.
 * @example
 * const admin = makeUser("root", { roles: ["admin", "user"] });
 */
export const makeUser = (username: string, extra: Partial<UserRecord> = {}): UserRecord => ({
  id: randomUUID(),
  username,
  passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
  createdAt: T0,
  disabledAt: null,
  roles: ["user"],
  rolesAt: T0,
  email: null,
  emailVerifiedAt: null,
  ...extra,
});

/**
 * A live session of `userId` (a fresh id), with `extra` over it.
 * @example
 * const remembered = makeSession(alice.id, { remember: true });
 */
/**
 * A new user `alice` and a session of hers (with `extra` over it), both stored.
 * @example
 * const { user, session } = await storedSession(stores, { kind: "jwt" });
 */
export async function storedSession(
  stores: Stores,
  extra: Partial<SessionRecord> = {},
): Promise<{ user: UserRecord; session: SessionRecord }> {
  const user = makeUser("alice");
  await stores.users.create(user);
  const session = makeSession(user.id, extra);
  await stores.sessions.create(session);
  return { user, session };
}

/**
 * The session as `findWithUser` reads it now, or `null`.
 * @example
 * const read: SessionRecord | null = await readSession(stores, sessionId);
 */
export const readSession = async (stores: Stores, id: string): Promise<SessionRecord | null> =>
  (await stores.sessions.findWithUser(id))?.session ?? null;

export const makeSession = (userId: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  id: randomUUID().replaceAll("-", "").slice(0, 22),
  userId,
  secretHash: "hash-of-secret",
  kind: "session",
  remember: false,
  createdAt: T0,
  lastSeenAt: T0,
  expiresAt: T0 + 3_600_000,
  idleTimeoutMs: 600_000,
  idleExpiresAt: T0 + 600_000,
  ip: "127.0.0.1",
  userAgent: "test",
  previousSecretHash: null,
  secretRotatedAt: extra.createdAt ?? T0,
  authTime: extra.createdAt ?? T0,
  amr: ["pwd"],
  ...extra,
});
