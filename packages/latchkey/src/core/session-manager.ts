/**
 * Sessions: creation, validation with idle and absolute timeouts, rotation, ending, and
 * the sweep of expired rows.
 *
 * The request path costs one store read. `lastSeenAt` is written at most once per touch
 * interval: `touchInterval` (a minute by default), or a tenth of the session's idle timeout
 * when that is shorter. A busy session causes one write per interval, and the idle timeout
 * is exact to within it: a session may end up to one interval early, never late. (A fixed
 * minute made idle timeouts under a minute end sessions in steady use.)
 */
import type { Clock } from "./clock.js";
import { dropStaleFront } from "./memo.js";
import type { AuthObserver } from "./observer.js";
import type { ChangeFeed, ClientInfo, CounterStore, SessionStore, ValidSession } from "./ports.js";
import {
  normaliseAmr,
  SESSION_END_REASONS,
  type SessionEndReason,
  type SessionKind,
  type SessionRecord,
  type UserProfile,
} from "./records.js";
import { hashSecret, type RandomBytes, safeEqual } from "./secrets.js";
import type { EventContext, SecurityLog } from "./security-log.js";
import { formatSessionToken, newSessionSecret, newSessionToken, parseSessionToken } from "./session-token.js";

/** Store-facing types, defined with the ports; here too for the code that imports them from here. */
export type { ClientInfo, ValidSession };

/**
 * Timeouts, in seconds.
 * @example
 * const sessions: SessionPolicy = { ...DEFAULT_SESSION_POLICY, maxPerUser: 10 };
 */
export interface SessionPolicy {
  idleTimeout: number;
  absoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  /** How often at most `lastSeenAt` is written. Default 60. */
  touchInterval?: number;
  /**
   * Live sessions a user may have. A login past it ends the user's least recently used
   * sessions. Default 100.
   */
  maxPerUser?: number;
  /**
   * How often a cookie session's secret is renewed as it is used, seconds: the first
   * write of use (`touchInterval`) at least this long after the last renewal also gives
   * the session a new secret, sent as its cookie. `0` never renews. Default 900.
   */
  rotateInterval?: number;
  /**
   * How long the secret before a renewal still works, seconds (racing requests, other
   * tabs, a slow network). Presented later, it proves two parties hold the session: the
   * session ends (`session_reuse_detected`). Default 30.
   */
  rotateGrace?: number;
  /**
   * How long the reason an ended session ended is kept, seconds, to tell whoever presents
   * its credential later (`Latchkey-Session-Ended`): one small counter per ended session,
   * in the counter store, for this long. 60 to 2592000 (30 days); default 86400 (a day).
   */
  endReasonTtl?: number;
}

/**
 * When `SessionManager.check` may renew the secret: `with-use` on the write of use that
 * is due anyway (a session cookie's request path), `when-due` whenever renewal is due
 * (hybrid, whose session cookie is read only to renew its access cookie), `never`.
 * @example
 * const found = await auth.sessions.check(token, client, { renew: "with-use" });
 */
export type Renewal = "with-use" | "when-due" | "never";

/**
 * What `SessionManager.check` finds: the live session; why it ended, when its secret
 * fits a session that has ended (`"session_reuse_detected"` when this very request
 * presented a superseded secret after its grace: the session has just been ended and
 * the event recorded); or `null` (no such session, a wrong secret, an ending forgotten).
 * @example
 * const found: SessionCheck = await auth.sessions.check(token, { ip, userAgent });
 * if (typeof found === "string") console.log(`ended: ${found}`);
 */
export type SessionCheck = ValidSession | SessionEndReason | null;

/**
 * The message of the 401 that follows a detected reuse: what the person is told.
 * @example
 * if (error.message === SESSION_REUSE_MESSAGE) showWhy();
 */
export const SESSION_REUSE_MESSAGE =
  "This session was ended: its cookie was used from two places (a copy of it, or a browser that missed its renewal). Sign in again, and check your devices.";

/** Options of `SessionManager.create`. */
export interface NewSession extends ClientInfo {
  userId: string;
  kind: SessionKind;
  remember: boolean;
  /** How the person proved who they are (RFC 8176 `amr` values). Default `["pwd"]`. */
  amr?: readonly string[];
}

