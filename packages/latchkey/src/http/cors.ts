/**
 * CORS for latchkey's own routes, and for nothing else of the host's app: an origin of
 * `corsOrigins` gets a preflight answer for a path of latchkey's and the CORS headers on
 * latchkey's answers. Without credentials: cookies never travel cross-site (contract
 * section 6); bearer calls do.
 */
import type { Answer } from "./answer.js";

/** The methods and headers a `corsOrigins` origin may use on latchkey's routes. */
const PREFLIGHT_HEADERS: readonly [string, string][] = [
  ["access-control-allow-methods", "GET, POST, PUT, DELETE"],
  ["access-control-allow-headers", "authorization, content-type"],
  ["access-control-max-age", "600"],
];
const EXPOSED = "retry-after, www-authenticate";

/** The request facts CORS reads. */
export interface CorsRequest {
  method: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The `Origin` of a request when it is one of `origins`. */
function allowedOrigin(request: CorsRequest, origins: ReadonlySet<string>): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === "string" && origins.has(origin) ? origin : undefined;
}

/**
 * The answer to a CORS preflight (`OPTIONS`) from one of `origins`, or `null` for any other
 * request (the caller has checked that the path is one of latchkey's).
 */
export function preflightAnswer(request: CorsRequest, origins: ReadonlySet<string>): Answer | null {
  if (request.method !== "OPTIONS") return null;
  const origin = allowedOrigin(request, origins);
  if (origin === undefined) return null;
  return {
    status: 204,
    headers: [["access-control-allow-origin", origin], ...PREFLIGHT_HEADERS, ["vary", "Origin"]],
    body: null,
  };
}

/** Adds the CORS headers to an answer of latchkey's for a request from one of `origins`. */
export function withCors(request: CorsRequest, origins: ReadonlySet<string>, answer: Answer): Answer {
  const origin = origins.size > 0 ? allowedOrigin(request, origins) : undefined;
  if (origin !== undefined) {
    answer.headers.push(
      ["access-control-allow-origin", origin],
      ["access-control-expose-headers", EXPOSED],
      ["vary", "Origin"],
    );
  }
  return answer;
}
