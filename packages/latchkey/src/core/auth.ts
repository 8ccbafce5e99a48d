/**
 * `createAuth` wires the core services over a set of stores. The HTTP plugin, the CLI and
 * a library user all start here.
 */
import { AccessTokens } from "./access-tokens.js";
import { type AccountLimits, Accounts, DEFAULT_ACCOUNT_LIMITS } from "./accounts.js";
import { Administration } from "./admin.js";
import { ChangeFollower } from "./change-follower.js";
import { type Clock, systemClock } from "./clock.js";
import { CsrfTokens } from "./csrf.js";
import { DeviceCookies } from "./device-cookies.js";
import { FactorKeys, parseFactorKeys } from "./factor-keys.js";
import { SecondFactors } from "./factors.js";
import { KeyRing } from "./key-ring.js";
import { LoginThrottle, limitPerAddress, type ThrottlePolicy } from "./login-throttle.js";
import type { MailOptions } from "./mail.js";
import { type Maintenance, type MaintenanceLog, startMaintenance } from "./maintenance.js";
import { type AuthObserver, observedHasher, observedStores } from "./observer.js";
import { PASSKEY_CHALLENGES_PER_ADDRESS, Passkeys, type RelyingParty, relyingPartyOf } from "./passkeys.js";
import { argon2Hasher, limitConcurrency, type PasswordHasher } from "./password-hasher.js";
import type { ChangeFeed, Stores } from "./ports.js";
import { type Readiness, readinessOf } from "./readiness.js";
import type { SigningAlgorithm } from "./records.js";
import { AccountEmail, DEFAULT_EMAIL_POLICY, type EmailPolicy } from "./recovery.js";
import { RefreshTokens } from "./refresh-tokens.js";
import { RevocationFeed, type StreamLimits } from "./revocations.js";
import { type AccessOptions, RoleModel } from "./roles.js";
import { SecondStep } from "./second-step.js";
import { type RandomBytes, randomToken } from "./secrets.js";
import { SecurityLog } from "./security-log.js";
import { NO_SERVICE_STORE, ServiceAccounts } from "./services.js";
import { DEFAULT_END_REASON_TTL, SessionManager, type SessionPolicy } from "./session-manager.js";
import { checkReauthWindow, RecentSignIn } from "./step-up.js";

/**
 * Access and refresh token settings; durations in seconds.
 * @example
 * const tokens: TokenPolicy = { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example", accessTokenTtl: 300 };
 */
export interface TokenPolicy {
  /** The public origin: the `iss` and `aud` of access tokens. */
  issuer: string | (() => string);
  alg: SigningAlgorithm;
  /** Required for, and only used with, HS256: at least 32 bytes. */
  secret?: string;
  accessTokenTtl: number;
  clockTolerance: number;
  revocation: "immediate" | "expiry";
  refreshReuseLeeway: number;
}

/**
 * Options of `createAuth`.
 * @example
 * const options: AuthOptions = {
 *   stores,
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example" },
 * };
 * const auth = await createAuth(options);
 */
