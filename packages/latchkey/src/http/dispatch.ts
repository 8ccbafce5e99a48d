/**
 * latchkey's HTTP core: a request's facts in, an answer out, with no framework. Every
 * adapter runs latchkey's routes through it: fetch, Express and Hono hand it the request
 * and let it find the route (`dispatch`); Fastify's router finds the route and hands it
 * over (`run`). Either way one pipeline applies the rules: the origin check, JSON bodies
 * only (at most 64 KiB, strict UTF-8, prototype poisoning refused), unknown fields dropped
 * and types never coerced, authentication, the contract's error answers, CORS for
 * `corsOrigins` on latchkey's routes alone, and event streams.
 */
import type { TSchema } from "@sinclair/typebox";
import { AuthError, LatchkeySetupError } from "../core/errors.js";
import { type Answer, CollectingReply, JSON_TYPE, JsonAnswer } from "./answer.js";
import type { RequestAuth } from "./context.js";
import { preflightAnswer, withCors } from "./cors.js";
import { type ErrorAnswer, errorAnswer, INTERNAL_ERROR, logAuthError, statusErrorAnswer } from "./errors.js";
import type { Guest } from "./guest.js";
import { type AuthReply, type AuthRequest, EVENT_STREAM_HEADERS, EventStream } from "./kit.js";
import { bodyOf, cookiesOf, type IncomingFacts, type RequestLog } from "./request.js";
import { type RouteSpec, routePath } from "./routes/spec.js";
import { compileRequestCheck, type RequestCheck } from "./validate.js";

// The adapters' vocabulary, from the files that define it.
export { type Answer, CollectingReply } from "./answer.js";
export { BODY_LIMIT, cookiesOf, type IncomingFacts, PayloadTooLarge } from "./request.js";

/** A logger with pino's shape (the host's, or none). */
export type GuestLog = RequestLog;

/** One of latchkey's routes, ready to run: its spec, its full path and its checks. */
export interface CompiledRoute {
  spec: RouteSpec;
  /** The path under the host's `prefix`, `:name` for a parameter. */
  path: string;
  segments: string[];
  body?: RequestCheck;
  query?: RequestCheck;
  params?: RequestCheck;
}

/** The routes of a guest, matched and run without a framework. */
export class Dispatcher {
  /** The routes that are on, in registration order. */
  readonly routes: readonly CompiledRoute[];
  readonly #guest: Guest;
  readonly #log: GuestLog | undefined;
  readonly #streams = new Set<EventStream>();
  /** Set by `closeStreams`: a stream asked for from then on (its set-up was in flight) ends at once. */
  #closed = false;

  constructor(guest: Guest, log?: GuestLog) {
    this.#guest = guest;
    this.#log = log;
    const compile = (schema: TSchema | undefined, part: string) =>
      schema ? compileRequestCheck(schema, part) : undefined;
    this.routes = guest.routes.map((spec) => {
      const path = routePath(spec, guest.prefix);
      return {
        spec,
        path,
        segments: path.split("/"),
        body: spec.bodyCheckedByHandler ? undefined : compile(spec.schema.body, "body"),
        query: compile(spec.schema.querystring, "querystring"),
        params: compile(spec.schema.params, "params"),
      };
    });
  }

