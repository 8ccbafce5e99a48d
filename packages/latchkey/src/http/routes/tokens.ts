/**
 * Bearer tokens for API clients and other services (contract sections 4 and 7):
 * `/auth/token`, `/auth/refresh`, `/auth/revoke` (RFC 7009) and the JWKS; and what a
 * resource service asks (the `services` group): `/auth/introspect` (RFC 7662) and the
 * revocation feed, `/auth/revocations`.
 */
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { AuthError } from "../../core/errors.js";
import type { ClientInfo } from "../../core/ports.js";
import type { ServiceRecord, UserRecord } from "../../core/records.js";
import { InvalidGrantError } from "../../core/refresh-tokens.js";
import type { RevocationEvent } from "../../core/revocations.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import { basicCredentials, presentedCredential } from "../credentials.js";
import { FORM_TYPE } from "../form.js";
import { type AuthRequest, EventStream } from "../kit.js";
import { Credentials, errorResponses, ref, SECURITY, SessionView, TokenResponse, UserView } from "../schemas.js";
import { sessionView, signedInUserView } from "../views.js";
import { type RouteSpec, route } from "./spec.js";

const TAGS = ["tokens"];
const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 8192 }) },
  {
    additionalProperties: false,
    examples: [{ refresh_token: "Xq3uK8tR2mVwYp5sLc9dEa.9f8e7d6c5b4a39281706f5e4d3c2b1a0" }],
  },
);
const RevokeBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 8192 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  },
  {
    additionalProperties: false,
    examples: [{ token: "Xq3uK8tR2mVwYp5sLc9dEa.9f8e7d6c5b4a39281706f5e4d3c2b1a0", token_type_hint: "refresh_token" }],
  },
);
const JWKS_CACHE = "public, max-age=60";

const ClientCredentialsBody = Type.Object(
  {
    grant_type: Type.Literal("client_credentials"),
    scope: Type.Optional(
      Type.String({ maxLength: 1024, description: "Accepted and ignored: latchkey has no scopes." }),
    ),
  },
  { additionalProperties: false, examples: [{ grant_type: "client_credentials" }] },
);
const IntrospectBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 8192 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false, examples: [{ token: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIuLi4ifQ.c2ln" }] },
);
const IntrospectResponse = Type.Object(
  {
    active: Type.Boolean(),
    kind: Type.Optional(Type.Union([Type.Literal("user"), Type.Literal("service")])),
    sub: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String({ description: "The user's session." })),
    roles: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "The user's roles, as the token carries them (a token whose roles have changed since is inactive).",
      }),
    ),
    client_id: Type.Optional(Type.String({ description: "The service, for a service's token." })),
    auth_time: Type.Optional(
      Type.Integer({ description: "When the person signed in (or re-authenticated), as the token says: seconds." }),
    ),
    amr: Type.Optional(
      Type.Array(Type.String(), { description: "How (RFC 8176): `pwd`, with `mfa` and `otp` after a second factor." }),
    ),
    token_type: Type.Optional(Type.Literal("Bearer")),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    iat: Type.Optional(Type.Integer()),
    exp: Type.Optional(Type.Integer()),
  },
  {
    examples: [
      {
        active: true,
        kind: "user",
        sub: "0195a0b2-7c1e-7000-8000-4a1f2b3c4d5e",
        sid: "Xq3uK8tR2mVwYp5sLc9dEa",
        roles: ["user"],
        auth_time: 1772366100,
        amr: ["mfa", "otp", "pwd"],
        token_type: "Bearer",
        exp: 1772366700,
      },
      { active: false },
    ],
  },
);

const RevocationsQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ maxLength: 512, description: "The `cursor` of the read before." })),
    limit: Type.Optional(Type.String({ pattern: "^(1000|[1-9][0-9]{0,2})$", description: "1 to 1000; default 1000." })),
  },
  { additionalProperties: false },
);
const Seconds = Type.Integer({ description: "Seconds since the epoch, as JWT `exp`." });
const RevocationsResponse = Type.Object(
  {
    entries: Type.Array(
      Type.Union([
        Type.Object({ type: Type.Literal("session_ended"), sid: Type.String(), at: Seconds, until: Seconds }),
        Type.Object({ type: Type.Literal("service_revoked"), client_id: Type.String(), at: Seconds, until: Seconds }),
        Type.Object({
          type: Type.Literal("roles_changed"),
          sub: Type.String({ description: "The user whose roles changed." }),
          roles_at: Type.Integer({
            description:
              "When they changed, ms since the epoch: refuse this user's access tokens whose `roles_at` claim is older.",
          }),
          at: Seconds,
          until: Seconds,
        }),
        Type.Object({ type: Type.Literal("keys_changed"), at: Seconds }),
      ]),
    ),
    cursor: Type.String(),
    reset: Type.Boolean(),
    more: Type.Boolean(),
  },
  {
    examples: [
      {
        entries: [{ type: "session_ended", sid: "Xq3uK8tR2mVwYp5sLc9dEa", at: 1772366700, until: 1772367005 }],
        cursor: "WyI3ZjJjIiw0Ml0",
        reset: false,
        more: false,
      },
    ],
  },
);

/** `/auth/refresh`'s answer: the token response, with the user in the in-memory mode's. */
const RefreshResponse = Type.Object(
  {
    ...TokenResponse.properties,
    user: Type.Optional(
      Type.Object(
        { ...UserView.properties, roles: Type.Array(Type.String()) },
        { description: "The signed-in user, with their roles (the in-memory mode: a reloaded page learns who it is)." },
      ),
    ),
    // The in-memory mode's: a page learns when another page of the browser signed in as someone else.
    session: Type.Optional(ref(SessionView)),
  },
  { description: "The new tokens: in the body (the body form, the in-memory mode), or as cookies." },
);

/** The body-form check of `/auth/refresh`, whose body is optional. */
const isRefreshBody = TypeCompiler.Compile(RefreshBody);

/**
 * The bearer-token routes and the JWKS.
 *
 * @example
 * const routes = tokenRoutes(context);
 */