export interface AuthOptions {
  stores: Stores;
  sessions: SessionPolicy;
  throttle: ThrottlePolicy;
  tokens: TokenPolicy;
  /** Per-address limits on registrations and password checks in flight. */
  limits?: Partial<AccountLimits>;
  /** Password hashes that may wait for a thread before new ones are refused (503). Default 32. */
  hashQueue?: number;
  /** Limits on the revocation feed's event streams (`DEFAULT_STREAM_LIMITS`). */
  streams?: Partial<StreamLimits>;
  clock?: Clock;
  random?: RandomBytes;
  /** Replaces the default hasher (argon2id behind `limitConcurrency`). */
  hasher?: PasswordHasher;
  /**
   * Told what latchkey does (sessions opened and ended, refreshes, access-token checks,
   * store calls, security events), with no identifier: `latchkey/metrics` turns it into
   * Prometheus metrics.
   */
  observer?: AuthObserver;
  /**
   * The app's roles and permissions (`docs/roles.md`): `user` and `admin` are built in.
   * An undeclared name anywhere is refused at start-up, naming it.
   */
  access?: AccessOptions;
  /**
   * Mail (`docs/accounts.md`): a transport function and the `From` address. With it,
   * accounts may have an email address, proved by a mailed link, and reset a forgotten
   * password from one; without it, the email routes are off.
   */
  mail?: MailOptions;
  /** Email and link settings (`DEFAULT_EMAIL_POLICY`). */
  email?: Partial<EmailPolicy>;
  /**
   * Seconds after a sign-in (or a re-authentication) during which sensitive actions are
   * allowed: admin changes, and, once the account has a second factor, a password or
   * email change and deleting the account (`docs/accounts.md`, "Recent sign-in"). Later
   * they answer `403 reauthentication_required`. 1 to 86400; default 600.
   */
  reauthWindow?: number;
  /**
   * Days the security log (`GET /auth/events`, an admin's view of a user) keeps an event;
   * the maintenance sweep deletes older ones. From a minute (`1 / 1440`) to 36500;
   * default 365; a fraction is a part of a day (`0.5`, twelve hours). A store of your own
   * must implement `EventStore.sweepOlderThan` for it to be set.
   */
  eventRetentionDays?: number;
  /**
   * Second factors (`docs/accounts.md`, "Second factors"). `keys`: the server keys that
   * seal authenticator apps' secrets at rest, 32 bytes each (base64 strings, or bytes),
   * the first sealing, all opening; without one, authenticator apps cannot be added
   * (`409 factor_unavailable`). `issuer`: the name the app shows above the account
   * (default `latchkey`).
   */
  factors?: { keys?: string | readonly (string | Uint8Array)[]; issuer?: string };
  /**
   * Passkeys (`docs/accounts.md`, "Passkeys"), bound to the domain of `tokens.issuer`
   * (the deployment's origin). `rpId`: a domain that origin's host is, or is under, to
   * share passkeys with the site's other hosts; `origins`: other origins whose pages may
   * use them (the server's `TRUSTED_ORIGINS`); `false`: no passkeys. An issuer that is no
   * http(s) origin with a domain name (an IP address) leaves them off (`409 factor_unavailable`).
   */
  passkeys?: { rpId?: string; origins?: readonly string[] } | false;
  /**
   * Whether a signing key may be created when none is live for `tokens.alg` (default
   * `true`). Processes that never sign (the CLI's commands) pass `false`.
   */
  createKeys?: boolean;
}

/**
 * The core services, ready to use.
 * @example
 * const live = await auth.sessions.listLive(userId); // the user's devices
 * await auth.sessions.endAllRecorded(userId, undefined); // sign them all out, logged
 * const maintenance = auth.startMaintenance(); // the sweep, when no adapter runs it
 */
export interface Auth {
  readonly stores: Stores;
  readonly clock: Clock;
  readonly accounts: Accounts;
  /** Email addresses, verification and password reset by mailed links. */
  readonly email: AccountEmail;
  readonly sessions: SessionManager;
  readonly throttle: LoginThrottle;
  readonly log: SecurityLog;
  readonly csrf: CsrfTokens;
  readonly changes: ChangeFollower;
  readonly keys: KeyRing;
  readonly accessTokens: AccessTokens;
  readonly refreshTokens: RefreshTokens;
  /** The password hasher: `auth.hasher.load?.()` is the hashing queue's depth. */
  readonly hasher: PasswordHasher;
  /** Service credentials: the services that trust latchkey's tokens. */
  readonly services: ServiceAccounts;
  /** The roles and permissions of this deployment: `auth.roles.can(roles, "users:read")`. */
  readonly roles: RoleModel;
  /** Whether a session's sign-in is recent enough for a sensitive action (`reauthWindow`). */
  readonly recentSignIn: RecentSignIn;
  /** The users' second factors: authenticator apps, passkeys and recovery codes. */
  readonly factors: SecondFactors;
  /** The users' passkeys (WebAuthn): registered, named, removed, and signing in. */
  readonly passkeys: Passkeys;
  /** The second step of a password sign-in, for users with a second factor. */
  readonly secondStep: SecondStep;
  /** What administrators do to users (`/admin/*`, the CLI), with the audit log. */
  readonly admin: Administration;
  /** What services must know to refuse tokens before `exp` (`GET /auth/revocations`). */
  readonly revocations: RevocationFeed;
  /** How long an access token can verify after it is issued: `accessTokenTtl + clockTolerance`, ms. */
  readonly tokenLifetimeMs: number;
  /**
   * How long the security log keeps an event (`eventRetentionDays`), ms; `Infinity` for an
   * event store that cannot delete old events.
   */
  readonly eventRetentionMs: number;
  /**
   * Starts the sweep of expired sessions, counters, old change-feed rows and spent keys
   * (every minute by default). The Fastify plugin starts it unless told not to; call this
   * where you run it yourself (one process of many, a cron job), and `stop()` it on close.
   */
  startMaintenance(options?: { log?: MaintenanceLog; intervalMs?: number }): Maintenance;
  /**
   * Whether this process can serve (a readiness check): its stores answer and it has read
   * the change feed within the last 5 s. The server answers it at `GET /readyz`; mount it
   * where your balancer looks (docs/operations.md, "Readiness and draining").
   */
  readiness(): Promise<Readiness>;
  /** Stops following the change feed (does not close the stores). `close()` does more. */
  stop(): void;
  /**
   * Stops everything `createAuth` started: following the change feed (its timer and its
   * subscription to the stores' push), and every sweep `startMaintenance` started (an
   * adapter's too); waits for a feed read and a sweep in progress, stopped or not. It does
   * not close the stores: whoever opened them closes them, after this (docs/library.md,
   * "Shutting down"). Closing twice is closing once.
   */
  close(): Promise<void>;
}

