/** The memory `SessionStore`. */
import type { SessionStore } from "../../core/ports.js";
import { pastMostRecentlyUsed } from "../../core/session-manager.js";
import { copySession, copyUser, dropSession, isLive, type State } from "./state.js";

export function sessionStore(state: State): SessionStore {
  return {
    async create(session) {
      state.sessions.set(session.id, copySession(session));
    },
    async findWithUser(id) {
      const session = state.sessions.get(id);
      const user = session && state.users.get(session.userId);
      if (!session || !user) return null;
      // The profile only: never the password hash or the address (`UserProfile`).
      const { passwordHash: _hash, email: _email, emailVerifiedAt: _verifiedAt, ...profile } = user;
      return { session: copySession(session), user: copyUser(profile) };
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const session = state.sessions.get(id);
      if (!session) return false;
      Object.assign(session, { lastSeenAt, idleExpiresAt });
      return true;
    },
    async replaceSecret(id, secretHash, at) {
      const session = state.sessions.get(id);
      if (!session) return false;
      Object.assign(session, { secretHash, previousSecretHash: null, secretRotatedAt: at });
      return true;
    },
    async renewSecret(id, expectedHash, renewal) {
      // No await between the check and the write: of racing calls, the first one wins.
      const session = state.sessions.get(id);
      if (!session || session.secretHash !== expectedHash) return false;
      Object.assign(session, {
        previousSecretHash: expectedHash,
        secretHash: renewal.secretHash,
        secretRotatedAt: renewal.at,
        lastSeenAt: renewal.lastSeenAt,
        idleExpiresAt: renewal.idleExpiresAt,
      });
      return true;
    },
    async reauthenticate(id, at, amr) {
      const session = state.sessions.get(id);
      if (!session) return false;
      Object.assign(session, { authTime: at, amr: [...amr] });
      return true;
    },
    async delete(id) {
      const session = state.sessions.get(id);
      if (!session) return null;
      dropSession(state, id);
      return session;
    },
    async deleteByUser(userId, exceptId) {
      const ids: string[] = [];
      for (const [id, s] of state.sessions) {
        if (s.userId === userId && id !== exceptId) {
          dropSession(state, id);
          ids.push(id);
        }
      }
      return ids;
    },
    listLive: async (now, userId) =>
      [...state.sessions.values()]
        .filter((s) => isLive(s, now) && (userId === undefined || s.userId === userId))
        .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
        .map(copySession),
    evictable: async (userId, now, keep, exceptId) =>
      pastMostRecentlyUsed(
        [...state.sessions.values()].filter((s) => s.userId === userId && s.id !== exceptId && isLive(s, now)),
        keep,
      ),
    async sweepExpired(now, limit) {
      let deleted = 0;
      for (const [id, s] of state.sessions) {
        if (deleted >= limit) break;
        if (!isLive(s, now)) {
          dropSession(state, id);
          deleted++;
        }
      }
      return deleted;
    },
  };
}
