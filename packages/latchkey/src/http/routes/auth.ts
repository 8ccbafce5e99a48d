/**
 * The `/auth/*` routes of the contract (section 4) for browser logins and the account.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { type Static, Type } from "@sinclair/typebox";
import { AuthError } from "../../core/errors.js";
import type { SessionRecord, UserRecord } from "../../core/records.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import { presentedCredential } from "../credentials.js";
import type { AuthRequest, CookieSink } from "../kit.js";
import {
  AccountDeleteBody,
  AssertionJson,
  errorResponses,
  LoginBody,
  ref,
  SECURITY,
  SessionIdParams,
  SessionView,
  UserView,
} from "../schemas.js";
import { isoTime, sessionView, signedInUserView } from "../views.js";
import { signedInCallerOf } from "./account.js";
import { liveCaller, type RouteSpec, route, who } from "./spec.js";

const TAGS = { auth: ["auth"], account: ["account"] };
const NoContent = { 204: Type.Null({ description: "No content" }) };
/**
 * When a cookie session's secret last changed and will next (`GET /auth/me`). Its
 * nullable parts are type lists, not `anyOf`: the serialiser checks an `anyOf` answer
 * against each branch with Ajv, date-time formats included, on every `GET /auth/me` (~10 µs
 * of it, measured); a type list is a `typeof`.
 */
const SecretSchedule = Type.Object(
  {
    renewedAt: Type.String({ format: "date-time", description: "When the secret last changed (at login, the login)." }),
    renewsAfter: Type.Unsafe<string | null>({
      type: ["string", "null"],
      format: "date-time",
      description:
        "From this time, the next request that records the session's use renews its secret (a new cookie); `null` when renewal is off (`SESSION_ROTATE_INTERVAL=0`).",
    }),
    graceSeconds: Type.Integer({
      description: "How long the secret before a renewal keeps working; presented later, it ends the session.",
    }),
  },
  { additionalProperties: false },
);

function secretView(auth: LatchkeyContext["auth"], session: SessionRecord) {
  const { renewedAt, renewsAfter, graceMs } = auth.sessions.secretSchedule(session);
  return {
    renewedAt: isoTime(renewedAt),
    renewsAfter: renewsAfter === null ? null : isoTime(renewsAfter),
    graceSeconds: Math.round(graceMs / 1000),
  };
}

/** The signed-in user of `GET /auth/me`: a `User` with its roles. */
const MeUser = Type.Object(
  { ...UserView.properties, roles: Type.Array(Type.String(), { description: "The user's roles, sorted." }) },
  { description: "The signed-in user, with their roles." },
);