/**
 * The defaults of the contract, in seconds.
 * @example
 * const sessions = { ...DEFAULT_SESSION_POLICY, idleTimeout: 15 * 60 }; // seconds
 */
export const DEFAULT_SESSION_POLICY: Readonly<SessionPolicy> = {
  idleTimeout: 1800,
  absoluteTimeout: 43_200,
  rememberIdleTimeout: 604_800,
  rememberAbsoluteTimeout: 2_592_000,
  touchInterval: 60,
  rotateInterval: 900,
  rotateGrace: 30,
  endReasonTtl: DEFAULT_END_REASON_TTL,
};

/**
 * The defaults of the contract.
 * @example
 * const throttle = { ...DEFAULT_THROTTLE_POLICY, maxFailures: 10 };
 */
export const DEFAULT_THROTTLE_POLICY: Readonly<ThrottlePolicy> = {
  maxFailures: 5,
  addressMaxFailures: 100,
  window: 900,
};

/**
 * The contract's token defaults (the issuer is the deployment's own).
 * @example
 * const tokens = { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example", alg: "ES256" as const };
 */
export const DEFAULT_TOKEN_POLICY: Readonly<Omit<TokenPolicy, "issuer">> = {
  alg: "EdDSA",
  accessTokenTtl: 600,
  clockTolerance: 5,
  revocation: "immediate",
  refreshReuseLeeway: 10,
};

