/**
 * A request as latchkey's HTTP core reads it, whatever framework received it: the facts
 * an adapter hands over, the cookies of its `Cookie` header, and its body under the
 * contract's rules (JSON only, or a form where a route takes one; at most 64 KiB; strict
 * UTF-8; prototype poisoning refused).
 */
import { parse as parseCookies } from "cookie";
import secureJson from "secure-json-parse";
import { AuthError } from "../core/errors.js";
import { FORM_TYPE, parseForm } from "./form.js";
import type { AuthRequest } from "./kit.js";

/** The request body limit of the contract. */
export const BODY_LIMIT = 64 * 1024;

/** What an adapter knows of a request. Header names are lower case. */
export interface IncomingFacts {
  method: string;
  /** The path as sent (percent-encoded), without the query. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client's address, as far as the host's proxy trust goes. */
  ip: string;
  /** The raw body, at most `limit` bytes (throw `PayloadTooLarge` past it); `null` if none. */
  readBody(limit: number): Promise<Uint8Array | null>;
  /** This request's logger (Fastify's `request.log`), when the adapter has one. */
  log?: RequestLog;
}

/** A logger with pino's shape: the host's, or a request's. */
export interface RequestLog {
  debug?(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Thrown by `readBody` when a body is larger than its limit. */
export class PayloadTooLarge extends Error {}

const JSON_MEDIA = /^application\/json\s*(;|$)/i;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The body of a request to a route that takes one. An empty body is no body, whatever
 * `Content-Type` and `Content-Length` say: the route's schema then decides (`POST
 * /auth/logout` takes none and answers 204; `POST /auth/login` needs one: 400). A body
 * with bytes must be JSON, or a form where the route takes forms (415 otherwise).
 */
export async function bodyOf(incoming: IncomingFacts, forms: boolean): Promise<unknown> {
  let raw: Uint8Array | null;
  try {
    raw = await incoming.readBody(BODY_LIMIT);
  } catch (error) {
    if (error instanceof PayloadTooLarge) {
      throw new AuthError("payload_too_large", "The request body is larger than 64 KiB.");
    }
    throw error;
  }
  if (raw === null || raw.byteLength === 0) return undefined;
  const type = incoming.headers["content-type"];
  const isForm = forms && typeof type === "string" && FORM_TYPE.test(type);
  if (!isForm && !(typeof type === "string" && JSON_MEDIA.test(type))) {
    throw new AuthError("unsupported_media_type", "The request body must be application/json.");
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new AuthError("invalid_request", "The request body is not valid UTF-8.");
  }
  if (isForm) return parseForm(text);
  try {
    return secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
  } catch {
    throw new AuthError("invalid_request", "The request body is not valid JSON.");
  }
}

/**
 * The cookies of a request's `Cookie` header (the first of a repeated name wins, as
 * browsers send the most specific first); undecodable values are kept as sent. The object
 * is the parser's own, with no `Object.prototype` in its chain: a cookie named `__proto__`
 * is a cookie like any other, a name it lacks (`constructor`) reads `undefined`, and
 * nothing is copied (a copy added 0.25–0.5 µs to a 0.65 µs parse of a `jwt` browser's four
 * cookies, measured).
 *
 * @example
 * cookiesOf({ cookie: "__Host-sid=abc; theme=dark" }); // { "__Host-sid": "abc", theme: "dark" }
 */
export function cookiesOf(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const header = headers.cookie;
  const text = Array.isArray(header) ? header.join("; ") : header;
  if (!text) return Object.create(null);
  // `cookie` types its values `string | undefined`; it sets a name only with a value.
  return parseCookies(text) as Record<string, string>;
}

/**
 * What `requireAuth` and `optionalAuth` read of a host's request: who it is (its headers,
 * cookies and address), never its body or query, which are the host's.
 *
 * @example
 * const request = authRequestOf(req.method ?? "GET", req.headers, req.socket.remoteAddress ?? "");
 */
export function authRequestOf(
  method: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  ip: string,
): AuthRequest {
  return { method, headers, cookies: cookiesOf(headers), ip, body: undefined, query: {}, params: {}, auth: null };
}