/** Dependencies of `SessionManager`. */
export interface SessionManagerDeps {
  store: SessionStore;
  changes: ChangeFeed;
  clock: Clock;
  policy: SessionPolicy;
  random?: RandomBytes;
  /** Told of every session this process ends, synchronously, before anything else runs. */
  onEnded?: (sessionId: string, at: number) => void;
  /** Whether a session is known to have ended (the change follower's set). */
  isEnded?: (sessionId: string) => boolean;
  /**
   * Forgets the user's pending sign-ins (a password's, waiting for its second step) when
   * all their sessions end: a password change or reset, "sign out everywhere", disabling.
   */
  forgetPending?: (userId: string) => Promise<unknown>;
  /** Where `signIn` and the `…Recorded` endings write the user's security events. */
  log?: SecurityLog;
  /**
   * Where why a session ended is remembered for `endReasonTtl` (a day by default; `ENDED_MARK`), so whoever holds
   * its credential is told why on their next request: the other tab, the other device,
   * both holders of a copied cookie.
   */
  counters?: CounterStore;
  /** The user's latest role change known (the change follower's), `0` for none. */
  rolesChangedAt?: (userId: string) => number;
  /**
   * The user as stored now: read when a session's copy of its user is older than a role
   * change the feed reported (a copy written while the roles were changing).
   */
  findUser?: (userId: string) => Promise<UserProfile | null>;
  /** Told of sessions opened and ended (`AuthObserver`). */
  observer?: Pick<AuthObserver, "sessionCreated" | "sessionsEnded">;
}

/** Who ended a session, for its event: the client's address and agent, when a request did. */
export type EndContext = Omit<EventContext, "sessionId">;

/**
 * The counter that remembers why a session ended, and for how long. Its count is the
 * reason's place in `SESSION_END_REASONS` (from 1): the counter store is shared by every
 * process and has expiry, and a count is all it holds. Endings are rare (a sign-out, a
 * password change), so the few writes this takes are no cost to the request path.
 */
const ENDED_MARK = "session-ended:";
/** `SessionPolicy.endReasonTtl`'s default, seconds: a day. */
export const DEFAULT_END_REASON_TTL = 86_400;

/** How long `findLiveRecent` may answer from memory, in ms. */
const RECENT_MS = 1000;
const RECENT_SIZE = 10_000;

const MAX_USER_AGENT = 512;

/**
 * The ids of `sessions` past the `keep` most recently used, the latest first: by
 * `lastSeenAt`, then `createdAt`, then `id`, as `SessionStore.evictable` orders them.
 * @example
 * const ids = pastMostRecentlyUsed(await stores.sessions.listLive(now, userId), 99);
 */
export function pastMostRecentlyUsed(sessions: readonly SessionRecord[], keep: number): string[] {
  return [...sessions]
    .sort(
      (a, b) => b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    )
    .slice(keep)
    .map((s) => s.id);
}

/**
 * @example
 * const sessions = new SessionManager({ store, changes, clock, policy });
 * const { session, token } = await sessions.create({ userId, kind: "session", remember: false, ip, userAgent });
 * const valid = await sessions.validate(token); // { session, user } or null
 */
export class SessionManager {
  readonly #deps: SessionManagerDeps;
  readonly #touchIntervalMs: number;
  readonly #rotateIntervalMs: number;
  readonly #graceMs: number;
  readonly #endReasonMs: number;
  readonly #recent = new Map<string, { valid: ValidSession; until: number }>();

  constructor(deps: SessionManagerDeps) {
    this.#deps = deps;
    this.#touchIntervalMs = (deps.policy.touchInterval ?? 60) * 1000;
    this.#rotateIntervalMs = (deps.policy.rotateInterval ?? 900) * 1000;
    this.#graceMs = (deps.policy.rotateGrace ?? 30) * 1000;
    this.#endReasonMs = (deps.policy.endReasonTtl ?? DEFAULT_END_REASON_TTL) * 1000;
  }