/**
 * @example
 * const auth = await createAuth({
 *   stores: await openSqliteStores({ path: "./data/latchkey.db" }),
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://auth.example.com" },
 * });
 */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const { random } = options;
  const observer = options.observer ?? {};
  const stores = observedStores(options.stores, observer);
  if (!stores.services) {
    // Loud, once, where a host reads its start-up output; `--no-warnings` or a `warning`
    // listener can take it over (Node's way for a library to warn).
    process.emitWarning(`latchkey: ${NO_SERVICE_STORE}`, {
      type: "LatchkeyWarning",
      code: "LATCHKEY_NO_SERVICE_STORE",
    });
  }
  const clock = options.clock ?? systemClock;
  checkRenewalPolicy(options.sessions);
  const log = new SecurityLog({ store: stores.events, clock, observer });
  const passkeys = new Passkeys({
    store: stores.factors,
    challenges: stores.challenges,
    users: stores.users,
    clock,
    log,
    relyingParty: relyingPartyFrom(options),
    random,
    limitPerAddress: (ip, ceremony) =>
      limitPerAddress(stores.counters, clock, {
        name: `passkey-${ceremony}`,
        ip,
        max: PASSKEY_CHALLENGES_PER_ADDRESS[ceremony],
        windowSeconds: options.throttle.window,
      }),
  });
  const factors = new SecondFactors({
    passkeys,
    store: stores.factors,
    keys: factorKeysOf(options.factors?.keys),
    clock,
    log,
    issuer: options.factors?.issuer ?? "latchkey",
    random,
  });
  const recentSignIn = new RecentSignIn({
    clock,
    window: checkReauthWindow(options.reauthWindow),
    hasSecondFactor: (userId) => factors.hasAny(userId),
  });
  const roles = new RoleModel(options.access);
  const hasher = observedHasher(
    options.hasher ?? limitConcurrency(argon2Hasher(), { maxQueue: options.hashQueue }),
    observer,
  );
  const { tokens } = options;
  // An ended session's access tokens can live at most this long: remember it that long.
  const tokenLifetimeMs = (tokens.accessTokenTtl + tokens.clockTolerance) * 1000;
  const eventRetentionMs = Math.round(checkEventRetention(options.eventRetentionDays, stores.events) * DAY_MS);
  const changes = new ChangeFollower({ feed: stores.changes, clock, retainMs: tokenLifetimeMs });
  // What this process publishes, its follower reads at once (not at its next poll): its own
  // listeners (a service's event stream on this instance) hear of it within milliseconds.
  const feed = stores.changes;
  const publishing: ChangeFeed = {
    ...feed,
    publish: async (kind, subject, at) => {
      await feed.publish(kind, subject, at);
      void changes.poll();
    },
  };
  const sessions = new SessionManager({
    log,
    store: stores.sessions,
    changes: publishing,
    clock,
    policy: options.sessions,
    random,
    onEnded: (sessionId, at) => changes.noteSessionEnded(sessionId, at),
    isEnded: (sessionId) => changes.isSessionEnded(sessionId),
    forgetPending: (userId) => stores.challenges.deleteByUser(userId),
    rolesChangedAt: (userId) => changes.rolesChangedAt(userId),
    findUser: (userId) => stores.users.findById(userId),
    counters: stores.counters,
    observer,
  });
  const throttle = new LoginThrottle({ counters: stores.counters, clock, policy: options.throttle });
  const devices = await DeviceCookies.load(stores.secrets, random);
  const issuer = tokens.issuer;
  const origin = typeof issuer === "string" ? () => issuer : issuer;
  checkMailOptions(options.mail);
  const throttleKey = await stores.secrets.getOrCreate("mail-throttle-key", randomToken(32, random));
  const email = new AccountEmail({
    throttleKey,
    users: stores.users,
    links: stores.links,
    counters: stores.counters,
    sessions,
    log,
    clock,
    passwords: {
      confirm: (userId, password, caller) => accounts.confirmPassword(userId, password, caller),
      hash: (user, password, ip) => accounts.hashNewPassword(user, password, ip),
    },
    unlockLogin: (user) => stores.counters.reset(`login:account:${user.username}`),
    origin,
    mail: options.mail,
    policy: { ...DEFAULT_EMAIL_POLICY, ...options.email },
    windowSeconds: options.throttle.window,
    random,
  });
  const accounts: Accounts = new Accounts({
    email,
    users: stores.users,
    sessions,
    throttle,
    counters: stores.counters,
    devices,
    log,
    hasher,
    clock,
    limits: { ...DEFAULT_ACCOUNT_LIMITS, windowSeconds: options.throttle.window, ...options.limits },
  });
  const [csrf, keys] = await Promise.all([
    CsrfTokens.load(stores.secrets, random),
    KeyRing.open({
      store: stores.keys,
      changes: publishing,
      clock,
      alg: tokens.alg,
      secret: tokens.secret,
      verifyWindowMs: tokenLifetimeMs,
      createKeys: options.createKeys,
    }),
    accounts.warmUp(),
  ]);
  const accessTokens = new AccessTokens({
    keys,
    clock,
    issuer: origin,
    ttl: tokens.accessTokenTtl,
    clockTolerance: tokens.clockTolerance,
    revocation: tokens.revocation,
    isSessionEnded: (sessionId) => changes.isSessionEnded(sessionId),
    isServiceRevoked: (serviceId) => changes.isServiceRevoked(serviceId),
    rolesChangedAt: (userId) => changes.rolesChangedAt(userId),
    mustConfirm: (issuedAt) => changes.mustConfirm(issuedAt),
    observer,
    isTokenLive: async (claims) => {
      const live = await sessions.peekLive(claims.sessionId);
      return live !== null && live.user.rolesAt <= claims.rolesAt;
    },
  });
  const refreshTokens = new RefreshTokens({
    store: stores.refreshTokens,
    sessions,
    log,
    clock,
    reuseLeeway: tokens.refreshReuseLeeway,
    random,
    observer,
  });
  changes.onChange((change) => {
    if (change.kind === "keys_changed") void keys.reload().catch(() => {});
  });
  // A feed that lost its history may have lost a key rotation too.
  changes.onReset(() => void keys.reload().catch(() => {}));
  await changes.start();
  // The sweeps `startMaintenance` started, until stopped with no sweep left in progress:
  // `close` stops them and waits for that last sweep (an adapter stops its sweep without
  // waiting, before `auth.close()`, and the stores close after).
  const sweeps = new Set<Maintenance>();
  const admin = new Administration({
    stores,
    sessions,
    accounts,
    log,
    roles,
    clock,
    changes: publishing,
    onRolesChanged: (userId, at) => changes.noteRolesChanged(userId, at),
  });
  return {
    stores,
    clock,
    hasher,
    roles,
    admin,
    recentSignIn,
    factors,
    passkeys,
    secondStep: new SecondStep({
      challenges: stores.challenges,
      users: stores.users,
      factors,
      throttle,
      log,
      clock,
      random,
      deviceOf: (cookie, userId) => devices.verify(cookie, userId),
    }),
    accounts,
    email,
    sessions,
    throttle,
    log,
    csrf,
    changes,
    keys,
    accessTokens,
    refreshTokens,
    services: new ServiceAccounts({
      store: stores.services,
      changes: publishing,
      clock,
      random,
      counters: stores.counters,
    }),
    revocations: new RevocationFeed({
      feed: stores.changes,
      clock,
      tokenLifetimeMs,
      follower: changes,
      ...(options.streams && { streams: options.streams }),
    }),
    tokenLifetimeMs,
    eventRetentionMs,
    startMaintenance: (maintenanceOptions) => {
      const started = startMaintenance(
        { sessions, clock, stores, keys, tokenLifetimeMs, eventRetentionMs },
        maintenanceOptions,
      );
      sweeps.add(started);
      return {
        runOnce: started.runOnce,
        stop: async () => {
          await started.stop();
          sweeps.delete(started);
        },
      };
    },
    readiness: () => readinessOf(stores, changes),
    stop: () => changes.stop(),
    close: async () => {
      await Promise.all([...sweeps].map((sweep) => sweep.stop()));
      sweeps.clear();
      await Promise.all([changes.close(), email.close()]);
    },
  };
}

