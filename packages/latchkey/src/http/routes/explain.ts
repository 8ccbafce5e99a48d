/**
 * Routes that let the web app explain what latchkey is doing: the policy in force, the
 * cookies a login sets here (with which of them the request carried), and the caller's
 * access token decoded (the token itself stays in its HttpOnly cookie).
 */
import { Type } from "@sinclair/typebox";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { AuthError } from "../../core/errors.js";
import type { LatchkeyContext } from "../context.js";
import { presentedCredential } from "../credentials.js";
import { errorResponses, SECURITY } from "../schemas.js";
import { type RouteSpec, route, who } from "./spec.js";

/** The cookies' roles, as `CookieNames` keys them. */
const COOKIE_ROLES = ["session", "access", "refresh", "csrf", "device", "memoryRefresh", "pending", "passkey"] as const;

/** What `GET /auth/info` tells a client about the deployment. */
export interface PolicyInfo {
  strategy: "session" | "jwt" | "hybrid";
  revocation: "immediate" | "expiry";
  accessTokenTtl: number;
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  refreshReuseLeeway: number;
}

/**
 * The routes the web app's "how it works" page reads.
 *
 * @example
 * const routes = explainRoutes(context, policy);
 */
export function explainRoutes(context: LatchkeyContext, policy: Omit<PolicyInfo, "strategy">): RouteSpec[] {
  const info: PolicyInfo = { strategy: context.strategy, ...policy };
  const { enabled, requireVerified, verifyTtl, resetTtl } = context.auth.email;
  const reauthWindow = context.auth.recentSignIn.window;
  const email = { enabled, required: enabled && requireVerified, verifyLinkTtl: verifyTtl, resetLinkTtl: resetTtl };
  return [
    route({
      method: "GET",
      path: "/auth/info",
      group: "explain",
      schema: {
        tags: ["explain"],
        summary: "The strategy and timeouts in force (public: nothing here is secret)",
        operationId: "getPolicy",
        description:
          "The strategy and timeouts in force, for clients that explain them (nothing here is secret): how long a sign-in counts as recent (`reauthWindow`), and what the email routes do here: whether mail is set up, whether sign-up needs an address and logins a verified one, and how long each link works.",
        security: SECURITY.none,
        response: {
          200: Type.Object({
            strategy: Type.Union([Type.Literal("session"), Type.Literal("jwt"), Type.Literal("hybrid")]),
            revocation: Type.Union([Type.Literal("immediate"), Type.Literal("expiry")]),
            accessTokenTtl: Type.Integer(),
            sessionIdleTimeout: Type.Integer(),
            sessionAbsoluteTimeout: Type.Integer(),
            rememberIdleTimeout: Type.Integer(),
            rememberAbsoluteTimeout: Type.Integer(),
            refreshReuseLeeway: Type.Integer(),
            reauthWindow: Type.Integer({
              description:
                "Seconds after a sign-in (or `POST /auth/reauthenticate`) during which admin changes and other sensitive actions are allowed (`REAUTH_WINDOW`).",
            }),
            email: Type.Object(
              {
                enabled: Type.Boolean({ description: "Mail is set up: the email routes are on." }),
                required: Type.Boolean({
                  description: "Sign-up needs an address, and logins a verified one (`REQUIRE_VERIFIED_EMAIL`).",
                }),
                verifyLinkTtl: Type.Integer({ description: "Seconds a verification link works." }),
                resetLinkTtl: Type.Integer({ description: "Seconds a password-reset link works." }),
              },
              { additionalProperties: false },
            ),
          }),
          // Node answers it before any route runs; documented so clients know the shape.
          ...errorResponses(431),
        },
      },
      handler: async () => ({ ...info, reauthWindow, email }),
    }),

    route({
      method: "GET",
      path: "/auth/cookies",
      group: "explain",
      schema: {
        tags: ["explain"],
        summary: "The cookies a login sets here, their attributes, and which this request carried (names only)",
        operationId: "explainCookies",
        description:
          "The cookies latchkey sets under this deployment, with the attributes the code that sets them gives them, and for each whether this request carried it: names only, never a value. Public, like `GET /auth/info`: a browser sees every name and attribute in the `Set-Cookie` headers of its own login, and a signed-out browser may ask which cookies it still holds (the device cookie outlives a sign-out).",
        security: SECURITY.none,
        response: {
          200: Type.Object({
            strategy: Type.Union([Type.Literal("session"), Type.Literal("jwt"), Type.Literal("hybrid")]),
            cookies: Type.Array(
              Type.Object({
                role: Type.Union(
                  COOKIE_ROLES.map((role) => Type.Literal(role)),
                  { description: "What the cookie is for." },
                ),
                name: Type.String(),
                httpOnly: Type.Boolean(),
                secure: Type.Boolean(),
                sameSite: Type.Union([Type.Literal("lax"), Type.Literal("strict"), Type.Literal("none")]),
                paths: Type.Array(Type.String(), { description: "`/`, or the routes of the in-memory mode's cookie." }),
                mode: Type.Union(
                  [
                    Type.Literal("cookie"),
                    Type.Literal("memory"),
                    Type.Literal("second-factor"),
                    Type.Literal("passkey"),
                  ],
                  {
                    description:
                      "The client mode whose login sets it; `second-factor`: set, in either mode, only by a password sign-in that waits for its second step; `passkey`: set, in either mode, by `POST /auth/passkey/options`, for the passkey ceremony it starts.",
                  },
                ),
                carried: Type.Boolean({ description: "Whether this request carried a cookie of this name." }),
              }),
            ),
          }),
          ...errorResponses(431),
        },
      },
      handler: async (request) => ({
        strategy: context.strategy,
        cookies: context.cookieCatalog().map((cookie) => ({ ...cookie, carried: !!request.cookies[cookie.name] })),
      }),
    }),

    route({
      method: "GET",
      path: "/auth/access-token",
      group: "explain",
      auth: true,
      schema: {
        tags: ["explain"],
        summary: "The access token of this request, decoded: header, claims, seconds left, its public parts",
        operationId: "explainAccessToken",
        description:
          "The access token of this request (bearer or cookie), decoded: header, claims, and seconds left; and its header and payload as encoded, with only the length of its signature (with the signature, they would be the token). `not_found` under the session strategy, which uses none.",
        security: SECURITY.caller,
        response: {
          200: Type.Object({
            header: Type.Record(Type.String(), Type.Unknown()),
            claims: Type.Record(Type.String(), Type.Unknown()),
            expiresIn: Type.Integer(),
            encoded: Type.Object(
              {
                header: Type.String({ description: "The first part of the token, base64url, as sent." }),
                payload: Type.String({ description: "The second part, the claims, base64url, as sent." }),
                signatureLength: Type.Integer({
                  description:
                    "How many characters the third part has: withheld, since with it these parts are the token.",
                }),
              },
              { description: "The token's public parts as they travel; its signature only as a length." },
            ),
          }),
          ...errorResponses(401, 404),
        },
      },
      handler: async (request) => {
        const caller = who(request);
        const bearer = presentedCredential(request);
        const token =
          bearer.type === "bearer"
            ? bearer.token
            : caller.via === "cookie"
              ? request.cookies[context.cookies.access]
              : undefined;
        if (!token) {
          throw new AuthError("not_found", "This request carries no access token (the session strategy uses none).");
        }
        const claims = decodeJwt(token);
        const expiresIn = Math.max(0, Math.round(((claims.exp ?? 0) * 1000 - context.auth.clock.now()) / 1000));
        return { header: decodeProtectedHeader(token), claims, expiresIn, encoded: publicParts(token) };
      },
    }),
  ];
}

/**
 * A JWT's header and payload as they travel, and only the length of its signature: the
 * three together are the token, and whoever holds them can use it.
 */
function publicParts(token: string): { header: string; payload: string; signatureLength: number } {
  const [header = "", payload = "", signature = ""] = token.split(".");
  return { header, payload, signatureLength: signature.length };
}