  /**
   * Opens a new session. Never reuses an id the client presented (no fixation). When the
   * user then has more than `maxPerUser` live sessions, the least recently used end;
   * `evicted` lists them (concurrent logins may overshoot the cap by their number, briefly).
   */
  async create(input: NewSession): Promise<{ session: SessionRecord; token: string; evicted: SessionRecord[] }> {
    const { policy, clock, random, store } = this.#deps;
    const now = clock.now();
    const idleTimeoutMs = (input.remember ? policy.rememberIdleTimeout : policy.idleTimeout) * 1000;
    const absoluteMs = (input.remember ? policy.rememberAbsoluteTimeout : policy.absoluteTimeout) * 1000;
    const parts = newSessionToken(random);
    const expiresAt = now + absoluteMs;
    const session: SessionRecord = {
      id: parts.id,
      userId: input.userId,
      secretHash: hashSecret(parts.secret),
      kind: input.kind,
      remember: input.remember,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      idleTimeoutMs,
      idleExpiresAt: Math.min(now + idleTimeoutMs, expiresAt),
      previousSecretHash: null,
      secretRotatedAt: now,
      ip: input.ip,
      userAgent: input.userAgent.slice(0, MAX_USER_AGENT),
      authTime: now,
      amr: normaliseAmr(input.amr),
    };
    await store.create(session);
    this.#deps.observer?.sessionCreated?.(session.kind);
    return { session, token: formatSessionToken(parts), evicted: await this.#evictOverCap(session) };
  }

  async #evictOverCap(created: SessionRecord): Promise<SessionRecord[]> {
    const cap = this.#deps.policy.maxPerUser ?? 100;
    const evicted: SessionRecord[] = [];
    // The least recently used first, as the security log then tells them.
    for (const id of (await this.#pastCap(created, cap)).reverse()) {
      const ended = await this.end(id, "session_limit_reached");
      if (ended) evicted.push(ended);
    }
    return evicted;
  }

  /**
   * The user's other live sessions past the `cap - 1` most recently used (the new one is
   * the cap's last place): the store's `evictable` when it has one (the ids alone), else
   * from every live session of the user.
   */
  async #pastCap(created: SessionRecord, cap: number): Promise<string[]> {
    const { store, clock } = this.#deps;
    if (store.evictable) return store.evictable(created.userId, clock.now(), cap - 1, created.id);
    const others = (await this.listLive(created.userId)).filter((s) => s.id !== created.id);
    return pastMostRecentlyUsed(others, cap - 1);
  }

  /**
   * The live session a token proves, or `null` (malformed, unknown, wrong secret,
   * expired, its account disabled, or a superseded secret past its grace: then the
   * session ends too). `client` is who presents it, for the security log. It never
   * renews the secret (its caller would have no way to hand the new one on): `check`
   * does, for a caller that sets the cookie.
   */
  async validate(token: string, client?: ClientInfo): Promise<ValidSession | null> {
    const parts = parseSessionToken(token);
    const found = parts ? await this.#checkParts(parts.id, parts.secret, client, "never") : null;
    return typeof found === "string" ? null : found;
  }

  /**
   * What a cookie's request path asks: `validate`, renewing the secret when it is due
   * (the result's `renewedToken`: send it as the session cookie on the answer, whatever
   * the answer), and telling why a session ended (`SessionEndReason`, for a secret of a
   * session that has ended). A detected reuse is `"session_reuse_detected"`: the session
   * had renewed its secret, and the one before was presented after its grace, so two
   * parties hold the session. It has just been ended everywhere and recorded in the
   * owner's log (`session_reuse_detected`, with both clients).
   */
  check(token: string, client?: ClientInfo, options: { renew?: Renewal } = {}): Promise<SessionCheck> {
    const parts = parseSessionToken(token);
    if (!parts) return Promise.resolve(null);
    return this.#checkParts(parts.id, parts.secret, client, options.renew ?? "with-use");
  }

  /** `validate` for an id and secret already split. */
  async validateParts(id: string, secret: string): Promise<ValidSession | null> {
    const found = await this.#checkParts(id, secret, undefined, "never");
    return typeof found === "string" ? null : found;
  }