/**
 * Where passkeys are valid, from the issuer (read when asked: a server's port may be
 * known only once it listens), checked at start when the issuer is known then.
 */
function relyingPartyFrom(options: AuthOptions): () => RelyingParty | null {
  const config = options.passkeys;
  if (config === false) return () => null;
  const issuer = options.tokens.issuer;
  const name = options.factors?.issuer ?? "latchkey";
  const of = (origin: string) => relyingPartyOf(origin, name, { rpId: config?.rpId, origins: config?.origins });
  if (typeof issuer === "string") {
    const party = of(issuer);
    return () => party;
  }
  let last: { origin: string; party: RelyingParty | null } | null = null;
  return () => {
    const origin = issuer();
    if (last?.origin !== origin) {
      let party: RelyingParty | null;
      try {
        party = of(origin);
      } catch (error) {
        // An rpId this origin is not under: no passkeys, said once, never a 500 per request.
        process.emitWarning(`latchkey: passkeys are off: ${(error as Error).message}`, {
          type: "LatchkeyWarning",
          code: "LATCHKEY_PASSKEY_RP_ID",
        });
        party = null;
      }
      last = { origin, party };
    }
    return last.party;
  };
}

/** `factors.keys` as `FactorKeys`, or `null` when none is given; a wrong key fails at start, saying which. */
function factorKeysOf(keys: string | readonly (string | Uint8Array)[] | undefined): FactorKeys | null {
  if (keys === undefined) return null;
  const list = typeof keys === "string" ? [keys] : keys;
  const parsed = list.flatMap((key) => (typeof key === "string" ? parseFactorKeys(key) : [key]));
  return parsed.length === 0 ? null : new FactorKeys(parsed);
}

