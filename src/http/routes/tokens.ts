/**
 * Bearer tokens for API clients and other services (contract sections 4 and 7):
 * `/auth/token`, `/auth/refresh`, `/auth/revoke` (RFC 7009) and the JWKS.
 */
import type {} from "@fastify/swagger";
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { AuthError } from "../../core/errors.js";
import { InvalidGrantError } from "../../core/refresh-tokens.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import { Credentials, errorResponses, ref, SECURITY, TokenResponse } from "../schemas.js";
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
    route<{ username: string; password: string }>({
      method: "POST",
      path: "/auth/token",
      group: "tokens",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Log in an API client: an access token and a refresh token",
        operationId: "createToken",
        description:
          "OAuth-style password login for API clients: an access token (a JWT, verifiable with the JWKS) and a refresh token, in the body; no cookies.",
        security: SECURITY.none,
        body: Credentials,
        response: { 200: tokenRef, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request) => {
        const client = clientInfo(request);
        const user = await auth.accounts.authenticate(request.body.username, request.body.password, client);
        const { session } = await auth.sessions.signIn({ userId: user.id, kind: "bearer", remember: false, ...client });
        const access = await auth.accessTokens.issueFor(session);
        return {
          access_token: access.token,
          token_type: "Bearer" as const,
          expires_in: access.expiresIn,
          refresh_token: await auth.refreshTokens.issue(session),
        };
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
          "Exchanges a refresh token for a new access token and refresh token. Body form (`refresh_token`) for API clients; with no body, the refresh cookie (with the CSRF header) under the `jwt` strategy. A refresh token works once: reusing one ends its session.",
        security: SECURITY.refresh,
        body: RefreshBody,
        response: { 200: tokenRef, ...errorResponses(400, 401, 403, 413, 415) },
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
          const access = await auth.accessTokens.issueFor(rotated.session);
          return {
            access_token: access.token,
            token_type: "Bearer" as const,
            expires_in: access.expiresIn,
            refresh_token: rotated.refreshToken,
          };
        }
        const cookie = request.cookies[context.cookies.refresh];
        if (!cookie) throw new InvalidGrantError("No refresh token was presented.");
        try {
          // The refresh cookie is a cookie credential: it needs its session's CSRF token,
          // checked before anything changes (a cross-site request must not even set off
          // the reuse detection, which ends the session). A forged token has no session.
          const sessionId = await auth.refreshTokens.sessionOf(cookie);
          if (!sessionId) throw new InvalidGrantError("The refresh token is invalid.");
          context.checkCsrf(request, sessionId);
          const rotated = await auth.refreshTokens.rotate(cookie, client);
          const seconds = await context.setRefreshedCookies(reply, rotated.session, rotated.refreshToken);
          return { token_type: "Bearer" as const, expires_in: seconds };
        } catch (error) {
          // A racing duplicate must not clear the cookies the winner has just set.
          if (error instanceof InvalidGrantError && !error.racing) context.clearCookies(reply);
          throw error;
        }
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