/** A re-authentication: the password, and a code when the account has a second factor. */
const ReauthenticateBody = Type.Union(
  [
    Type.Object(
      {
        ...AccountDeleteBody.properties,
        code: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 64,
            description: "A code from the authenticator app (accounts with one).",
          }),
        ),
        recoveryCode: Type.Optional(
          Type.String({ minLength: 1, maxLength: 64, description: "A recovery code, in place of `code`." }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        passkey: AssertionJson,
        challengeToken: Type.Optional(
          Type.String({
            maxLength: 200,
            description:
              "A bearer caller's `challenge_token` (`POST /auth/token/passkey/options`); a browser's challenge is in its cookie.",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    examples: [{ password: "correct horse battery staple", code: "492039" }],
  },
);
type ReauthenticateInput =
  | { password: string; code?: string; recoveryCode?: string; passkey?: undefined }
  | { passkey: AuthenticationResponseJSON; challengeToken?: string; password?: undefined };

/** What a browser sign-in answers: its cookies' CSRF token, or the in-memory mode's access token. */
export const LoginAnswer = Type.Union([
  Type.Object(
    {
      user: MeUser,
      session: ref(SessionView),
      csrfToken: Type.String(),
      accessExpiresIn: Type.Optional(
        Type.Integer({ description: "Seconds until the access cookie expires (`jwt`, `hybrid`)." }),
      ),
    },
    { title: "CookieLogin" },
  ),
  Type.Object(
    {
      user: MeUser,
      session: ref(SessionView),
      access_token: Type.String(),
      token_type: Type.Literal("Bearer"),
      expires_in: Type.Integer({ description: "Seconds until the access token expires." }),
    },
    { title: "MemoryLogin" },
  ),
]);

/**
 * The browser and account routes.
 *
 * @example
 * const routes = authRoutes(context);
 */
export function authRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  return [
    route<{ username: string; password: string; remember?: boolean; mode?: "cookies" | "memory" }>({
      method: "POST",
      path: "/auth/login",
      group: "core",
      schema: {
        tags: TAGS.auth,
        summary: "Log in: a new session and the cookies of the strategy (or an access token kept in memory)",
        operationId: "login",
        description:
          'Checks the password (throttled per account, or per device for a browser whose device cookie was issued for this account, and per address, before any hashing; only a checked wrong password counts, a login shed with 503 does not) and opens a session; the sessions of any cookies the request came with end (no fixation). By default sets the cookies of the strategy in force and returns the CSRF token that unsafe cookie requests send back, and `accessExpiresIn` under `jwt` and `hybrid`. With `mode: memory` (any strategy) returns the access token in the body instead, to keep in memory and send as `Authorization: Bearer`, and sets only the refresh token, as an HttpOnly cookie that the browser sends to `/auth/refresh` and `/auth/logout` alone (`docs/client.md`). When the account has a second factor, a right password opens no session: `202` with the methods the second step takes, and a five-minute HttpOnly cookie holding the pending sign-in for `POST /auth/login/second-factor` (`docs/accounts.md`, "Second factors").',
        security: SECURITY.none,
        body: LoginBody,
        response: {
          200: LoginAnswer,
          202: SecondFactorNeeded,
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
      handler: async (request, reply) => {
        const client = clientInfo(request);
        const memory = request.body.mode === "memory";
        const remember = request.body.remember ?? false;
        const user = await auth.accounts.authenticate(request.body.username, request.body.password, client, {
          deviceCookie: request.cookies[context.cookies.device],
        });
        const methods = await auth.secondStep.methods(user.id);
        if (methods.length > 0) {
          // A second factor: no session yet, only a pending sign-in that stays with this browser.
          const pending = await auth.secondStep.begin(user, { flow: "browser", remember, memory }, methods, client);
          context.setPendingCookie(reply, pending.token, pending.expiresIn);
          reply.code(202);
          return { secondFactor: { methods: pending.methods, expiresIn: pending.expiresIn } };
        }
        return openBrowserSignIn(context, request, reply, user, { remember, memory, amr: ["pwd"] });
      },
    }),

    route({
      method: "POST",
      path: "/auth/logout",
      group: "core",
      schema: {
        tags: TAGS.auth,
        summary: "End the caller's session (idempotent)",
        operationId: "logout",
        description:
          "Ends the session behind the caller's credential, clears the cookies, and answers 204 whether or not there was one. A cookie credential needs the CSRF header, so another site cannot sign the user out.",
        security: SECURITY.logout,
        response: { ...NoContent, ...errorResponses(403) },
      },
      handler: async (request, reply) => {
        await logOut(context, request, reply);
        return reply.code(204).send();
      },
    }),

    route({
      method: "POST",
      path: "/auth/logout-all",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "End every session of the user, on every instance",
        operationId: "logoutAll",
        description:
          "Ends every session of the user, on every instance at once (access tokens included, under immediate revocation), this one too.",
        security: SECURITY.callerUnsafe,
        response: { ...NoContent, ...errorResponses(401, 403) },
      },
      handler: async (request, reply) => {
        const { userId, sessionId } = await liveCaller(request);
        await auth.sessions.endAllForUser(userId, undefined, "signed_out_everywhere");
        await auth.log.record("logout_all", userId, { sessionId, ...clientInfo(request) });
        context.clearCookies(reply);
        return reply.code(204).send();
      },
    }),

    route({
      method: "POST",
      path: "/auth/logout-others",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "End every other session of the user (this one stays)",
        operationId: "logoutOthers",
        description: "Ends every session of the user but the caller's, and says how many.",
        security: SECURITY.callerUnsafe,
        response: { 200: Type.Object({ ended: Type.Integer() }), ...errorResponses(401, 403) },
      },
      handler: async (request) => {
        const { userId, sessionId } = await liveCaller(request);
        const ended = await auth.sessions.endOthersRecorded(userId, sessionId, clientInfo(request));
        return { ended: ended.length };
      },
    }),

    route<ReauthenticateInput>({
      method: "POST",
      path: "/auth/reauthenticate",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "Confirm the password (or a passkey) again: the session counts as a recent sign-in",
        operationId: "reauthenticate",
        description:
          "For an action that answered `403 reauthentication_required` (admin changes; `docs/accounts.md`, \"Recent sign-in\"): checks the password, throttled like a password change's (per session and device, and per address; a wrong one is `401 invalid_credentials` and counts), and, when the account has a second factor, a `code` from it (or a `recoveryCode`; without one `401 invalid_code`, throttled as at sign-in), and makes the session's sign-in recent again for `reauthWindow` seconds. Or `{passkey}` alone: the answer to a challenge from `POST /auth/passkey/options` (its cookie), or from `POST /auth/token/passkey/options` with its `challengeToken`; it must be one of the user's passkeys (`401 invalid_passkey`, logged as `reauthentication_failed`). Under `jwt` and `hybrid` a cookie caller gets a new access cookie, whose `auth_time` is now; a bearer caller gets a new access token in the body (its old one still says the old `auth_time`). A `reauthenticated` event is logged.",
        security: SECURITY.callerUnsafe,
        body: ReauthenticateBody,
        response: {
          200: Type.Object(
            {
              authTime: Type.String({
                format: "date-time",
                description: "When the session's sign-in was confirmed: now.",
              }),
              amr: Type.Array(Type.String(), {
                description:
                  "How (RFC 8176 method names): `pwd`, with `mfa` and `otp` after a code, or `hwk` and `mfa` for a passkey.",
              }),
              reauthWindow: Type.Integer({
                description: "Seconds from `authTime` during which the session counts as recent.",
              }),
              accessExpiresIn: Type.Optional(
                Type.Integer({ description: "Seconds until the new access cookie expires (`jwt`, `hybrid`)." }),
              ),
              access_token: Type.Optional(Type.String({ description: "A bearer caller's new access token." })),
              token_type: Type.Optional(Type.Literal("Bearer")),
              expires_in: Type.Optional(Type.Integer({ description: "Seconds until `access_token` expires." })),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
      handler: async (request, reply) => {
        const caller = who(request);
        const { session } = await caller.load();
        const body = request.body;
        let amr: string[];
        if (body.passkey !== undefined) {
          // A passkey alone: checked with user verification, it is two factors by itself.
          // A bearer caller's challenge_token, else this browser's cookie (a page in the
          // in-memory mode sends its bearer token and the cookie both).
          const cookie = request.cookies[context.cookies.passkey];
          if (cookie !== undefined) context.clearPasskeyCookie(reply);
          try {
            const context = { sessionId: session.id, ...clientInfo(request) };
            amr = (await auth.passkeys.verify(body.challengeToken ?? cookie, body.passkey, session.userId, context))
              .amr;
          } catch (error) {
            // Someone at a session left open, trying a passkey: the owner sees it in their log.
            if (error instanceof AuthError && error.code === "invalid_passkey") {
              await auth.log.record("reauthentication_failed", session.userId, {
                sessionId: session.id,
                ...clientInfo(request),
              });
            }
            throw error;
          }
        } else {
          amr = await passwordReauthentication(context, request, session, body);
        }
        const valid = await auth.sessions.reauthenticate(session.id, amr);
        // Ended while the password was checked: refused as its credential now would be.
        if (!valid) {
          const sessionEnded = await auth.sessions.endReason(session.id);
          throw caller.via === "bearer"
            ? new AuthError("invalid_token", "The access token is invalid or has expired.", { sessionEnded })
            : new AuthError("unauthenticated", "Sign in to continue.", { sessionEnded });
        }
        await auth.log.record("reauthenticated", valid.user.id, { sessionId: session.id, ...clientInfo(request) });
        const answer = {
          authTime: isoTime(valid.session.authTime),
          amr: valid.session.amr,
          reauthWindow: auth.recentSignIn.window,
        };
        if (caller.via === "bearer") {
          const access = await auth.accessTokens.issueFor(valid.session, valid.user);
          return { ...answer, access_token: access.token, token_type: "Bearer" as const, expires_in: access.expiresIn };
        }
        if (context.strategy === "session") return answer;
        return { ...answer, accessExpiresIn: await context.renewAccessCookie(reply, valid) };
      },
    }),

    route({
      method: "GET",
      path: "/auth/me",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "The caller's user and session",
        operationId: "getMe",
        description:
          "The signed-in user with their roles, the current session, and the permissions the roles grant; `csrfToken` for cookie callers. Under `hybrid`, an expired access cookie is renewed from the session here.",
        security: SECURITY.caller,
        response: {
          200: Type.Object({
            user: MeUser,
            session: ref(SessionView),
            csrfToken: Type.Optional(Type.String()),
            accessExpiresIn: Type.Optional(
              Type.Integer({
                description:
                  "Seconds until the access cookie this request carried (or renewed) expires (`jwt`, `hybrid`): when a browser app refreshes.",
              }),
            ),
            permissions: Type.Array(Type.String(), {
              description: "Every permission the user's roles grant, sorted (`docs/roles.md`).",
            }),
            secret: Type.Unsafe<Static<typeof SecretSchedule> | null>({
              ...SecretSchedule,
              type: ["object", "null"],
              description:
                'A cookie session\'s secret (`session` and `hybrid`): when it last changed and from when its next use renews it (`docs/security.md`, "Session secrets that renew"); `null` for a `jwt` or bearer session, which sends no session secret.',
            }),
          }),
          ...errorResponses(401),
        },
      },
      handler: async (request) => {
        const caller = who(request);
        const { user, session } = await caller.load();
        // One object shape whether or not there is a CSRF token (the serializer leaves out an
        // undefined property): a spread of a conditional object made V8 rebuild the shape.
        return {
          user: signedInUserView(user),
          session: sessionView(session, session.id),
          csrfToken: caller.csrfToken ?? undefined,
          accessExpiresIn:
            caller.via === "cookie" && caller.accessExpiresAt !== null
              ? Math.max(0, Math.floor((caller.accessExpiresAt - auth.clock.now()) / 1000))
              : undefined,
          permissions: auth.roles.permissionsOf(user.roles),
          secret: session.kind === "session" || session.kind === "hybrid" ? secretView(auth, session) : null,
        };
      },
    }),

    route({
      method: "GET",
      path: "/auth/csrf",
      group: "core",
      schema: {
        tags: TAGS.auth,
        summary: "The CSRF token of the browser's cookie session, for a page that cannot read its cookie",
        operationId: "getCsrfToken",
        description:
          "Answers the readable CSRF cookie's value, for a page of a trusted origin (which cannot read latchkey's cookies) or a client that lost the token with a reload: under `jwt`, once the access cookie has expired, the refresh that renews it needs this token, and `GET /auth/me` cannot give it. It authenticates nothing and proves nothing: an unsafe request still needs the token to match its session, and only this origin and trusted ones can read the answer (credentialed CORS). 401 without the cookie.",
        security: SECURITY.none,
        response: {
          200: Type.Object({ csrfToken: Type.String() }, { additionalProperties: false }),
          ...errorResponses(401),
        },
      },
      handler: async (request) => {
        const csrfToken = request.cookies[context.cookies.csrf];
        if (!csrfToken) throw new AuthError("unauthenticated", "No CSRF cookie: sign in first.");
        return { csrfToken };
      },
    }),

    route<unknown, { limit?: string; cursor?: string }>({
      method: "GET",
      path: "/auth/sessions",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "The user's live sessions, newest first, a page at a time",
        operationId: "listSessions",
        description:
          "The user's live sessions (devices), newest first, `limit` at a time; follow `nextCursor` for the next page.",
        security: SECURITY.caller,
        querystring: SessionPageQuery,
        response: {
          200: Type.Object({
            sessions: Type.Array(ref(SessionView)),
            nextCursor: Type.Optional(
              Type.String({ description: "Pass as `cursor` for the next page; absent on the last." }),
            ),
          }),
          ...errorResponses(400, 401),
        },
      },
      handler: async (request) => {
        const { userId, sessionId } = await liveCaller(request);
        const limit = request.query.limit === undefined ? SESSION_PAGE_MAX : Number(request.query.limit);
        const after = request.query.cursor === undefined ? null : parseSessionCursor(request.query.cursor);
        const sessions = await auth.sessions.listLive(userId);
        const start = after ? pageStart(sessions, after) : 0;
        const page = start < 0 ? [] : sessions.slice(start, start + limit);
        const last = page.at(-1);
        const more = last !== undefined && start + limit < sessions.length;
        return {
          sessions: page.map((s) => sessionView(s, sessionId)),
          nextCursor: more ? sessionCursor(last) : undefined,
        };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "DELETE",
      path: "/auth/sessions/:id",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS.auth,
        summary: "End one of the user's sessions",
        operationId: "revokeSession",
        description:
          "Ends one of the user's sessions (sign a device out). Another user's session is `not_found`, never ended.",
        security: SECURITY.callerUnsafe,
        params: SessionIdParams,
        response: { ...NoContent, ...errorResponses(401, 403, 404) },
      },
      handler: async (request, reply) => {
        const { userId, sessionId } = await liveCaller(request);
        const ended = await auth.sessions.endOwnRecorded(userId, request.params.id, clientInfo(request));
        if (!ended) throw new AuthError("not_found", "No such session.");
        if (ended.id === sessionId) context.clearCookies(reply);
        return reply.code(204).send();
      },
    }),
  ];
}

/**
 * Logout: ends the session behind each credential the request proves, and clears the
 * cookies whose session ended (or that prove nothing). A browser may hold credentials of
 * two kinds for one latchkey: the strategy's cookies (proved by the session's CSRF token)
 * and the in-memory mode's refresh cookie (proved by `X-Requested-With`), and a bearer
 * token proves itself. Each proved one ends; one left unproved beside a proved one is
 * left alone, cookies included (a page of the other kind signing out must not end, nor
 * strand, the other's session). A live cookie credential with nothing proved is another
 * site's or a form's request: `csrf_failed`, and nothing changes. No valid credential at
 * all is not an error (logout is idempotent). The refresh cookie of `jwt` counts, so a
 * browser whose access cookie has expired can still log out.
 */
async function logOut(context: LatchkeyContext, request: AuthRequest, reply: CookieSink): Promise<void> {
  const { auth } = context;
  const bearer = presentedCredential(request);
  const check = bearer.type === "bearer" ? await auth.accessTokens.verify(bearer.token) : null;
  const ids = await context.sessionsOfCookies(request);
  const strategyProved = ids.length > 0 && ids.every((id) => context.csrfMatches(request, id));
  const memory = context.memoryRefreshPresented(request);
  const memorySession = memory.value ? await auth.refreshTokens.sessionOf(memory.value) : null;
  const proved = check?.ok === true || strategyProved || (memory.proved && memorySession !== null);
  if (!proved && (ids.length > 0 || memorySession !== null)) {
    // The message of the cookie the request carries; the strategy's first, as before.
    if (ids.length > 0) context.checkCsrf(request, ids[0] as string);
    context.memoryRefreshCookie(request);
  }
  const ending = new Set<string>();
  if (check?.ok) ending.add(check.claims.sessionId);
  if (strategyProved) for (const id of ids) ending.add(id);
  if (memory.proved && memorySession !== null) ending.add(memorySession);
  const client = clientInfo(request);
  for (const id of ending) await auth.sessions.endRecorded(id, "logout", client);
  if (ids.length === 0 || strategyProved) context.clearStrategyCookies(reply);
  if (memorySession === null || memory.proved) context.clearMemoryCookie(reply);
}

/** Sessions per page at most (and by default). */
const SESSION_PAGE_MAX = 100;
const SessionPageQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^(100|[1-9][0-9]?)$", description: "1 to 100; default 100." })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: "`nextCursor` of the page before." })),
  },
  { additionalProperties: false },
);

/** A page's cursor: where the last session of the page stands in the order. */
function sessionCursor(session: SessionRecord): string {
  return Buffer.from(`${session.createdAt}:${session.id}`).toString("base64url");
}

function parseSessionCursor(cursor: string): { createdAt: number; id: string } {
  const [at, ...id] = Buffer.from(cursor, "base64url").toString().split(":");
  const createdAt = Number(at);
  if (!Number.isSafeInteger(createdAt) || id.length === 0)
    throw new AuthError("invalid_request", "The cursor is not valid.");
  return { createdAt, id: id.join(":") };
}

/**
 * Where the page after `cursor` starts in a newest-first list: after the cursor's session,
 * or, when that session has ended since, at the first one created before it.
 */
function pageStart(sessions: SessionRecord[], cursor: { createdAt: number; id: string }): number {
  const at = sessions.findIndex((s) => s.id === cursor.id);
  return at >= 0 ? at + 1 : sessions.findIndex((s) => s.createdAt < cursor.createdAt);
}

/**
 * The answer of a password sign-in that needs its second step (`202`): which methods the
 * second step takes, and how long it waits. The pending sign-in itself is in a cookie.
 */
export const SecondFactorNeeded = Type.Object(
  {
    secondFactor: Type.Object({
      methods: Type.Array(Type.Union([Type.Literal("totp"), Type.Literal("passkey"), Type.Literal("recovery_code")]), {
        description:
          "What `POST /auth/login/second-factor` takes: `code` (totp), `passkey` (with a challenge from `POST /auth/passkey/options`) or `recoveryCode`.",
      }),
      expiresIn: Type.Integer({ description: "Seconds the pending sign-in waits for its second step." }),
    }),
  },
  {
    title: "SecondFactorNeeded",
    description:
      "The password was right and the account has a second factor: no session yet. A cookie holds the pending sign-in; send a code to `POST /auth/login/second-factor` (`docs/accounts.md`).",
  },
);

/**
 * Opens a browser's session after a sign-in (the password's, or its second step's): the
 * sessions of whatever credential cookies came with it end (no fixation), then the
 * strategy's cookies, or the in-memory mode's access token and refresh cookie.
 * @example
 * return openBrowserSignIn(context, request, reply, user, { remember: false, memory: false, amr: ["pwd"] });
 */
export async function openBrowserSignIn(
  context: LatchkeyContext,
  request: AuthRequest,
  reply: CookieSink,
  user: UserRecord,
  how: { remember: boolean; memory: boolean; amr: string[] },
) {
  const { auth } = context;
  // No fixation: whatever credential cookies came with the login request are never
  // adopted, and the sessions behind them end, so their values are worthless after.
  for (const id of await context.sessionsOfCookies(request)) await auth.sessions.end(id);
  const { session, token } = await auth.sessions.signIn({
    userId: user.id,
    kind: how.memory ? "memory" : context.strategy,
    remember: how.remember,
    amr: how.amr,
    ...clientInfo(request),
  });
  context.setDeviceCookie(reply, session, auth.accounts.deviceCookieFor(user));
  if (how.memory) {
    const access = await auth.accessTokens.issueFor(session, user);
    context.setMemoryRefreshCookie(reply, session, await auth.refreshTokens.issue(session));
    return {
      user: signedInUserView(user),
      session: sessionView(session, session.id),
      access_token: access.token,
      token_type: "Bearer" as const,
      expires_in: access.expiresIn,
    };
  }
  const accessExpiresIn = await context.setBrowserCookies(reply, { session, user }, token);
  return {
    user: signedInUserView(user),
    session: sessionView(session, session.id),
    csrfToken: auth.csrf.tokenFor(session.id),
    accessExpiresIn: accessExpiresIn ?? undefined,
  };
}

/**
 * A re-authentication by password, and a code when the account has a second factor: the
 * `amr` it gives. A wrong password is `401 invalid_credentials`, in the owner's log.
 */
async function passwordReauthentication(
  context: LatchkeyContext,
  request: AuthRequest,
  session: SessionRecord,
  body: { password: string; code?: string; recoveryCode?: string },
): Promise<string[]> {
  const { auth } = context;
  try {
    await auth.accounts.confirmPassword(session.userId, body.password, signedInCallerOf(context, request, session.id));
  } catch (error) {
    // Someone at a session left open, guessing: the owner sees it in their log.
    if (error instanceof AuthError && error.code === "invalid_credentials") {
      await auth.log.record("reauthentication_failed", session.userId, {
        sessionId: session.id,
        ...clientInfo(request),
      });
    }
    throw error;
  }
  // With a second factor, the password alone is not a full sign-in: a code comes too.
  if (!(await auth.factors.hasAny(session.userId))) return ["pwd"];
  const { code, recoveryCode } = body;
  if (code === undefined && recoveryCode === undefined) {
    throw new AuthError(
      "invalid_code",
      "This account has a second factor: send a code from it too (or re-authenticate with a passkey).",
    );
  }
  const proof = recoveryCode !== undefined ? { recoveryCode } : { code: code as string };
  const added = await auth.secondStep.check(session.userId, proof, {
    ...clientInfo(request),
    sessionId: session.id,
  });
  return [...added, "pwd"].sort();
}