/** `mail`, checked at start: a transport that is not a function fails here, not at the first reset. */
function checkMailOptions(mail: MailOptions | undefined): void {
  if (mail === undefined) return;
  if (typeof mail !== "object" || mail === null) {
    throw new TypeError("latchkey: option mail must be { transport, from }");
  }
  if (typeof mail.transport !== "function") {
    throw new TypeError("latchkey: option mail.transport must be a function (message) => Promise<void>");
  }
  // A line break in From would write headers of its own into every message (header injection).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (typeof mail.from !== "string" || !mail.from.includes("@") || /[\u0000-\u001f\u007f]/.test(mail.from)) {
    throw new TypeError('latchkey: option mail.from must be an address such as "Acme <no-reply@acme.example>"');
  }
}

/**
 * The security log's default retention, in days (`eventRetentionDays`).
 * @example
 * const kept: number = DEFAULT_EVENT_RETENTION_DAYS; // 365, unless createAuth is given eventRetentionDays
 */
export const DEFAULT_EVENT_RETENTION_DAYS = 365;

const DAY_MS = 86_400_000;

/** The shortest retention: a minute, in days. */
const MIN_EVENT_RETENTION_DAYS = 1 / 1440;

/**
 * `eventRetentionDays`, in the server's `EVENT_RETENTION` range (a minute to 36500 days;
 * any fraction of a day, where the server takes whole minutes); an explicit one needs a
 * store that can sweep its log.
 */
function checkEventRetention(days: number | undefined, events: Stores["events"]): number {
  if (days === undefined) {
    if (typeof events.sweepOlderThan === "function") return DEFAULT_EVENT_RETENTION_DAYS;
    // A store of the host's own that cannot delete old events: its log is kept for ever.
    process.emitWarning(
      "latchkey: stores.events has no sweepOlderThan(before, limit): the security log is kept for ever (see EventStore in latchkey's types)",
      { code: "LATCHKEY_NO_EVENT_SWEEP" },
    );
    return Number.POSITIVE_INFINITY;
  }
  if (typeof days !== "number" || !(days >= MIN_EVENT_RETENTION_DAYS && days <= 36_500)) {
    throw new TypeError("latchkey: option eventRetentionDays must be a number of days from 1/1440 (a minute) to 36500");
  }
  if (typeof events.sweepOlderThan !== "function") {
    throw new TypeError(
      "latchkey: option eventRetentionDays needs an event store that can delete old events: stores.events has no sweepOlderThan(before, limit) (see EventStore in latchkey's types)",
    );
  }
  return days;
}

/** `sessions.rotateInterval`, `rotateGrace`, `endReasonTtl` and `maxPerUser`, checked as the server checks its settings. */
function checkRenewalPolicy(policy: SessionPolicy): void {
  const interval = policy.rotateInterval ?? DEFAULT_SESSION_POLICY.rotateInterval ?? 900;
  const grace = policy.rotateGrace ?? DEFAULT_SESSION_POLICY.rotateGrace ?? 30;
  if (!Number.isInteger(interval) || interval < 0) {
    throw new TypeError(
      "latchkey: option sessions.rotateInterval must be a whole number of seconds, 0 or more (0: never)",
    );
  }
  if (!Number.isInteger(grace) || grace < 1) {
    throw new TypeError("latchkey: option sessions.rotateGrace must be a whole number of seconds, 1 or more");
  }
  if (interval !== 0 && grace >= interval) {
    throw new TypeError("latchkey: option sessions.rotateGrace must be less than sessions.rotateInterval");
  }
  const endReasonTtl = policy.endReasonTtl ?? DEFAULT_SESSION_POLICY.endReasonTtl;
  if (!Number.isInteger(endReasonTtl) || (endReasonTtl as number) < 60 || (endReasonTtl as number) > 2_592_000) {
    throw new TypeError("latchkey: option sessions.endReasonTtl must be a whole number of seconds, 60 to 2592000");
  }
  const cap = policy.maxPerUser ?? DEFAULT_SESSION_POLICY.maxPerUser ?? 100;
  if (!Number.isInteger(cap) || cap < 1) {
    throw new TypeError("latchkey: option sessions.maxPerUser must be a whole number of sessions, 1 or more");
  }
}