export function tokenRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  const tokenRef = ref(TokenResponse);
  return [
    route<{ username: string; password: string } | { grant_type: "client_credentials" }>({
      method: "POST",
      path: "/auth/token",
      group: "tokens",
      cors: true,
      forms: true,
      schema: {
        tags: TAGS,
        summary: "Log in an API client (a user's password), or a service (its client credentials)",
        operationId: "createToken",
        description:
          "Two grants. A user's API client sends `{username, password}` as JSON and gets an access token (a JWT, verifiable with the JWKS) and a refresh token, in the body; no cookies. When the account has a second factor, `202` with a `pending_token` instead, which `POST /auth/token/second-factor` exchanges, with a code, for the tokens. A service sends `grant_type=client_credentials` (a form, as RFC 6749 4.4 has it, or JSON) with its client id and secret in HTTP Basic, and gets an access token of its own (`kind: service`, `sub` the service, no refresh token), which no user route accepts.",
        security: SECURITY.token,
        body: Type.Union([Credentials, ClientCredentialsBody]),
        response: { 200: tokenRef, 202: PendingToken, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        if ("grant_type" in request.body) {
          const credentials = basicCredentials(request);
          if (!credentials) throw new AuthError("invalid_client", "Send the client credentials with HTTP Basic.");
          const service = await auth.services.authenticate(credentials.clientId, credentials.clientSecret, request.ip);
          const access = await auth.accessTokens.issueForService(service.id);
          return { access_token: access.token, token_type: "Bearer" as const, expires_in: access.expiresIn };
        }
        // A password travels as JSON only (a form is what another site's page can post).
        if (FORM_TYPE.test(String(request.headers["content-type"]))) {
          throw new AuthError("unsupported_media_type", "A password login is JSON; forms are for grant_type.");
        }
        const client = clientInfo(request);
        const user = await auth.accounts.authenticate(request.body.username, request.body.password, client);
        const methods = await auth.secondStep.methods(user.id);
        if (methods.length > 0) {
          // A second factor: no tokens yet, a pending token that only the second step takes.
          const first = { flow: "token", remember: false, memory: false } as const;
          const pending = await auth.secondStep.begin(user, first, methods, client);
          reply.code(202);
          return { pending_token: pending.token, methods: pending.methods, expires_in: pending.expiresIn };
        }
        return openBearerSession(auth, user, ["pwd"], client);
      },
    }),

    route<{ refresh_token: string } | undefined>({
      method: "POST",
      path: "/auth/refresh",
      group: "core",
      // The body is optional (the cookie form sends none), so it is validated here by hand.
      bodyCheckedByHandler: true,
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Exchange a refresh token (body, or the __Host-rt cookie) for new tokens",
        operationId: "refreshToken",
        description:
          "Exchanges a refresh token for a new access token and refresh token. A refresh token works once: reusing one ends its session. Four forms: the body form (`refresh_token`) for API clients; with no body, the in-memory mode's cookie with `X-Requested-With` (answers the new access token and the user in the body, and rotates the cookie); the refresh cookie with the CSRF header under `jwt`; the session cookie with the CSRF header under `hybrid` (a new access cookie, before the old one expires). A cookie form is refused from any origin but this one and `trustedOrigins`.",
        security: SECURITY.refresh,
        body: RefreshBody,
        response: { 200: RefreshResponse, ...errorResponses(400, 401, 403, 413, 415) },
      },
      handler: async (request, reply) => {
        const client = clientInfo(request);
        const body: unknown = request.body;
        const isEmpty = body === undefined || body === null || (isPlainObject(body) && Object.keys(body).length === 0);
        if (!isEmpty) {
          // Unknown fields are dropped, as the schema checks of every other route do.
          const form = Value.Clean(RefreshBody, body);
          if (!isRefreshBody.Check(form)) {
            throw new AuthError(
              "invalid_request",
              'Send {"refresh_token": "..."}, or no body with the refresh cookie.',
            );
          }
          const rotated = await auth.refreshTokens.rotate(form.refresh_token, client);
          const access = await auth.accessTokens.issueFor(rotated.session, rotated.user);
          return {
            access_token: access.token,
            token_type: "Bearer" as const,
            expires_in: access.expiresIn,
            refresh_token: rotated.refreshToken,
          };
        }
        // The in-memory mode's cookie (sent only here and to logout), unless the request
        // says it is a cookie strategy's (its CSRF header) in a browser that holds both.
        const memory = request.headers["x-csrf-token"] === undefined ? context.memoryRefreshCookie(request) : undefined;
        if (memory !== undefined) {
          try {
            const rotated = await auth.refreshTokens.rotate(memory, client);
            const access = await auth.accessTokens.issueFor(rotated.session, rotated.user);
            context.setMemoryRefreshCookie(reply, rotated.session, rotated.refreshToken);
            const { user, session } = rotated;
            return {
              access_token: access.token,
              token_type: "Bearer" as const,
              expires_in: access.expiresIn,
              user: signedInUserView(user),
              session: sessionView(session, session.id),
            };
          } catch (error) {
            // A racing duplicate must not clear the cookie the winner has just set; and the
            // strategy's cookies, of another session, are not this refresh's to clear.
            if (error instanceof InvalidGrantError && !error.racing) context.clearMemoryCookie(reply);
            throw error;
          }
        }
        context.checkCookieOrigin(request);
        if (context.strategy === "hybrid" && request.cookies[context.cookies.session]) {
          // Hybrid's access cookie renews from the session: a client refreshes it before it
          // expires, once for all its tabs, rather than each tab's next request renewing it.
          return { token_type: "Bearer" as const, expires_in: await context.refreshAccessCookie(request, reply) };
        }
        const cookie = request.cookies[context.cookies.refresh];
        if (!cookie) throw new InvalidGrantError("No refresh token was presented.");
        try {
          // The refresh cookie is a cookie credential: it needs its session's CSRF token,
          // checked before anything changes (a cross-site request must not even set off
          // the reuse detection, which ends the session). A forged token has no session.
          const sessionId = await auth.refreshTokens.sessionOf(cookie);
          if (!sessionId) {
            // Its session ended (its refresh tokens with it): the access cookie still
            // names the session, and so says why.
            throw new InvalidGrantError(
              "The refresh token is invalid.",
              false,
              await context.endReasonOfCookies(request),
            );
          }
          context.checkCsrf(request, sessionId);
          const rotated = await auth.refreshTokens.rotate(cookie, client);
          const seconds = await context.setRefreshedCookies(reply, rotated, rotated.refreshToken);
          return { token_type: "Bearer" as const, expires_in: seconds };
        } catch (error) {
          // A racing duplicate must not clear the cookies the winner has just set.
          if (error instanceof InvalidGrantError && !error.racing) context.clearCookies(reply);
          throw error;
        }
      },
    }),

    route<unknown, { since?: string; limit?: string }>({
      method: "GET",
      path: "/auth/revocations",
      group: "services",
      streams: true,
      schema: {
        tags: TAGS,
        summary:
          "What a service must know to refuse tokens before exp: ended sessions, revoked services, key rotations",
        operationId: "readRevocations",
        description:
          "For a service that verifies access tokens itself (with the JWKS). With `Accept: text/event-stream`, a stream of Server-Sent Events (`revocation` and `reset`, each with its cursor as `id`; a quiet stream sends `heartbeat` every 2 s with `age_ms`, how long ago this instance last read the whole feed; `stale` when it has not within 5 s and `resume` when the subscriber fell too far behind, each followed by the end of the stream: reconnect from the last `id`), resumed from `Last-Event-ID`; at most `STREAMS_PER_SERVICE` per service and `STREAMS_PER_INSTANCE` in all on one instance (429 past them); otherwise a JSON read. Every session that ended, however it ended (logout, logout-all, a revoked device, a password change, a disabled or deleted account, a reused refresh token), every revoked service and every key rotation, one token lifetime back, in order. `until` is when an entry stops mattering (the last token it concerns has expired). Pass the answer's `cursor` back as `since`; `reset: true` means the feed lost its history in between (distrust tokens issued before now for one token lifetime). Service credentials (HTTP Basic, or the service's own bearer token) only.",
        security: SECURITY.serviceAny,
        querystring: RevocationsQuery,
        response: { 200: RevocationsResponse, ...errorResponses(400, 401, 429) },
      },
      handler: async (request) => {
        const service = await authenticateService(auth, request);
        const accept = request.headers.accept;
        if (typeof accept === "string" && accept.includes("text/event-stream")) {
          // Server-Sent Events: a reconnecting EventSource sends the last id it saw.
          const lastEventId = request.headers["last-event-id"];
          const since = typeof lastEventId === "string" && lastEventId !== "" ? lastEventId : request.query.since;
          if (since !== undefined) await auth.revocations.read(since, 1); // a bad cursor is a 400 now, not mid-stream
          return revocationStream(auth, since, service.id);
        }
        const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
        return auth.revocations.read(request.query.since, limit);
      },
    }),

    route<{ token: string; token_type_hint?: string }>({
      method: "POST",
      path: "/auth/introspect",
      group: "services",
      forms: true,
      schema: {
        tags: TAGS,
        summary: "RFC 7662: whether an access token is active, for a service that would rather ask",
        operationId: "introspectToken",
        description:
          "A service (its client credentials in HTTP Basic, or its own token) asks about an access token: `active` is true only for a token of this server, unexpired, whose session is live in the store at this moment (a user's) or whose service is not revoked (a service's): a token of an ended session is inactive before its `exp`. Refresh tokens and anything else are `{active: false}`. A user's token cannot introspect. An active answer carries the token's own claims and nothing more of the account (no username): every service is told the same.",
        security: SECURITY.serviceAny,
        body: IntrospectBody,
        response: { 200: IntrospectResponse, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request) => {
        await authenticateService(auth, request);
        return introspect(auth, request.body.token);
      },
    }),

    route<{ token: string; token_type_hint?: string }>({
      method: "POST",
      path: "/auth/revoke",
      group: "tokens",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "RFC 7009: end the session behind a refresh or access token (200 for unknown tokens too)",
        operationId: "revokeToken",
        description:
          "RFC 7009 revocation: ends the session behind a refresh or access token. Answers 200 for unknown tokens too, so it reveals nothing.",
        security: SECURITY.none,
        body: RevokeBody,
        response: { 200: Type.Object({}), ...errorResponses(400, 403, 413, 415) },
      },
      handler: async (request) => {
        const { token } = request.body;
        let sessionId = await auth.refreshTokens.sessionOf(token);
        if (!sessionId) {
          const check = await auth.accessTokens.verify(token);
          if (check.ok) sessionId = check.claims.sessionId;
        }
        if (sessionId) await auth.sessions.endRecorded(sessionId, "session_revoked", clientInfo(request));
        return {};
      },
    }),

    route({
      method: "GET",
      path: "/.well-known/jwks.json",
      group: "core",
      schema: {
        tags: TAGS,
        summary: "The public keys that verify access tokens (empty under HS256)",
        operationId: "getJwks",
        description:
          "The public keys (RFC 7517) that verify access tokens, retired keys included until their last token expires. Empty under HS256.",
        security: SECURITY.none,
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object(
                {
                  kty: Type.String(),
                  kid: Type.String(),
                  alg: Type.String(),
                  use: Type.Literal("sig"),
                  crv: Type.Optional(Type.String()),
                  x: Type.Optional(Type.String()),
                  y: Type.Optional(Type.String()),
                },
                // An allow-list: whatever else a JWK object holds is never sent.
                { additionalProperties: false },
              ),
            ),
          }),
          // Node answers it before any route runs; documented so clients know the shape.
          ...errorResponses(431),
        },
      },
      handler: async (_request, reply) => {
        reply.header("cache-control", JWKS_CACHE);
        return auth.keys.jwks();
      },
    }),
  ];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * RFC 7662's answer for a token, from the store, not only from what this process heard.
 * An active token's answer says what the token itself says (who, which session, when),
 * which the asking service holds already, and nothing else of the account: RFC 7662
 * leaves the choice to the server, and a service that verifies locally learns the same.
 */
