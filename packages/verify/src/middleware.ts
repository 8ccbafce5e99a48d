/**
 * The verifier's middleware for fetch handlers, Express, Hono and Fastify: each reads the
 * `Authorization: Bearer` header, verifies it, and answers a refusal in the contract's
 * format (`401 invalid_token` with `WWW-Authenticate`, or `503 service_unavailable`). No
 * framework is imported, not even its types: each takes the few parts it uses.
 */
import { VerifyError } from "./errors.js";
import type { VerifiedToken, Verifier } from "./verifier.js";

declare global {
  // Express's own way to extend its `Request` (as @types/passport does): a global
  // namespace it merges into, so `req.token` is typed where Express is, and the
  // declaration needs no Express types where it is not.
  namespace Express {
    interface Request {
      /** The token `verifyExpress` verified (`@latchkey/verify`). */
      token?: VerifiedToken;
    }
  }
}

/** The token of an `Authorization: Bearer` header, or `null`. */
function bearerOf(header: string | string[] | null | undefined): string | null {
  const match = typeof header === "string" ? /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header) : null;
  return match ? (match[1] as string) : null;
}

/**
 * What a client is told: the contract's generic words. Which check refused the token is
 * the service's to log (`VerifyError.reason`), not the client's to learn.
 */
function clientMessage(error: VerifyError): string {
  switch (error.reason) {
    case "missing":
    case "expired":
    case "revoked":
    case "kind":
    case "forbidden":
      return error.message;
    default:
      return error.code === "invalid_token" ? "The token is not valid." : error.message;
  }
}

/** The contract's error answer for a refusal. */
function refusal(error: unknown): { status: number; headers: Record<string, string>; body: string } {
  const known =
    error instanceof VerifyError
      ? error
      : new VerifyError("keys_unavailable", "The token cannot be checked.", { cause: error });
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (known.code === "invalid_token") headers["www-authenticate"] = 'Bearer error="invalid_token"';
  return {
    status: known.statusCode,
    headers,
    body: JSON.stringify({ error: { code: known.code, message: clientMessage(known) } }),
  };
}

/**
 * What a route asks of a live token beyond being live: a user with one of `role`, or
 * whose roles grant every one of `permission` (by the verifier's `roles` option). A
 * token without it is refused `403 forbidden`.
 *
 * @example
 * const adminsOnly: Needs = { role: "admin" };
 * const readers: Needs = { permission: "todos:read-any" };
 */
export interface Needs {
  role?: string | readonly string[];
  permission?: string | readonly string[];
}

type Check = (token: VerifiedToken) => void;

/** `needs`, checked when the middleware is built: an unknown permission is a `TypeError` then. */
function checkOf(verifier: Verifier, needs: Needs | undefined): Check | undefined {
  if (needs === undefined) return undefined;
  const roles = needs.role === undefined ? [] : [needs.role].flat();
  const permissions = needs.permission === undefined ? [] : [needs.permission].flat();
  if (roles.length === 0 && permissions.length === 0) {
    throw new TypeError(
      '@latchkey/verify: the middleware\'s second argument takes { role } or { permission }, such as { role: "admin" }',
    );
  }
  for (const permission of permissions) {
    if (!verifier.knowsPermission(permission)) {
      throw new TypeError(
        `@latchkey/verify: no role grants ${JSON.stringify(permission)}: give createVerifier the roles option (latchkey's access.roles)`,
      );
    }
  }
  return (token) => {
    if (token.kind !== "user") throw new VerifyError("forbidden", "A service's token has no roles.");
    if (roles.length > 0 && !roles.some((role) => token.roles.includes(role))) {
      throw new VerifyError("forbidden", `This needs the role ${roles.join(" or ")}.`);
    }
    for (const permission of permissions) {
      if (!verifier.can(token, permission))
        throw new VerifyError("forbidden", `This needs the permission ${permission}.`);
    }
  };
}

