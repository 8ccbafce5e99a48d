/**
 * latchkey's routes without a framework: a request's facts in, an answer out. The fetch,
 * Express and Hono adapters are each a few lines over this; it does what Fastify does
 * for the plugin (route matching, body parsing, schema checks, error answers) with the
 * same rules: JSON bodies only, at most 64 KiB, strict UTF-8, prototype poisoning refused,
 * unknown fields dropped, types never coerced.
 */
import type { TSchema } from "@sinclair/typebox";
import { parse as parseCookies, serialize as serializeCookie } from "cookie";
import secureJson from "secure-json-parse";
import { AuthError } from "../core/errors.js";
import type { RequestAuth } from "./context.js";
import { errorAnswer, INTERNAL_ERROR, logAuthError } from "./errors.js";
import { FORM_TYPE, parseForm } from "./form.js";
import type { Guest } from "./guest.js";
import { type AuthReply, type AuthRequest, type CookieOptions, EVENT_STREAM_HEADERS, EventStream } from "./kit.js";
import { type RouteSpec, routePath } from "./routes/spec.js";
import { compileRequestCheck, type RequestCheck } from "./validate.js";

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
  /** A body the host's own middleware has parsed already (Express's `express.json()`). */
  parsedBody?: unknown;
}

/** An answer: status, headers (`set-cookie` may repeat) and the body text. */
export interface Answer {
  status: number;
  headers: [string, string][];
  body: string | null;
  /** Server-Sent Events to write as they come, instead of `body`. */
  stream?: EventStream;
}

/** Thrown by `readBody` when a body is larger than its limit. */
export class PayloadTooLarge extends Error {}