async function introspect(auth: LatchkeyContext["auth"], token: string): Promise<Record<string, unknown>> {
  const inactive = { active: false };
  const origin = { iss: auth.accessTokens.issuer, aud: auth.accessTokens.issuer };
  const user = await auth.accessTokens.verify(token);
  if (user.ok) {
    // Whether the session is live, never recording use: a service's question is not the
    // user's, and must not keep an idle session alive.
    const live = await auth.sessions.peekLive(user.claims.sessionId);
    // Roles changed since the token was issued (the store knows, even before the feed
    // reaches this instance): it speaks for roles the user no longer has.
    if (!live || live.user.rolesAt > user.claims.rolesAt) return inactive;
    return {
      active: true,
      kind: "user",
      sub: user.claims.userId,
      sid: user.claims.sessionId,
      roles: user.claims.roles,
      ...(user.claims.authTime > 0 && { auth_time: Math.floor(user.claims.authTime / 1000) }),
      amr: user.claims.amr,
      token_type: "Bearer",
      ...origin,
      iat: Math.floor(user.claims.issuedAt / 1000),
      exp: Math.floor(user.claims.expiresAt / 1000),
    };
  }
  const service = await auth.accessTokens.verifyService(token);
  if (service.ok) {
    const found = await auth.services.findById(service.claims.serviceId);
    if (!found || found.revokedAt !== null) return inactive;
    return {
      active: true,
      kind: "service",
      sub: found.id,
      client_id: found.id,
      token_type: "Bearer",
      ...origin,
      iat: Math.floor(service.claims.issuedAt / 1000),
      exp: Math.floor(service.claims.expiresAt / 1000),
    };
  }
  return inactive;
}

