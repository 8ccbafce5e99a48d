/** What the memory stores hold, shared by each port's store. */
import type {
  AuditRecord,
  ChallengeRecord,
  ChangeRecord,
  CounterState,
  EventRecord,
  FactorRecord,
  LinkTokenRecord,
  RefreshTokenRecord,
  ServiceRecord,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from "../../core/records.js";

export interface State {
  users: Map<string, UserRecord>;
  /** The users' email addresses (the unique index): address to user id. */
  emails: Map<string, string>;
  sessions: Map<string, SessionRecord>;
  refreshTokens: Map<string, RefreshTokenRecord>;
  keys: SigningKeyRecord[];
  events: EventRecord[];
  counters: Map<string, CounterState>;
  changes: ChangeRecord[];
  secrets: Map<string, string>;
  services: Map<string, ServiceRecord>;
  audit: AuditRecord[];
  links: Map<string, LinkTokenRecord>;
  factors: Map<string, FactorRecord>;
  /** Each user's recovery codes: user id to (code hash to the code). */
  recoveryCodes: Map<string, Map<string, RecoveryCode>>;
  challenges: Map<string, ChallengeRecord>;
  wakers: Set<() => void>;
}

/** A recovery code, kept under its hash. */
export interface RecoveryCode {
  createdAt: number;
  usedAt: number | null;
}

export const copy = <T extends object>(value: T): T => ({ ...value });

/** A user's copy: a record of its own, and a roles array of its own (callers may keep either). */
export const copyUser = <T extends { roles: string[] }>(user: T): T => ({ ...user, roles: [...user.roles] });

/** A session's copy: a record of its own, and an `amr` array of its own. */
export const copySession = (session: SessionRecord): SessionRecord => ({ ...session, amr: [...session.amr] });

export function dropSession(state: State, id: string): void {
  state.sessions.delete(id);
  for (const [key, token] of state.refreshTokens) if (token.sessionId === id) state.refreshTokens.delete(key);
}

export function isLive(session: SessionRecord, now: number): boolean {
  return now < session.idleExpiresAt && now < session.expiresAt;
}
