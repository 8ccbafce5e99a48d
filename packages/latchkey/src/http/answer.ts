/**
 * What latchkey's HTTP core answers, for any framework: a status, headers and a body (or
 * an event stream), and the `AuthReply` its handlers write it through. An adapter writes
 * an `Answer` to its own reply object; none of this knows which framework that is.
 */
import { serialize as serializeCookie } from "cookie";
import type { AuthReply, CookieOptions, EventStream } from "./kit.js";

/** The `content-type` of every JSON answer. */
export const JSON_TYPE = "application/json; charset=utf-8";

/**
 * An answer: status, headers (`set-cookie` may repeat) and the body text. A JSON answer
 * also carries its value (`json`), so an adapter with a serialiser of its own (Fastify's,
 * compiled from the route's response schema) sends the value and `body` is never built.
 */
export interface Answer {
  status: number;
  headers: [string, string][];
  /** The body text; `null` for none. */
  readonly body: string | null;
  /** The value `body` is the JSON text of, for a JSON answer. */
  readonly json?: unknown;
  /** Server-Sent Events to write as they come, instead of `body`. */
  stream?: EventStream;
}

/** A JSON answer, its text made only when an adapter asks for it. */
export class JsonAnswer implements Answer {
  status: number;
  headers: [string, string][];
  readonly json: unknown;
  #body: string | undefined;

  constructor(status: number, headers: [string, string][], json: unknown) {
    this.status = status;
    this.headers = headers;
    this.json = json;
  }

  get body(): string {
    this.#body ??= JSON.stringify(this.json);
    return this.#body;
  }
}

/**
 * The `Cache-Control` of a host's response that `requireAuth` or `optionalAuth` gave a
 * renewed access cookie (`hybrid`): a response that carries a credential is never stored by
 * a shared cache (`private`), nor by any other (`no-store`), or a CDN in front of the host
 * could hand one user's cookie to the next. `Vary: Cookie` would not do: it keys a cache by
 * the request's cookies but still lets it store the answer, and many caches ignore it.
 */
export const RENEWED_CACHE_CONTROL = "private, no-store";

/**
 * `Vary` with `value` added to what is there already (a host's `Accept-Encoding`, a host's
 * CORS `Origin`), each name once.
 *
 * @example
 * addVary("Accept-Encoding", "Origin"); // "Accept-Encoding, Origin"
 */
export function addVary(existing: string | number | readonly string[] | undefined, value: string): string {
  const before = existing === undefined ? "" : Array.isArray(existing) ? existing.join(", ") : String(existing);
  const names = before
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.includes("*")) return "*";
  const known = new Set(names.map((name) => name.toLowerCase()));
  for (const name of value.split(",").map((part) => part.trim())) {
    if (name === "" || known.has(name.toLowerCase())) continue;
    known.add(name.toLowerCase());
    names.push(name);
  }
  return names.join(", ");
}

/** An `AuthReply` that collects what a handler sets. */
export class CollectingReply implements AuthReply {
  /** See `CookieSink.renewsSessionSecret`. */
  readonly renewsSessionSecret: boolean;
  #status = 200;
  readonly #headers = new Map<string, string>();
  readonly #cookies: string[] = [];

  constructor(options: { renewsSessionSecret?: boolean } = {}) {
    this.renewsSessionSecret = options.renewsSessionSecret ?? true;
  }

  code(status: number): this {
    this.#status = status;
    return this;
  }

  header(name: string, value: string): this {
    this.#headers.set(name.toLowerCase(), value);
    return this;
  }

  setCookie(name: string, value: string, options: CookieOptions): this {
    this.#cookies.push(serializeCookie(name, value, options));
    return this;
  }

  send(): this {
    if (this.#status === 200) this.#status = 204;
    return this;
  }

  /** The `set-cookie` lines so far. */
  cookieHeaders(): [string, string][] {
    return this.#cookies.map((line) => ["set-cookie", line]);
  }

  /** The answer with `result` as its JSON body (`undefined`: no body). */
  answer(result: unknown): Answer {
    const headers: [string, string][] = [...this.#headers, ...this.cookieHeaders()];
    if (result === undefined) return { status: this.#status, headers, body: null };
    headers.push(["content-type", JSON_TYPE]);
    return new JsonAnswer(this.#status, headers, result);
  }
}
