/**
 * In-process stores: for tests, demos and single-process library use. Nothing survives a
 * restart, and nothing is shared between processes (the change feed reaches only
 * followers in this process).
 */
import { randomUUID } from "node:crypto";
import type {
  ChangeFeed,
  CounterStore,
  EventStore,
  KeyStore,
  RefreshTokenStore,
  SecretStore,
  SessionStore,
  Stores,
  UserStore,
} from "../../core/ports.js";
import type {
  ChangeRecord,
  CounterState,
  EventRecord,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from "../../core/records.js";

interface State {
  users: Map<string, UserRecord>;
  sessions: Map<string, SessionRecord>;
  refreshTokens: Map<string, RefreshTokenRecord>;
  keys: SigningKeyRecord[];
  events: EventRecord[];
  counters: Map<string, CounterState>;
  changes: ChangeRecord[];
  secrets: Map<string, string>;
  wakers: Set<() => void>;
}

/**
 * @example
 * const stores = createMemoryStores();
 * const auth = await createAuth({ stores, sessions: DEFAULT_SESSION_POLICY, throttle: DEFAULT_THROTTLE_POLICY });
 */
export function createMemoryStores(): Stores {
  const state: State = {
    users: new Map(),
    sessions: new Map(),
    refreshTokens: new Map(),
    keys: [],
    events: [],
    counters: new Map(),
    changes: [],
    secrets: new Map(),
    wakers: new Set(),
  };
  return {
    users: userStore(state),
    sessions: sessionStore(state),
    refreshTokens: refreshTokenStore(state),
    keys: keyStore(state),
    events: eventStore(state),
    counters: counterStore(state),
    changes: changeFeed(state),
    secrets: secretStore(state),
    ping: async () => {},
    close: async () => {},
  };
}

const copy = <T extends object>(value: T): T => ({ ...value });

function userStore(state: State): UserStore {
  const byName = (username: string) => [...state.users.values()].find((u) => u.username === username);
  return {
    async create(user) {
      if (byName(user.username)) return false;
      state.users.set(user.id, copy(user));
      return true;
    },
    findById: async (id) => {
      const user = state.users.get(id);
      return user ? copy(user) : null;
    },
    findByUsername: async (username) => {
      const user = byName(username);
      return user ? copy(user) : null;
    },
    list: async () => [...state.users.values()].map(copy).sort((a, b) => a.username.localeCompare(b.username)),
    async updatePasswordHash(id, passwordHash) {
      const user = state.users.get(id);
      if (!user) return false;
      user.passwordHash = passwordHash;
      return true;
    },
    async setDisabled(id, disabledAt) {
      const user = state.users.get(id);
      if (!user) return false;
      user.disabledAt = disabledAt;
      return true;
    },
    async delete(id) {
      if (!state.users.delete(id)) return false;
      for (const [key, s] of state.sessions) if (s.userId === id) dropSession(state, key);
      state.events = state.events.filter((e) => e.userId !== id);
      return true;
    },
  };
}

function dropSession(state: State, id: string): void {
  state.sessions.delete(id);
  for (const [key, token] of state.refreshTokens) if (token.sessionId === id) state.refreshTokens.delete(key);
}

function isLive(session: SessionRecord, now: number): boolean {
  return now < session.idleExpiresAt && now < session.expiresAt;
}

function sessionStore(state: State): SessionStore {
  return {
    async create(session) {
      state.sessions.set(session.id, copy(session));
    },
    async findWithUser(id) {
      const session = state.sessions.get(id);
      const user = session && state.users.get(session.userId);
      if (!session || !user) return null;
      const { passwordHash: _hash, ...profile } = user;
      return { session: copy(session), user: profile };
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const session = state.sessions.get(id);
      if (!session) return false;
      Object.assign(session, { lastSeenAt, idleExpiresAt });
      return true;
    },
    async replaceSecret(id, secretHash) {
      const session = state.sessions.get(id);
      if (!session) return false;
      session.secretHash = secretHash;
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
        .map(copy),
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

function refreshTokenStore(state: State): RefreshTokenStore {
  return {
    async create(token) {
      state.refreshTokens.set(token.id, copy(token));
    },
    find: async (id) => {
      const token = state.refreshTokens.get(id);
      return token ? copy(token) : null;
    },
    async markRotated(id, now) {
      const token = state.refreshTokens.get(id);
      if (!token || token.rotatedAt !== null) return false;
      token.rotatedAt = now;
      return true;
    },
    async retireForSession(sessionId, now) {
      for (const token of state.refreshTokens.values()) {
        if (token.sessionId === sessionId && token.rotatedAt === null) token.rotatedAt = now;
      }
    },
  };
}

function keyStore(state: State): KeyStore {
  return {
    list: async () => [...state.keys].sort((a, b) => a.createdAt - b.createdAt || a.kid.localeCompare(b.kid)).map(copy),
    async add(key) {
      state.keys.push(copy(key));
    },
    async retireOthers(keepKid, alg, at) {
      for (const key of state.keys) {
        if (key.kid !== keepKid && key.alg === alg && key.retiredAt === null) key.retiredAt = at;
      }
    },
    async deleteRetiredBefore(before) {
      const kept = state.keys.filter((k) => k.retiredAt === null || k.retiredAt >= before);
      const deleted = state.keys.length - kept.length;
      state.keys = kept;
      return deleted;
    },
  };
}

function eventStore(state: State): EventStore {
  return {
    async append(event) {
      state.events.push(copy(event));
    },
    listByUser: async (userId, limit) =>
      state.events
        .filter((e) => e.userId === userId)
        .reverse()
        .slice(0, limit)
        .map(copy),
  };
}

function counterStore(state: State): CounterStore {
  return {
    async hit(key, windowMs, now) {
      const current = state.counters.get(key);
      const next =
        current && now < current.resetAt
          ? { count: current.count + 1, resetAt: current.resetAt }
          : { count: 1, resetAt: now + windowMs };
      state.counters.set(key, next);
      return copy(next);
    },
    async peek(key, now) {
      const current = state.counters.get(key);
      return current && now < current.resetAt ? copy(current) : null;
    },
    async release(key, now) {
      const current = state.counters.get(key);
      if (current && now < current.resetAt && current.count > 0) current.count--;
    },
    async reset(key) {
      state.counters.delete(key);
    },
    async sweepExpired(now) {
      let deleted = 0;
      for (const [key, counter] of state.counters) {
        if (counter.resetAt <= now && state.counters.delete(key)) deleted++;
      }
      return deleted;
    },
  };
}

function changeFeed(state: State): ChangeFeed {
  let seq = 0;
  const epoch = randomUUID();
  return {
    position: async () => ({ epoch, seq: state.changes.at(-1)?.seq ?? 0 }),
    async publish(kind, subject, at) {
      state.changes.push({ seq: ++seq, kind, subject, at });
      for (const wake of state.wakers) wake();
    },
    read: async (afterSeq, notBefore, limit) =>
      state.changes
        .filter((c) => c.seq > afterSeq && c.at >= notBefore)
        .slice(0, limit)
        .map(copy),
    async prune(before) {
      const kept = state.changes.filter((c) => c.at >= before);
      const pruned = state.changes.length - kept.length;
      state.changes = kept;
      return pruned;
    },
    subscribe(wake) {
      state.wakers.add(wake);
      return () => state.wakers.delete(wake);
    },
  };
}

function secretStore(state: State): SecretStore {
  return {
    async getOrCreate(name, candidate) {
      const existing = state.secrets.get(name);
      if (existing !== undefined) return existing;
      state.secrets.set(name, candidate);
      return candidate;
    },
  };
}
