/**
 * Routes that let the web app explain what latchkey is doing: the policy in force, and the
 * caller's access token decoded (the token itself stays in its HttpOnly cookie).
 */
import { Type } from "@sinclair/typebox";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { AuthError } from "../../core/errors.js";
import type { LatchkeyContext } from "../context.js";
import { presentedCredential } from "../credentials.js";
import { errorResponses, SECURITY } from "../schemas.js";
import { type RouteSpec, route, who } from "./spec.js";

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
  return [
    route({
      method: "GET",
      path: "/auth/info",
      group: "explain",
      schema: {
        tags: ["explain"],
        summary: "The strategy and timeouts in force (public: nothing here is secret)",
        operationId: "getPolicy",
        description: "The strategy and timeouts in force, for clients that explain them (nothing here is secret).",
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
          }),
          // Node answers it before any route runs; documented so clients know the shape.
          ...errorResponses(431),
        },
      },
      handler: async () => info,
    }),

    route({
      method: "GET",
      path: "/auth/access-token",
      group: "explain",
      auth: true,
      schema: {
        tags: ["explain"],
        summary: "The access token of this request, decoded: header, claims, seconds left",
        operationId: "explainAccessToken",
        description:
          "The access token of this request (bearer or cookie), decoded: header, claims, and seconds left. `not_found` under the session strategy, which uses none.",
        security: SECURITY.caller,
        response: {
          200: Type.Object({
            header: Type.Record(Type.String(), Type.Unknown()),
            claims: Type.Record(Type.String(), Type.Unknown()),
            expiresIn: Type.Integer(),
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
        return { header: decodeProtectedHeader(token), claims, expiresIn };
      },
    }),
  ];
}
