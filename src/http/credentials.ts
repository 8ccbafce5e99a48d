/**
 * Finding the credential of a request. A bearer header, when present, is the credential
 * and the cookies are ignored (contract section 4); otherwise the strategy's cookie.
 */
import type { FastifyRequest } from "fastify";

/** What a request presents. */
export type PresentedCredential =
  | { type: "bearer"; token: string }
  | { type: "malformed_bearer" }
  | { type: "cookie"; token: string }
  | { type: "none" };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * @example
 * presentedCredential(request, "__Host-sid"); // { type: "cookie", token } or …
 */
export function presentedCredential(request: FastifyRequest, sessionCookie: string): PresentedCredential {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    return match ? { type: "bearer", token: match[1] as string } : { type: "malformed_bearer" };
  }
  const token = request.cookies[sessionCookie];
  return token ? { type: "cookie", token } : { type: "none" };
}

/** Whether a request carries any latchkey cookie credential. */
export function hasCookieCredential(request: FastifyRequest, names: readonly string[]): boolean {
  return names.some((name) => Boolean(request.cookies[name]));
}