/**
 * The service a request is from: its client credentials (HTTP Basic), or its own bearer
 * token (the client-credentials grant), whose service must still be live in the store. A
 * user's token is not a service's: `invalid_client`.
 */
async function authenticateService(auth: LatchkeyContext["auth"], request: AuthRequest): Promise<ServiceRecord> {
  const credentials = basicCredentials(request);
  if (credentials) return auth.services.authenticate(credentials.clientId, credentials.clientSecret, request.ip);
  const bearer = presentedCredential(request);
  if (bearer.type === "bearer") {
    const check = await auth.accessTokens.verifyService(bearer.token);
    const found = check.ok ? await auth.services.findById(check.claims.serviceId) : null;
    if (found && found.revokedAt === null) return found;
  }
  throw new AuthError("invalid_client", "This needs a service's credentials (HTTP Basic, or its own token).");
}

/**
 * The feed as Server-Sent Events, each with the cursor to resume from as its id. The
 * stream holds one of the instance's places for the service (429 past the limits) until
 * it ends, however it ends.
 */
function revocationStream(auth: LatchkeyContext["auth"], since: string | undefined, serviceId: string): EventStream {
  const release = auth.revocations.reserveStream(serviceId);
  const controller = new AbortController();
  const events = auth.revocations.events(since, controller.signal, serviceId);
  async function* chunks(): AsyncGenerator<string> {
    try {
      // Reconnect after a second, should the stream break.
      yield "retry: 1000\n\n";
      for await (const event of events) yield sseOf(event);
    } finally {
      release();
    }
  }
  return new EventStream(chunks(), () => {
    release();
    controller.abort();
    void events.return(undefined);
  });
}