/** A logger with pino's shape (the host's, or none). */
export interface GuestLog {
  debug?(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

interface CompiledRoute {
  spec: RouteSpec;
  segments: string[];
  body?: RequestCheck;
  query?: RequestCheck;
  params?: RequestCheck;
}

const JSON_TYPE = "application/json; charset=utf-8";
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The routes of a guest, matched and run without a framework. */
export class Dispatcher {
  readonly #guest: Guest;
  readonly #routes: CompiledRoute[];
  readonly #log: GuestLog | undefined;
  readonly #streams = new Set<EventStream>();

  constructor(guest: Guest, log?: GuestLog) {
    this.#guest = guest;
    this.#log = log;
    const compile = (schema: TSchema | undefined, part: string) =>
      schema ? compileRequestCheck(schema, part) : undefined;
    this.#routes = guest.routes.map((spec) => ({
      spec,
      segments: routePath(spec, guest.prefix).split("/"),
      body: spec.bodyCheckedByHandler ? undefined : compile(spec.schema.body, "body"),
      query: compile(spec.schema.querystring, "querystring"),
      params: compile(spec.schema.params, "params"),
    }));
  }

  /** Ends every open event stream (the adapter is closing). */
  closeStreams(): void {
    for (const stream of [...this.#streams]) stream.close();
    this.#streams.clear();
  }

  /**
   * The answer of latchkey's route for the request, or `null` when the method and path are
   * not one of latchkey's routes (the host answers it).
   */
  async dispatch(incoming: IncomingFacts): Promise<Answer | null> {
    const method = incoming.method === "HEAD" ? "GET" : incoming.method;
    const segments = decodeSegments(incoming.path);
    if (segments === null) return null;
    let found: { route: CompiledRoute; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      if (route.spec.method !== method) continue;
      const params = matchParams(route.segments, segments);
      if (params) {
        found = { route, params };
        break;
      }
    }
    const corsAnswer = this.#preflight(incoming, segments);
    if (corsAnswer) return corsAnswer;
    if (!found) return null;
    const reply = new CollectingReply();
    reply.header("cache-control", "no-store");
    try {
      const { route, params } = found;
      const refused = this.#guest.originRefusal(incoming, () => route.spec.cors === true);
      if (refused) throw refused;
      const request: AuthRequest = {
        method: incoming.method,
        headers: incoming.headers,
        cookies: cookiesOf(incoming.headers),
        ip: incoming.ip,
        body: checked(route.body, await bodyOf(incoming, method, route.spec.forms === true)),
        query: checked(route.query, Object.fromEntries(incoming.query)),
        params: checked(route.params, params),
        auth: null,
      };
      if (route.spec.auth) request.auth = await this.authenticate(request, reply, route.spec.cors === true);
      const result = await route.spec.handler(request, reply);
      if (result instanceof EventStream) {
        // The stream's own headers replace the reply's of the same name (`cache-control`).
        const own = reply.answer(undefined).headers.filter(([name]) => !(name in EVENT_STREAM_HEADERS));
        const headers: [string, string][] = [...own, ...Object.entries(EVENT_STREAM_HEADERS)];
        // A HEAD is answered as a HEAD: the stream's status and headers, nothing held open.
        if (incoming.method === "HEAD") {
          result.close();
          return this.#withCors(incoming, { status: 200, headers, body: null });
        }
        const stream: EventStream = new EventStream(result.chunks, () => {
          this.#streams.delete(stream);
          result.close();
        });
        this.#streams.add(stream);
        return this.#withCors(incoming, { status: 200, headers, body: null, stream });
      }
      const answer = reply.answer(result === reply ? undefined : result);
      // A HEAD answer is the GET answer's status and headers.
      if (incoming.method === "HEAD") answer.body = null;
      return this.#withCors(incoming, answer);
    } catch (error) {
      return this.#withCors(incoming, this.errorAnswer(error, reply));
    }
  }

  /**
   * `requireAuth` for a host route: the origin check for an unsafe request, then who the
   * request is (a hybrid renewal's cookie goes to `reply`).
   */
  async authenticate(
    request: AuthRequest,
    reply: Pick<AuthReply, "setCookie">,
    corsRoute = false,
  ): Promise<RequestAuth> {
    const refused = this.#guest.originRefusal(request, () => corsRoute);
    if (refused) throw refused;
    return this.#guest.context.authenticate(request, reply);
  }

  /** The contract's answer to an error (500 for one nobody expected, logged). */
  errorAnswer(error: unknown, reply: CollectingReply = new CollectingReply()): Answer {
    if (error instanceof AuthError) {
      logAuthError(error, this.#log);
      const answer = errorAnswer(error);
      return {
        status: answer.status,
        headers: [
          ["cache-control", "no-store"],
          ...reply.cookieHeaders(),
          ...answer.headers,
          ["content-type", JSON_TYPE],
        ],
        body: JSON.stringify(answer.body),
      };
    }
    this.#log?.error({ err: error }, "unhandled error");
    return {
      status: INTERNAL_ERROR.status,
      headers: [
        ["cache-control", "no-store"],
        ["content-type", JSON_TYPE],
      ],
      body: JSON.stringify(INTERNAL_ERROR.body),
    };
  }

  /** A CORS preflight for one of latchkey's paths from a `corsOrigins` origin. */
  #preflight(incoming: IncomingFacts, segments: string[]): Answer | null {
    if (incoming.method !== "OPTIONS") return null;
    const origin = incoming.headers.origin;
    if (typeof origin !== "string" || !this.#guest.corsOrigins.has(origin)) return null;
    if (!this.#routes.some((route) => matchParams(route.segments, segments) !== null)) return null;
    return {
      status: 204,
      headers: [
        ["access-control-allow-origin", origin],
        ["access-control-allow-methods", "GET, POST, PATCH, DELETE"],
        ["access-control-allow-headers", "authorization, content-type"],
        ["access-control-max-age", "600"],
        ["vary", "Origin"],
      ],
      body: null,
    };
  }

  #withCors(incoming: IncomingFacts, answer: Answer): Answer {
    const origin = incoming.headers.origin;
    if (typeof origin === "string" && this.#guest.corsOrigins.has(origin)) {
      answer.headers.push(
        ["access-control-allow-origin", origin],
        ["access-control-expose-headers", "retry-after, www-authenticate"],
        ["vary", "Origin"],
      );
    }
    return answer;
  }
}

/** An `AuthReply` that collects what a handler sets. */
export class CollectingReply implements AuthReply {
  #status = 200;
  readonly #headers = new Map<string, string>();
  readonly #cookies: string[] = [];

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
    return { status: this.#status, headers, body: JSON.stringify(result) };
  }
}

/**
 * The cookies of a request's `Cookie` header (the first of a repeated name wins, as
 * @fastify/cookie has it); undecodable values are kept as sent.
 */
export function cookiesOf(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const header = headers.cookie;
  const text = Array.isArray(header) ? header.join("; ") : header;
  if (!text) return {};
  const parsed = parseCookies(text);
  const cookies: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) if (value !== undefined) cookies[name] = value;
  return cookies;
}

async function bodyOf(incoming: IncomingFacts, method: string, forms: boolean): Promise<unknown> {
  if (method === "GET") return undefined;
  if (incoming.parsedBody !== undefined) return incoming.parsedBody;
  const type = incoming.headers["content-type"];
  let raw: Uint8Array | null;
  try {
    raw = await incoming.readBody(BODY_LIMIT);
  } catch (error) {
    if (error instanceof PayloadTooLarge) {
      throw new AuthError("payload_too_large", "The request body is larger than 64 KiB.");
    }
    throw error;
  }
  const isJson = typeof type === "string" && /^application\/json\s*(;|$)/i.test(type);
  if (raw === null || raw.byteLength === 0) {
    if (isJson && incoming.headers["content-length"] !== undefined) {
      throw new AuthError("invalid_request", "The request body is empty.");
    }
    return undefined;
  }
  const isForm = forms && typeof type === "string" && FORM_TYPE.test(type);
  if (!isJson && !isForm) throw new AuthError("unsupported_media_type", "The request body must be application/json.");
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

function checked(check: RequestCheck | undefined, value: unknown): unknown {
  if (!check) return value;
  const result = check(value);
  if ("error" in result) throw result.error;
  return result.value;
}

function decodeSegments(path: string): string[] | null {
  try {
    return path.split("/").map(decodeURIComponent);
  } catch {
    return null;
  }
}

function matchParams(route: string[], path: string[]): Record<string, string> | null {
  if (route.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.length; i++) {
    const want = route[i] as string;
    const got = path[i] as string;
    if (want.startsWith(":")) {
      if (got === "") return null;
      params[want.slice(1)] = got;
    } else if (want !== got) return null;
  }
  return params;
}