  async #checkParts(id: string, secret: string, client: ClientInfo | undefined, renew: Renewal): Promise<SessionCheck> {
    // The request path of the session strategy: one store read, one hash, and a write
    // at most once per touch interval, which renews the secret when it is due. (Kept to
    // one async frame: each nested async call costs promise allocations and microtask
    // turns on every request.)
    const found = await this.#deps.store.findWithUser(id);
    if (!found) return this.#markOf(id);
    const hash = hashSecret(secret);
    if (safeEqual(hash, found.session.secretHash)) {
      if (this.#state(found) === "dead") return deadReason(found);
      // Hybrid reads its session cookie only to renew the access cookie, after requests
      // that recorded use through their access tokens: there, renew when due, use or not.
      if (renew === "when-due" && this.#renewalDue(found.session) && this.#state(found) !== "dead") {
        return this.#renewed(found, hash);
      }
      return this.#checked(found, renew === "never" ? null : hash);
    }
    const previous = found.session.previousSecretHash;
    if (previous === null || !safeEqual(hash, previous)) return null;
    // The secret before the last renewal: fine within its grace (this request raced the
    // renewal, or another tab has not seen the new cookie yet), proof of a copy after.
    if (this.#deps.clock.now() - found.session.secretRotatedAt <= this.#graceMs) return this.#checked(found, null);
    return this.#reuseDetected(found, client);
  }

  /**
   * Why the session `id` ended, or `null` when that is not known: no such session, it is
   * live, or its ending is older than `endReasonTtl`. For a credential that names its session
   * without proving it again (a signed access token's `sid`), whose refusal says why.
   * @example
   * const why = await auth.sessions.endReason(claims.sessionId); // "password_changed"
   */
  async endReason(id: string): Promise<SessionEndReason | null> {
    const found = await this.#deps.store.findWithUser(id);
    if (!found) return this.#markOf(id);
    return this.#state(found) === "dead" ? deadReason(found) : null;
  }

  /** Why a session that is gone ended, from its mark (within `endReasonTtl` of the ending). */
  async #markOf(id: string): Promise<SessionEndReason | null> {
    const counters = this.#deps.counters;
    if (!counters) return null;
    const mark = await counters.peek(`${ENDED_MARK}${id}`, this.#deps.clock.now());
    return (mark && SESSION_END_REASONS[mark.count - 1]) ?? null;
  }

  /** Remembers why these sessions ended (they have, by this call): a count of the reason's number each. */
  async #mark(ids: readonly string[], reason: SessionEndReason): Promise<void> {
    const counters = this.#deps.counters;
    if (!counters || ids.length === 0) return;
    const now = this.#deps.clock.now();
    const hits = SESSION_END_REASONS.indexOf(reason) + 1;
    await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: hits }, () => counters.hit(`${ENDED_MARK}${id}`, this.#endReasonMs, now)),
      ),
    );
  }

  /** Two parties hold the session: end it everywhere and tell its owner, with both clients. */
  async #reuseDetected(found: ValidSession, client: ClientInfo | undefined): Promise<"session_reuse_detected"> {
    const ended = await this.end(found.session.id, "session_reuse_detected");
    if (ended) {
      const owner = { ip: found.session.ip, userAgent: found.session.userAgent };
      await this.#deps.log?.record("session_reuse_detected", found.user.id, {
        sessionId: found.session.id,
        ip: client?.ip ?? "",
        userAgent: client?.userAgent ?? "",
        detail: JSON.stringify(owner),
      });
    }
    return "session_reuse_detected";
  }

  /**
   * The live session with this id, without a secret: for credentials that already prove
   * the session (a signed access token carrying its `sid`).
   */
  async findLive(id: string): Promise<ValidSession | null> {
    const found = await this.#deps.store.findWithUser(id);
    return found ? this.#checked(found) : null;
  }

  /**
   * Whether a session is live in the store, without recording use: for confirming an
   * access token when the change feed cannot vouch for it.
   */
  async isLive(id: string): Promise<boolean> {
    return (await this.peekLive(id)) !== null;
  }

  /**
   * The live session with this id and its user as stored now, without recording use:
   * for a service's question about a token (introspection), which must not keep an idle
   * session alive.
   */
  async peekLive(id: string): Promise<ValidSession | null> {
    const found = await this.#deps.store.findWithUser(id);
    return found !== null && this.#state(found) !== "dead" ? found : null;
  }

  /**
   * How many sessions `findLiveRecent` holds in memory: those read in the last second.
   * @example
   * const held: number = auth.sessions.remembered;
   */
  get remembered(): number {
    return this.#recent.size;
  }

  /**
   * `findLive` for a request already authenticated by a signed access token, which needs
   * the records only to show them (`GET /auth/me`): a session read in the last second is
   * answered from memory, unless it has ended since (in this process, or in another as
   * the change feed reports). Session cookies never come here: they are checked against
   * the store on every request.
   */
  async findLiveRecent(id: string): Promise<ValidSession | null> {
    const now = this.#deps.clock.now();
    const hit = this.#recent.get(id);
    if (
      hit &&
      now < hit.until &&
      !this.#deps.isEnded?.(id) &&
      this.#state(hit.valid) === "live" &&
      !this.#rolesBehind(hit.valid)
    ) {
      return hit.valid;
    }
    const valid = await this.findLive(id);
    if (valid) {
      // Held in the order they expire (a refreshed entry moves to the back): the expired
      // ones are dropped from the front, so the map holds about the sessions in use this
      // second, not every session seen until 10,000 of them empty it.
      this.#recent.delete(id);
      dropStaleFront(this.#recent, (entry) => entry.until <= now);
      if (this.#recent.size >= RECENT_SIZE) this.#recent.clear();
      this.#recent.set(id, { valid, until: now + RECENT_MS });
    } else {
      this.#recent.delete(id);
    }
    return valid;
  }

  /**
   * A found session as it stands: itself, `null` when dead, or touched when stale (and
   * its secret renewed, when `presented` is its current secret's hash and renewal is due).
   */
  #checked(found: ValidSession, presented: string | null = null): ValidSession | null | Promise<ValidSession | null> {
    if (this.#rolesBehind(found)) return this.#withCurrentUser(found);
    const state = this.#state(found);
    if (state !== "stale") return state === "live" ? found : null;
    return presented !== null && this.#renewalDue(found.session)
      ? this.#renewed(found, presented)
      : this.#touched(found);
  }

  /**
   * When the session's secret last changed, and from when a request that records its use
   * renews it (`null`: never, renewal is off). Only a cookie session has a secret it sends.
   * @example
   * const { renewedAt, renewsAfter } = auth.sessions.secretSchedule(session);
   */
  secretSchedule(session: SessionRecord): { renewedAt: number; renewsAfter: number | null; graceMs: number } {
    const renewsAfter = this.#rotateIntervalMs > 0 ? session.secretRotatedAt + this.#rotateIntervalMs : null;
    return { renewedAt: session.secretRotatedAt, renewsAfter, graceMs: this.#graceMs };
  }

  #renewalDue(session: SessionRecord): boolean {
    return this.#rotateIntervalMs > 0 && this.#deps.clock.now() - session.secretRotatedAt >= this.#rotateIntervalMs;
  }

  /**
   * The write of use that also renews the secret: one conditional write, so of two
   * racing requests one renews and the other (its secret now the previous one, within
   * the grace) goes on with the session as the winner left it.
   */
  async #renewed({ session, user }: ValidSession, presented: string): Promise<ValidSession | null> {
    const now = this.#deps.clock.now();
    const idleExpiresAt = Math.min(now + session.idleTimeoutMs, session.expiresAt);
    const secret = newSessionSecret(this.#deps.random);
    const secretHash = hashSecret(secret);
    const renewal = { secretHash, at: now, lastSeenAt: now, idleExpiresAt };
    if (await this.#deps.store.renewSecret(session.id, presented, renewal)) {
      return {
        user,
        session: {
          ...session,
          secretHash,
          previousSecretHash: presented,
          secretRotatedAt: now,
          lastSeenAt: now,
          idleExpiresAt,
        },
        renewedToken: formatSessionToken({ id: session.id, secret }),
      };
    }
    // Another request renewed it first (or a password change replaced it, or it ended):
    // the presented secret must still pass as the previous one, within its grace.
    const again = await this.#deps.store.findWithUser(session.id);
    if (!again || this.#state(again) === "dead") return null;
    const previous = again.session.previousSecretHash;
    const withinGrace = now - again.session.secretRotatedAt <= this.#graceMs;
    return previous !== null && safeEqual(presented, previous) && withinGrace ? again : null;
  }

  /** Whether the feed knows of a role change newer than the roles `found` carries. */
  #rolesBehind(found: ValidSession): boolean {
    const changed = this.#deps.rolesChangedAt?.(found.user.id) ?? 0;
    return changed > found.user.rolesAt;
  }

  /** `found` with its user read again (rare: only after a role change raced the copy). */
  async #withCurrentUser(found: ValidSession): Promise<ValidSession | null> {
    const user = await this.#deps.findUser?.(found.user.id);
    if (!user) return null;
    const current = { session: found.session, user: { ...found.user, roles: user.roles, rolesAt: user.rolesAt } };
    // Still behind (the store lags the feed): nothing better to go on; never loop.
    const state = this.#state(current);
    return state === "live" ? current : state === "dead" ? null : this.#touched(current);
  }

  #state({ session, user }: ValidSession): "live" | "dead" | "stale" {
    const now = this.#deps.clock.now();
    if (now >= session.idleExpiresAt || now >= session.expiresAt || user.disabledAt !== null) return "dead";
    const interval = Math.min(this.#touchIntervalMs, session.idleTimeoutMs / 10);
    return now - session.lastSeenAt >= interval ? "stale" : "live";
  }

  /** Records activity (moving the idle expiry); `null` if the session ended meanwhile. */
  async #touched({ session, user }: ValidSession): Promise<ValidSession | null> {
    const now = this.#deps.clock.now();
    const idleExpiresAt = Math.min(now + session.idleTimeoutMs, session.expiresAt);
    if (!(await this.#deps.store.touch(session.id, now, idleExpiresAt))) return null;
    return { user, session: { ...session, lastSeenAt: now, idleExpiresAt } };
  }

  /** Gives a session a new secret; the old token stops working. `null` when it is gone. */
  async rotateSecret(sessionId: string): Promise<string | null> {
    const secret = newSessionSecret(this.#deps.random);
    const replaced = await this.#deps.store.replaceSecret(sessionId, hashSecret(secret), this.#deps.clock.now());
    return replaced ? formatSessionToken({ id: sessionId, secret }) : null;
  }

  /**
   * A login: opens the session and records it (`login`), with a `session_revoked` event
   * for each session the per-user cap ended.
   */
  async signIn(input: NewSession): Promise<{ session: SessionRecord; token: string }> {
    const { session, token, evicted } = await this.create(input);
    const client = { ip: input.ip, userAgent: input.userAgent };
    await this.#deps.log?.record("login", session.userId, { sessionId: session.id, ...client });
    for (const old of evicted)
      await this.#deps.log?.record("session_revoked", old.userId, { sessionId: old.id, ...client });
    return { session, token };
  }

  /**
   * Records that the person proved who they are again in a live session (a password
   * confirmed for a sensitive action, later a second factor): its `authTime` becomes now
   * and its `amr` the methods just used. The session, as it now stands; `null` when it has
   * ended. Access tokens issued from now on carry the new `auth_time` and `amr`.
   * @example
   * const valid = await auth.sessions.reauthenticate(sessionId, ["pwd"]);
   * if (valid) console.log(new Date(valid.session.authTime));
   */
  async reauthenticate(sessionId: string, amr: readonly string[]): Promise<ValidSession | null> {
    const found = await this.#deps.store.findWithUser(sessionId);
    if (!found || this.#state(found) === "dead") return null;
    const now = this.#deps.clock.now();
    const methods = normaliseAmr(amr);
    if (!(await this.#deps.store.reauthenticate(sessionId, now, methods))) return null;
    // The copy `findLiveRecent` may hold predates this.
    this.#recent.delete(sessionId);
    return { user: found.user, session: { ...found.session, authTime: now, amr: methods } };
  }

  /**
   * Ends a session and records why, as one step: `logout` (the user signed out) or
   * `session_revoked` (it was ended from elsewhere). Nothing is recorded when it had
   * already ended.
   */
  async endRecorded(
    sessionId: string,
    why: "logout" | "session_revoked",
    context: EndContext = {},
  ): Promise<SessionRecord | null> {
    const ended = await this.end(sessionId, why === "logout" ? "signed_out" : "session_revoked");
    if (ended) await this.#deps.log?.record(why, ended.userId, { sessionId: ended.id, ...context });
    return ended;
  }

  /** `endOwn`, recorded as `session_revoked`. */
  async endOwnRecorded(userId: string, sessionId: string, context: EndContext = {}): Promise<SessionRecord | null> {
    const ended = await this.endOwn(userId, sessionId, "session_revoked");
    if (ended) await this.#deps.log?.record("session_revoked", userId, { sessionId: ended.id, ...context });
    return ended;
  }

  /** `endAllForUser`, each ended session recorded as `session_revoked` (and told so). */
  async endAllRecorded(userId: string, exceptId: string | undefined, context: EndContext = {}): Promise<string[]> {
    const ended = await this.endAllForUser(userId, exceptId, "session_revoked");
    for (const id of ended) await this.#deps.log?.record("session_revoked", userId, { sessionId: id, ...context });
    return ended;
  }

  /**
   * `endAllForUser` but the caller's session (`exceptId`), recorded as one `logout_others`
   * event whose detail says how many ended; each ended session is told `session_revoked`.
   */
  async endOthersRecorded(userId: string, exceptId: string, context: EndContext = {}): Promise<string[]> {
    const ended = await this.endAllForUser(userId, exceptId, "session_revoked");
    await this.#deps.log?.record("logout_others", userId, {
      sessionId: exceptId,
      ...context,
      detail: JSON.stringify({ ended: ended.length }),
    });
    return ended;
  }

  /**
   * Ends one session everywhere; returns it, or `null` when it had already ended. `why`
   * is told to whoever presents its credential later (`endReason`), for `endReasonTtl`.
   */
  async end(sessionId: string, why?: SessionEndReason): Promise<SessionRecord | null> {
    const ended = await this.#deps.store.delete(sessionId);
    if (ended) {
      this.#deps.observer?.sessionsEnded?.(why ?? "unspecified", 1);
      // Refused everywhere first; the mark only explains the refusal.
      await this.#published(sessionId);
      if (why) await this.#mark([sessionId], why);
    }
    return ended;
  }

  /**
   * Ends a session of `userId`'s; `null` when there is no such session or it belongs to
   * somebody else (which is then left alone).
   */
  async endOwn(userId: string, sessionId: string, why?: SessionEndReason): Promise<SessionRecord | null> {
    const found = await this.#deps.store.findWithUser(sessionId);
    if (!found || found.session.userId !== userId) return null;
    return this.end(sessionId, why);
  }

  /** Ends every session of a user but `exceptId`; returns the ids ended. `why` as for `end`. */
  async endAllForUser(userId: string, exceptId?: string, why?: SessionEndReason): Promise<string[]> {
    // A sign-in waiting for its second step would open a session after this: it ends too.
    await this.#deps.forgetPending?.(userId);
    const ids = await this.#deps.store.deleteByUser(userId, exceptId);
    if (ids.length > 0) this.#deps.observer?.sessionsEnded?.(why ?? "unspecified", ids.length);
    for (const id of ids) await this.#published(id);
    if (why) await this.#mark(ids, why);
    return ids;
  }

  async #published(sessionId: string): Promise<void> {
    const now = this.#deps.clock.now();
    this.#recent.delete(sessionId);
    this.#deps.onEnded?.(sessionId, now);
    await this.#deps.changes.publish("session_ended", sessionId, now);
  }

  /** A user's live sessions, newest first (all users' when `userId` is omitted). */
  listLive(userId?: string): Promise<SessionRecord[]> {
    return this.#deps.store.listLive(this.#deps.clock.now(), userId);
  }

  /**
   * Deletes expired sessions in batches, never holding the event loop for long: a store
   * such as SQLite deletes synchronously, and a million expired rows (a burst of sign-ups
   * a day ago) must not stall the requests in flight. Each batch is sized to take about
   * `targetMs` (halved when slower, doubled when much faster, from `batchSize`), and the
   * sweep then waits as long as the batch took, so it never has more than half the loop.
   */
  async sweep(batchSize = 50, targetMs = 2): Promise<number> {
    let total = 0;
    let size = batchSize;
    for (;;) {
      const started = performance.now();
      const deleted = await this.#deps.store.sweepExpired(this.#deps.clock.now(), size);
      const took = performance.now() - started;
      total += deleted;
      if (deleted > 0) this.#deps.observer?.sessionsEnded?.("session_expired", deleted);
      if (deleted < size) return total;
      if (took > targetMs) size = Math.max(10, Math.floor(size / 2));
      else if (took < targetMs / 2) size = Math.min(5000, size * 2);
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, took)));
    }
  }
}

/** Why a session whose record is still stored is dead: its account was disabled, or it timed out. */
function deadReason(found: ValidSession): SessionEndReason {
  return found.user.disabledAt !== null ? "account_disabled" : "session_expired";
}