  /** Ends every open event stream (the adapter is closing). */
  closeStreams(): void {
    this.#closed = true;
    for (const stream of [...this.#streams]) stream.close();
    this.#streams.clear();
  }

  /**
   * The answer of latchkey's route for the request (a CORS preflight for one of its paths
   * included), or `null` when the method and path are not latchkey's (the host answers).
   */
  async dispatch(incoming: IncomingFacts): Promise<Answer | null> {
    const method = incoming.method === "HEAD" ? "GET" : incoming.method;
    const segments = decodeSegments(incoming.path);
    if (segments === null) return null;
    if (incoming.method === "OPTIONS") {
      const known = this.routes.some((route) => matchParams(route.segments, segments) !== null);
      return known ? this.preflight(incoming) : null;
    }
    for (const route of this.routes) {
      if (route.spec.method !== method) continue;
      const params = matchParams(route.segments, segments);
      if (params) return this.run(route, incoming, params);
    }
    return null;
  }

  /**
   * The answer to a CORS preflight for one of latchkey's paths, or `null` when the request
   * is not one from a `corsOrigins` origin (the host answers it).
   */
  preflight(incoming: Pick<IncomingFacts, "method" | "headers">): Answer | null {
    return preflightAnswer(incoming, this.#guest.cors);
  }

  /** The answer of `route` for a request to it; `params` are the path's, decoded. */
  async run(route: CompiledRoute, incoming: IncomingFacts, params: Record<string, string>): Promise<Answer> {
    const { spec } = route;
    const reply = new CollectingReply();
    reply.header("cache-control", "no-store");
    let answer: Answer;
    try {
      const refused = this.#guest.originRefusal(incoming, () => spec.cors === true);
      if (refused) throw refused;
      const request: AuthRequest = {
        method: incoming.method,
        headers: incoming.headers,
        cookies: cookiesOf(incoming.headers),
        ip: incoming.ip,
        body: spec.method === "GET" ? undefined : checked(route.body, await bodyOf(incoming, spec.forms === true)),
        query: checked(route.query, Object.fromEntries(incoming.query)),
        params: checked(route.params, params),
        auth: null,
      };
      // The origin was checked above, once for the route; who the request is comes next.
      if (spec.auth) request.auth = await this.#guest.context.authenticate(request, reply);
      const result = await spec.handler(request, reply);
      answer =
        result instanceof EventStream
          ? this.#streamAnswer(result, reply, incoming.method === "HEAD")
          : reply.answer(result === reply ? undefined : result);
    } catch (error) {
      // A host's wrong set-up (a body read before latchkey saw it) is the host's error to see.
      if (error instanceof LatchkeySetupError) throw error;
      answer = this.errorAnswer(error, reply, incoming.log);
    }
    // A HEAD answer is the GET answer's status and headers.
    if (incoming.method === "HEAD") answer = { status: answer.status, headers: answer.headers, body: null };
    return withCors(incoming, this.#guest.cors, answer);
  }

  /**
   * `requireAuth` for a host route: the origin check for an unsafe request, then who the
   * request is (a hybrid renewal's cookie goes to `reply`). `corsRoute`: whether the route
   * may be called from a `corsOrigins` origin without a bearer header (asked only then).
   */
  async authenticate(
    request: AuthRequest,
    reply: Pick<AuthReply, "setCookie">,
    corsRoute: boolean | (() => boolean) = false,
  ): Promise<RequestAuth> {
    const refused = this.#guest.originRefusal(request, typeof corsRoute === "function" ? corsRoute : () => corsRoute);
    if (refused) throw refused;
    return this.#guest.context.authenticate(request, reply);
  }

  /**
   * The contract's answer to an error: an `AuthError` keeps its code; an error carrying a
   * status gets the generic code for it; anything else is a bug, logged and answered 500.
   */
  errorAnswer(error: unknown, reply: CollectingReply = new CollectingReply(), log = this.#log): Answer {
    let found: ErrorAnswer | null;
    if (error instanceof AuthError) {
      logAuthError(error, log);
      found = errorAnswer(error);
    } else found = statusErrorAnswer(error);
    if (found === null) {
      log?.error({ err: error }, "unhandled error");
      found = INTERNAL_ERROR;
    }
    // The cookies set before the error (a cleared login) still go out; the rest do not.
    const cookies = error instanceof AuthError ? reply.cookieHeaders() : [];
    const headers: [string, string][] = [
      ["cache-control", "no-store"],
      ...cookies,
      ...found.headers,
      ["content-type", JSON_TYPE],
    ];
    return new JsonAnswer(found.status, headers, found.body);
  }

  #streamAnswer(result: EventStream, reply: CollectingReply, head: boolean): Answer {
    // The stream's own headers replace the reply's of the same name (`cache-control`).
    const own = reply.answer(undefined).headers.filter(([name]) => !(name in EVENT_STREAM_HEADERS));
    const headers: [string, string][] = [...own, ...Object.entries(EVENT_STREAM_HEADERS)];
    // A HEAD is answered as a HEAD: the stream's status and headers, nothing held open.
    // Once the adapter is closing, a stream whose set-up was in flight as it closed (a
    // verifier reconnecting) ends at once too, as the open ones did: the subscriber
    // reconnects elsewhere, and the server is not left waiting on it.
    if (head || this.#closed) {
      result.close();
      return { status: 200, headers, body: null };
    }
    const stream: EventStream = new EventStream(result.chunks, () => {
      this.#streams.delete(stream);
      result.close();
    });
    this.#streams.add(stream);
    return { status: 200, headers, body: null, stream };
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
