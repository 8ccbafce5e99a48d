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

/** A service's credentials from HTTP Basic (RFC 6749 2.3.1), or `null` when there are none. */
export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;

/**
 * The client id and secret of an `Authorization: Basic` header. Each is form-urlencoded
 * before the base64 (RFC 6749 2.3.1), so both are decoded; anything malformed is `null`.
 *
 * @example
 * basicCredentials(request); // { clientId: "svc_...", clientSecret: "..." } | null
 */
export function basicCredentials(request: Pick<AuthRequest, "headers">): BasicCredentials | null {
  const authorization = request.headers.authorization;
  if (typeof authorization !== "string") return null;
  const match = BASIC.exec(authorization);
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    const formDecode = (part: string) => decodeURIComponent(part.replaceAll("+", " "));
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}
