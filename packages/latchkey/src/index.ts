/**
 * `latchkey`: the core. `createAuth` and its policies, the errors, the ports a store
 * implements, and the records they hold. It loads no framework and no database driver:
 * those come with the entry points that need them (`latchkey/fastify`, `latchkey/express`,
 * `latchkey/hono`, `latchkey/fetch`; `latchkey/sqlite`, `latchkey/postgres`,
 * `latchkey/redis`, `latchkey/memory`).
 *
 * @example
 * import Fastify from "fastify";
 * import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
 * import { latchkey } from "latchkey/fastify";
 * import { openSqliteStores } from "latchkey/sqlite";
 *
 * const origin = "http://localhost:3000";
 * const stores = await openSqliteStores({ path: "./data/app.db" });
 * const auth = await createAuth({
 *   stores,
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: origin },
 * });
 * const app = Fastify();
 * await app.register(latchkey, { auth, publicOrigin: origin, strategy: "session" });
 * app.get("/api/hello", { preHandler: app.requireAuth }, async (request) => ({ user: request.auth?.userId }));
 */
export {
  type AccessCheck,
  type AccessClaims,
  AccessTokens,
  type ServiceCheck,
  type ServiceClaims,
} from "./core/access-tokens.js";
export {
  ADMIN_PAGE_DEFAULT,
  ADMIN_PAGE_MAX,
  type AdminContext,
  Administration,
  type AuditPage,
  type UserDetail,
  type UserPage,
} from "./core/admin.js";
export {
  type Auth,
  type AuthOptions,
  createAuth,
  DEFAULT_EVENT_RETENTION_DAYS,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
  type TokenPolicy,
} from "./core/auth.js";
export { type Clock, type ManualClock, manualClock, systemClock } from "./core/clock.js";
export { EMAIL_MAX_LENGTH, parseEmail } from "./core/email.js";
export {
  AuthError,
  type ErrorCode,
  LatchkeySetupError,
  OverloadedError,
  RateLimitedError,
  StoreUnavailableError,
} from "./core/errors.js";
export { FactorKeys, parseFactorKeys } from "./core/factor-keys.js";
export {
  type FactorSummary,
  RECOVERY_CODE_COUNT,
  type SecondFactorMethod,
  type SecondFactorProof,
  SecondFactors,
  type TotpEnrolment,
} from "./core/factors.js";
export { KeyRing, type KeySummary } from "./core/key-ring.js";
export type { ThrottlePolicy } from "./core/login-throttle.js";
export {
  DEFAULT_MAIL_TEMPLATES,
  DEFAULT_RETRY_DELAYS_MS,
  escapeHtml,
  type MailContent,
  type MailContext,
  type MailKind,
  type MailLog,
  type MailMessage,
  type MailOptions,
  type MailTemplates,
  type MailTransport,
  maskEmail,
} from "./core/mail.js";
export { type Maintenance, type MaintenanceLog, startMaintenance } from "./core/maintenance.js";
export { type AuthObserver, combineObservers } from "./core/observer.js";
export {
  PASSKEY_AMR,
  PASSKEY_CHALLENGE_TTL,
  type PasskeyChallenge,
  Passkeys,
  type PasskeyView,
  type RelyingParty,
  relyingPartyOf,
} from "./core/passkeys.js";
export { type Argon2Params, argon2Hasher, DEFAULT_ARGON2_PARAMS, type PasswordHasher } from "./core/password-hasher.js";
export { checkPassword, type PasswordProblem } from "./core/password-policy.js";
export type {
  AuditFilter,
  AuditStore,
  ChallengeStore,
  ChangeFeed,
  ClientInfo,
  CounterStore,
  DatabaseHandle,
  EventStore,
  FactorStore,
  KeyStore,
  LinkKeep,
  LinkTokenStore,
  RefreshTokenStore,
  SecretRenewal,
  SecretStore,
  ServiceStore,
  SessionStore,
  Stores,
  UserSearch,
  UserStore,
  ValidSession,
} from "./core/ports.js";
export type { NotReadyReason, Readiness } from "./core/readiness.js";
export type {
  AdminAction,
  AuditRecord,
  ChallengePurpose,
  ChallengeRecord,
  ChangeKind,
  ChangeRecord,
  EventRecord,
  EventType,
  FactorKind,
  FactorRecord,
  LinkPurpose,
  LinkTokenRecord,
  RefreshTokenRecord,
  ServiceRecord,
  SessionKind,
  SessionRecord,
  SigningAlgorithm,
  SigningKeyRecord,
  UserProfile,
  UserRecord,
} from "./core/records.js";
export {
  AccountEmail,
  DEFAULT_EMAIL_POLICY,
  type EmailPolicy,
  type EmailStatus,
} from "./core/recovery.js";
export { InvalidGrantError, RefreshTokens } from "./core/refresh-tokens.js";
export {
  DEFAULT_STREAM_LIMITS,
  type RevocationEntry,
  type RevocationEvent,
  RevocationFeed,
  type RevocationPage,
  type StreamLimits,
} from "./core/revocations.js";
export {
  type AccessOptions,
  BUILT_IN_PERMISSIONS,
  type BuiltInPermission,
  DEFAULT_ROLES,
  MAX_ROLES,
  RoleModel,
} from "./core/roles.js";
export {
  type FirstStep,
  PENDING_SIGN_IN_TTL,
  type PendingSignIn,
  SecondStep,
  type SecondStepDeps,
} from "./core/second-step.js";
export { InvalidClientError, SERVICE_AUTH_FAILURES_PER_ADDRESS, ServiceAccounts } from "./core/services.js";
export type { SessionPolicy } from "./core/session-manager.js";
export { DEFAULT_REAUTH_WINDOW, RecentSignIn } from "./core/step-up.js";
export { normalizeUsername, parseUsername } from "./core/username.js";
export { uuidv7 } from "./core/uuid.js";
export type { RequestAuth, Strategy } from "./http/context.js";
export type { CookieNames } from "./http/cookies.js";
export { type ErrorBody, errorBody, STATUS_BY_CODE } from "./http/errors.js";
export type { LatchkeyOptions } from "./http/guest.js";
export type { CookieOptions } from "./http/kit.js";
export type { RouteGroup, RouteSwitches } from "./http/routes/spec.js";
export { errorResponses } from "./http/schemas.js";
