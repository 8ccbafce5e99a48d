/**
 * CORS for latchkey's own routes, and for nothing else of the host's app:
 *
 * - an origin of `corsOrigins` gets CORS without credentials: its scripts call with bearer
 *   tokens, and the browser sends them no cookie (contract section 6);
 * - an origin of `trustedOrigins` (same-site, checked at start) gets credentialed CORS:
 *   its origin echoed, never `*`, `Access-Control-Allow-Credentials: true`, and the CSRF
 *   headers allowed, so its pages make cookie requests, each unsafe one still bound by the
 *   CSRF token.
 *
 * Every answer that depends on the origin says `Vary: Origin`, so no cache hands one
 * origin's answer to another.
 */
import type { Answer } from "./answer.js";

/** The origins CORS serves. */
export interface CorsOrigins {
  /** Bearer calls only: no credentials. */
  readonly bearer: ReadonlySet<string>;
  /** Cookie calls too: credentialed. */
  readonly trusted: ReadonlySet<string>;
}

const BEARER_PREFLIGHT: readonly [string, string][] = [
  ["access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE"],
  ["access-control-allow-headers", "authorization, content-type"],
  ["access-control-max-age", "600"],
];
const TRUSTED_PREFLIGHT: readonly [string, string][] = [
  ["access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE"],
  ["access-control-allow-headers", "authorization, content-type, x-csrf-token, x-requested-with"],
  ["access-control-allow-credentials", "true"],
  ["access-control-max-age", "600"],
];
const EXPOSED = "retry-after, www-authenticate, latchkey-session-ended";

/** The request facts CORS reads. */
export interface CorsRequest {
  method: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Whether any origin is served: when none is, no request pays for the lookups. */
export function servesCors(origins: CorsOrigins): boolean {
  return origins.bearer.size > 0 || origins.trusted.size > 0;
}

/** The `Origin` of a request and how it is served, or `undefined` for any other origin. */
function served(request: CorsRequest, origins: CorsOrigins): { origin: string; trusted: boolean } | undefined {
  const origin = request.headers.origin;
  if (typeof origin !== "string") return undefined;
  if (origins.trusted.has(origin)) return { origin, trusted: true };
  return origins.bearer.has(origin) ? { origin, trusted: false } : undefined;
}

/**
 * The answer to a CORS preflight (`OPTIONS`) from a served origin, or `null` for any other
 * request (the caller has checked that the path is one of latchkey's).
 *
 * @example
 * preflightAnswer(request, { bearer: new Set(), trusted: new Set(["http://localhost:5173"]) });
 */
export function preflightAnswer(request: CorsRequest, origins: CorsOrigins): Answer | null {
  if (request.method !== "OPTIONS") return null;
  const found = served(request, origins);
  if (found === undefined) return null;
  return {
    status: 204,
    headers: [
      ["access-control-allow-origin", found.origin],
      ...(found.trusted ? TRUSTED_PREFLIGHT : BEARER_PREFLIGHT),
      ["vary", "Origin"],
    ],
    body: null,
  };
}

/**
 * Adds the CORS headers to an answer of latchkey's for a request from a served origin.
 *
 * @example
 * return withCors(request, origins, answer);
 */
export function withCors(request: CorsRequest, origins: CorsOrigins, answer: Answer): Answer {
  const found = servesCors(origins) ? served(request, origins) : undefined;
  if (found !== undefined) {
    answer.headers.push(["access-control-allow-origin", found.origin]);
    if (found.trusted) answer.headers.push(["access-control-allow-credentials", "true"]);
    answer.headers.push(["access-control-expose-headers", EXPOSED], ["vary", "Origin"]);
  }
  return answer;
}
