/**
 * Routes that let the web app explain what latchkey is doing: the policy in force, and the
 * caller's access token decoded (the token itself stays in its HttpOnly cookie).
 */
import type {} from "@fastify/swagger";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { AuthError } from "../../core/errors.js";
import type { LatchkeyContext } from "../context.js";
import { presentedCredential } from "../credentials.js";
import { noStore } from "../paths.js";
import { errorResponses } from "../schemas.js";
import { who } from "./auth.js";

/** What `GET /auth/info` tells a client about the deployment. */
export interface PolicyInfo {
  strategy: string;
  revocation: string;
  accessTokenTtl: number;
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  refreshReuseLeeway: number;
}

/**
 * @example
 * await fastify.register(explainRoutes, { context, policy });
 */
export async function explainRoutes(
  fastify: FastifyInstance,
  { context, policy }: { context: LatchkeyContext; policy: Omit<PolicyInfo, "strategy"> },
) {
  fastify.addHook("onRequest", noStore);
  const info: PolicyInfo = { strategy: context.strategy, ...policy };

  fastify.get(
    "/auth/info",
    {
      schema: {
        tags: ["explain"],
        summary: "The strategy and timeouts in force (public: nothing here is secret)",
        response: {
          200: Type.Object({
            strategy: Type.String(),
            revocation: Type.String(),
            accessTokenTtl: Type.Integer(),
            sessionIdleTimeout: Type.Integer(),
            sessionAbsoluteTimeout: Type.Integer(),
            rememberIdleTimeout: Type.Integer(),
            rememberAbsoluteTimeout: Type.Integer(),
            refreshReuseLeeway: Type.Integer(),
          }),
        },
      },
    },
    async () => info,
  );

  fastify.get(
    "/auth/access-token",
    {
      preHandler: fastify.requireAuth,
      schema: {
        tags: ["explain"],
        summary: "The access token of this request, decoded: header, claims, seconds left",
        response: {
          200: Type.Object({
            header: Type.Record(Type.String(), Type.Unknown()),
            claims: Type.Record(Type.String(), Type.Unknown()),
            expiresIn: Type.Integer(),
          }),
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => {
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
  );
}