/** One event of the feed on the wire (docs/services.md: "The event stream"). */
function sseOf(event: RevocationEvent): string {
  switch (event.type) {
    case "entry":
      return `id: ${event.cursor}\nevent: revocation\ndata: ${JSON.stringify(event.entry)}\n\n`;
    case "reset":
      return `id: ${event.cursor}\nevent: reset\ndata: {}\n\n`;
    case "heartbeat":
      return `event: heartbeat\ndata: {"age_ms":${Math.round(event.ageMs)}}\n\n`;
    case "stale":
      return `event: stale\ndata: {"age_ms":${Math.round(event.ageMs)}}\n\n`;
    case "resume":
      return `id: ${event.cursor}\nevent: resume\ndata: {}\n\n`;
  }
}

/**
 * A password login of an account with a second factor at `POST /auth/token`: no tokens
 * yet, a pending token that `POST /auth/token/second-factor` takes with a code.
 */
export const PendingToken = Type.Object(
  {
    pending_token: Type.String({
      description: "Single use, for `POST /auth/token/second-factor` only; keep it as secret as a password.",
    }),
    methods: Type.Array(Type.Union([Type.Literal("totp"), Type.Literal("passkey"), Type.Literal("recovery_code")]), {
      description:
        "What the second step takes: `code` (totp), `passkey` (with a `challenge_token` from `POST /auth/token/passkey/options`) or `recovery_code`.",
    }),
    expires_in: Type.Integer({ description: "Seconds the pending token waits for its second step." }),
  },
  { title: "PendingToken" },
);

/**
 * An API client's sign-in, once every step passed: a bearer session with `amr`, its
 * access token and its refresh token, as `POST /auth/token` answers them.
 * @example
 * return openBearerSession(auth, user, ["pwd"], clientInfo(request));
 */
export async function openBearerSession(
  auth: LatchkeyContext["auth"],
  user: UserRecord,
  amr: string[],
  client: ClientInfo,
) {
  const { session } = await auth.sessions.signIn({ userId: user.id, kind: "bearer", remember: false, amr, ...client });
  const access = await auth.accessTokens.issueFor(session, user);
  return {
    access_token: access.token,
    token_type: "Bearer" as const,
    expires_in: access.expiresIn,
    refresh_token: await auth.refreshTokens.issue(session),
  };
}
