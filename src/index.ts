/**
 * latchkey's public surface. Everything a library user needs is re-exported here by
 * name; anything not named is internal.
 *
 * @example
 * import Fastify from "fastify";
 * import { createAuth, latchkey, openSqliteStores, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY } from "latchkey";
 *
 * const stores = await openSqliteStores({ path: "./data/app.db" });
 * const auth = await createAuth({ stores, sessions: DEFAULT_SESSION_POLICY, throttle: DEFAULT_THROTTLE_POLICY });
 * const app = Fastify();
 * await app.register(latchkey, { auth, publicOrigin: "http://localhost:3000" });
 * app.get("/api/hello", { preHandler: app.requireAuth }, async (request) => ({ hi: request.auth?.user.username }));
 */
export {
  type Auth,
  type AuthOptions,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
} from "./core/auth.js";
export { type Clock, type ManualClock, manualClock, systemClock } from "./core/clock.js";
export { AuthError, type ErrorCode, RateLimitedError, StoreUnavailableError } from "./core/errors.js";
export type { ThrottlePolicy } from "./core/login-throttle.js";
export { type Argon2Params, argon2Hasher, DEFAULT_ARGON2_PARAMS, type PasswordHasher } from "./core/password-hasher.js";
export { checkPassword, type PasswordProblem } from "./core/password-policy.js";
export type {
  ChangeFeed,
  CounterStore,
  EventStore,
  KeyStore,
  RefreshTokenStore,
  SecretStore,
  SessionStore,
  Stores,
  TodoStore,
  UserStore,
} from "./core/ports.js";
export type {
  ChangeKind,
  ChangeRecord,
  EventRecord,
  EventType,
  RefreshTokenRecord,
  SessionKind,
  SessionRecord,
  SigningAlgorithm,
  SigningKeyRecord,
  TodoRecord,
  UserRecord,
} from "./core/records.js";
export type { ClientInfo, SessionPolicy, ValidSession } from "./core/session-manager.js";
export { normalizeUsername, parseUsername } from "./core/username.js";
export { uuidv7 } from "./core/uuid.js";
export type { RequestAuth, Strategy } from "./http/context.js";
export { errorBody, STATUS_BY_CODE } from "./http/errors.js";
export { type LatchkeyPluginOptions, latchkey } from "./http/plugin.js";
export { errorResponses } from "./http/schemas.js";
export { createMemoryStores } from "./stores/memory/index.js";
export { migrateSqlite, openSqliteStores, type SqliteOptions } from "./stores/sqlite/index.js";