async function verifyHeader(
  verifier: Verifier,
  header: string | string[] | null | undefined,
  check?: Check,
): Promise<VerifiedToken> {
  const token = bearerOf(header);
  if (!token) throw new VerifyError("missing");
  const verified = await verifier.verify(token);
  check?.(verified);
  return verified;
}

/**
 * For `fetch`-style handlers: runs `handler` for a request with a live token, and answers
 * the contract's error otherwise.
 *
 * @example
 * const GET = (request: Request) =>
 *   protect(verifier, request, (who) => Response.json({ user: who.kind === "user" ? who.userId : null }));
 */
export async function protect(
  verifier: Verifier,
  request: Request,
  handler: (token: VerifiedToken) => Response | Promise<Response>,
  needs?: Needs,
): Promise<Response> {
  let token: VerifiedToken;
  try {
    token = await verifyHeader(verifier, request.headers.get("authorization"), checkOf(verifier, needs));
  } catch (error) {
    const { status, headers, body } = refusal(error);
    return new Response(body, { status, headers });
  }
  return handler(token);
}

/** The request and response an Express (or `node:http`) middleware is given. */
interface NodeRequest {
  headers: Record<string, string | string[] | undefined>;
  token?: VerifiedToken;
}
interface NodeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * Express middleware: `req.token` for a live token (declared on Express's `Request` by
 * this package), the contract's error otherwise.
 *
 * @example
 * import express from "express";
 *
 * const reports = express();
 * reports.get("/reports", verifyExpress(verifier), (req, res) => {
 *   res.json({ kind: req.token?.kind });
 * });
 * reports.get("/admin/reports", verifyExpress(verifier, { role: "admin" }), (req, res) => res.json({ ok: true }));
 */
export function verifyExpress(verifier: Verifier, needs?: Needs) {
  const check = checkOf(verifier, needs);
  return (req: NodeRequest, res: NodeResponse, next: (error?: unknown) => void): void => {
    verifyHeader(verifier, req.headers.authorization, check).then(
      (token) => {
        req.token = token;
        next();
      },
      (error: unknown) => {
        const { status, headers, body } = refusal(error);
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(body);
      },
    );
  };
}

/** The parts of a Hono context the middleware uses. */
interface HonoContextLike {
  req: { header(name: string): string | undefined };
  set(key: "token", value: VerifiedToken): void;
}

/**
 * Hono middleware: `c.var.token` for a live token, the contract's error otherwise.
 *
 * @example
 * import { Hono } from "hono";
 *
 * const reports = new Hono<{ Variables: { token: VerifiedToken } }>();
 * reports.get("/reports", verifyHono(verifier), (c) => c.json({ kind: c.get("token").kind }));
 */
export function verifyHono(verifier: Verifier, needs?: Needs) {
  const check = checkOf(verifier, needs);
  return async (c: HonoContextLike, next: () => Promise<void>): Promise<Response | undefined> => {
    let token: VerifiedToken;
    try {
      token = await verifyHeader(verifier, c.req.header("authorization"), check);
    } catch (error) {
      const { status, headers, body } = refusal(error);
      return new Response(body, { status, headers });
    }
    c.set("token", token);
    await next();
    return undefined;
  };
}

/** The parts of a Fastify request and reply the hook uses. */
interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  token?: VerifiedToken;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: string): unknown;
}

/**
 * A Fastify `preHandler`: `request.token` for a live token, the contract's error otherwise.
 * Declare it once: `app.decorateRequest("token", null)`.
 *
 * @example
 * app.get("/reports", { preHandler: verifyFastify(verifier) }, async (request) => ({ ok: true }));
 */
export function verifyFastify(verifier: Verifier, needs?: Needs) {
  const check = checkOf(verifier, needs);
  return async (request: FastifyRequestLike, reply: FastifyReplyLike): Promise<void> => {
    try {
      request.token = await verifyHeader(verifier, request.headers.authorization, check);
    } catch (error) {
      const { status, headers, body } = refusal(error);
      await reply.code(status).headers(headers).send(body);
    }
  };
}
