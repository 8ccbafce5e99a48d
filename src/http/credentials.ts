/**
 * Finding the bearer credential of a request. A bearer header, when present, is the
 * credential and the cookies are ignored (contract section 4).
 */
import type { AuthRequest } from "./kit.js";

/** What a request presents. */
export type PresentedCredential = { type: "bearer"; token: string } | { type: "malformed_bearer" } | { type: "none" };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer credential of a request, if it has an `Authorization` header.
 *
 * @example
 * presentedCredential(request); // { type: "bearer", token } | { type: "malformed_bearer" } | { type: "none" }
 */
export function presentedCredential(request: Pick<AuthRequest, "headers">): PresentedCredential {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return { type: "none" };
  if (typeof authorization !== "string") return { type: "malformed_bearer" };
  const match = BEARER.exec(authorization);
  return match ? { type: "bearer", token: match[1] as string } : { type: "malformed_bearer" };
}
