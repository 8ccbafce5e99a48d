/**
 * latchkey for Fastify 5: a plugin that registers latchkey's routes in a scope of their
 * own and runs each through the framework-free core (`src/http/dispatch.ts`), as the
 * other adapters do; it decorates `fastify.requireAuth` and `request.auth` for the app's
 * own routes, and touches nothing else of the app. Fastify's router finds the route and
 * its serialiser, compiled from the route's response schema, writes the JSON; everything
 * between (the origin check, body rules, validation, authentication, errors, CORS, event
 * streams) is the core's. It registers no other plugin: a host's own @fastify/cookie or
 * @fastify/cors, before or after it, is the host's.
 *
 * @example
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example" });
 * app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => {
 *   const { user } = await request.auth!.load(); // the full records: one read after a token check
 *   return { username: user.username };
 * });
 */
import type { Readable } from "node:stream";
import { serialize as serializeCookie } from "cookie";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { AuthError } from "../core/errors.js";
import type { Answer } from "../http/answer.js";
import type { LatchkeyContext, RequestAuth } from "../http/context.js";
import { type CompiledRoute, Dispatcher } from "../http/dispatch.js";
import { errorAnswer, errorBody, INTERNAL_ERROR, logAuthError, statusErrorAnswer } from "../http/errors.js";
import { type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import type { AuthRequest, CookieSink } from "../http/kit.js";
import { readNodeBody } from "../http/node-body.js";
import { writeEventStream } from "../http/node-stream.js";
import { cookiesOf, type IncomingFacts } from "../http/request.js";
import { SHARED_SCHEMAS } from "../http/schemas.js";

/**
 * Options of the plugin, validated when it registers (see `LatchkeyOptions`).
 * @example
 * const options: LatchkeyPluginOptions = { auth, publicOrigin: "https://app.example" };
 * await app.register(latchkey, options);
 */
export type LatchkeyPluginOptions = LatchkeyOptions;

declare module "fastify" {
  interface FastifyRequest {
    /** Who the request is; set by `requireAuth`, `null` before or without it. */
    auth: RequestAuth | null;
  }
  interface FastifyInstance {
    /** A `preHandler` that authenticates the request or answers 401/403. */
    requireAuth: preHandlerAsyncHookHandler;
    latchkey: LatchkeyContext;
  }
  interface FastifyContextConfig {
    /** This route may be called from a `corsOrigins` origin without a bearer header. */
    latchkeyCors?: boolean;
  }
}

const NO_QUERY = new URLSearchParams();

async function latchkeyPlugin(fastify: FastifyInstance, options: LatchkeyPluginOptions): Promise<void> {
  const guest = setUpGuest(options);
  const core = new Dispatcher(guest, fastify.log);
  for (const schema of SHARED_SCHEMAS) if (!fastify.getSchema(schema.$id as string)) fastify.addSchema(schema);

  fastify.decorate("latchkey", guest.context);
  fastify.decorateRequest("auth", null);
  // A guest's checks run where they are asked for: a host route that uses `requireAuth`
  // gets the origin check with it, and no other host route is touched.
  const requireAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.auth = await core.authenticate(
        authRequestOf(request),
        cookieSinkOf(reply),
        () => request.routeOptions.config.latchkeyCors === true,
      );
    } catch (error) {
      // An error answer is never cached, whatever route it comes from.
      reply.header("cache-control", "no-store");
      throw error;
    }
  };
  fastify.decorate("requireAuth", requireAuth);

  const maintenance = startGuestMaintenance(options, fastify.log);
  fastify.addHook("onClose", async () => maintenance.stop());
  // Open event streams never end on their own: closing the app ends them, or it would wait
  // on them for ever.
  const writing = new Set<Promise<void>>();
  fastify.addHook("preClose", async () => {
    core.closeStreams();
    await Promise.all(writing);
  });

  // latchkey's routes live in a scope of their own: its error handler (the contract's
  // format), its body parsing and its validation apply to them alone.
  await fastify.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => {
      send(reply, core.errorAnswer(error, undefined, request.log));
    });
    // The core checks requests (latchkey's rules, whatever the host's Ajv does); the
    // schemas stay on the routes for their serialisers and the OpenAPI document.
    scope.setValidatorCompiler(() => () => true);
    // Whatever the content type, the body reaches the core unread: it reads it under the
    // contract's rules (the stream a host's `preParsing` hook hands on, if any).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    const run = (route: CompiledRoute) => (request: FastifyRequest, reply: FastifyReply) => {
      core
        .run(route, factsOf(request), request.params as Record<string, string>)
        .then((answer) => {
          if (!answer.stream) {
            send(reply, answer);
            return;
          }
          const written = streamTo(request, reply, answer).finally(() => writing.delete(written));
          writing.add(written);
        })
        .catch((error: unknown) => {
          if (!reply.sent) reply.send(error);
        });
    };
    for (const route of core.routes) {
      scope.route({ method: route.spec.method, url: route.path, schema: route.spec.schema, handler: run(route) });
    }
    if (guest.corsOrigins.size === 0) return;
    // Preflights for latchkey's paths from `corsOrigins`; any other goes to the host.
    for (const path of new Set(core.routes.map((route) => route.path))) {
      scope.route({
        method: "OPTIONS",
        url: path,
        schema: { hide: true } as object,
        handler: (request, reply) => {
          const answer = core.preflight(request);
          if (answer) send(reply, answer);
          else reply.callNotFound();
        },
      });
    }
  });
}

/** What the core reads of a Fastify request. */
function factsOf(request: FastifyRequest): IncomingFacts {
  const url = request.url;
  const queryAt = url.indexOf("?");
  return {
    method: request.method,
    path: queryAt < 0 ? url : url.slice(0, queryAt),
    query: queryAt < 0 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1)),
    headers: request.headers,
    ip: request.ip,
    // The parser handed the body stream on; without a content type Fastify ran no parser.
    readBody: (limit) => readNodeBody(bodyStreamOf(request), request.headers["content-length"], limit),
    log: request.log,
  };
}

function bodyStreamOf(request: FastifyRequest): Readable {
  const body = request.body as Partial<Readable> | undefined;
  return typeof body?.on === "function" ? (body as Readable) : request.raw;
}

/** What `requireAuth` reads of a host's request: who it is, never its body. */
function authRequestOf(request: FastifyRequest): AuthRequest {
  return {
    method: request.method,
    headers: request.headers,
    cookies: cookiesOf(request.headers),
    ip: request.ip,
    body: undefined,
    query: {},
    params: {},
    auth: null,
  };
}

/** A hybrid renewal's cookie, straight onto the reply. */
function cookieSinkOf(reply: FastifyReply): CookieSink {
  const sink: CookieSink = {
    setCookie(name, value, options) {
      reply.header("set-cookie", serializeCookie(name, value, options));
      return sink as never;
    },
  };
  return sink;
}

/** Writes the core's answer; a JSON one through the route's compiled serialiser. */
function send(reply: FastifyReply, answer: Answer): void {
  reply.code(answer.status);
  for (const [name, value] of answer.headers) {
    if (name === "vary") addVary(reply, value);
    else reply.header(name, value);
  }
  reply.send(answer.json !== undefined ? answer.json : (answer.body ?? undefined));
}

/** Adds to `Vary` what a host's hook may have set already (a host's own CORS: `Origin`). */
function addVary(reply: FastifyReply, value: string): void {
  const existing = reply.getHeader("vary");
  if (existing === undefined) reply.header("vary", value);
  else if (
    !String(existing)
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes(value.toLowerCase())
  ) {
    reply.header("vary", `${String(existing)}, ${value}`);
  }
}

/**
 * An event stream, taken over from Fastify and written as the events come, until the
 * client goes away. The connection is the stream's alone: when the stream ends, so does
 * the connection (a server closing would otherwise wait on it, idle, until its keep-alive
 * ran out).
 */
function streamTo(request: FastifyRequest, reply: FastifyReply, answer: Answer): Promise<void> {
  reply.hijack();
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value : String(value);
  }
  for (const [name, value] of answer.headers) {
    const before = headers[name];
    headers[name] = name === "set-cookie" && before !== undefined ? [before, value].flat() : value;
  }
  headers.connection = "close";
  reply.raw.writeHead(answer.status, headers);
  return writeEventStream(answer.stream as NonNullable<Answer["stream"]>, reply.raw, (error) =>
    request.log.warn({ err: error }, "event stream failed"),
  );
}

/**
 * The plugin (wrapped with `fastify-plugin`, so its hooks and decorators reach the routes
 * of the app that registers it).
 * @example
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example", strategy: "jwt" });
 */
export const latchkey = fp(latchkeyPlugin, { name: "latchkey", fastify: "5.x" });

/**
 * An error handler in the contract's format, for the app's own routes: contract errors
 * keep their code and message; Fastify's errors (bad JSON, 404, 413, 415, a schema check)
 * get a generic message, which never quotes the body; anything else is a bug, logged in
 * full and answered 500 without detail. latchkey's own routes answer errors themselves.
 *
 * @example
 * app.setErrorHandler(handleError); // the contract's error format for the app's own routes too
 */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof AuthError) {
    logAuthError(error, request.log);
    const answer = errorAnswer(error);
    for (const [name, value] of answer.headers) reply.header(name, value);
    reply.code(answer.status).send(answer.body);
    return;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    // Ajv's messages name the field and the rule, never the value.
    reply.code(400).send(errorBody("invalid_request", `Invalid request: ${fastifyError.message}.`));
    return;
  }
  const generic = statusErrorAnswer(error, parserMessage(fastifyError));
  if (generic) {
    reply.code(generic.status).send(generic.body);
    return;
  }
  request.log.error({ err: error }, "unhandled error");
  reply.code(INTERNAL_ERROR.status).send(INTERNAL_ERROR.body);
}

/** The message of a JSON parser's error that is safe and useful to pass on. */
function parserMessage(error: FastifyError): string | undefined {
  if (error instanceof SyntaxError || error.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return "The request body is not valid JSON.";
  }
  return error.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ? "The request body is empty." : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Replaces `application/json` parsing in `fastify`'s scope (and its children) with one
 * that refuses malformed UTF-8 (`400 invalid_request`), as latchkey's own routes do. Node
 * decodes a body by replacing each invalid byte sequence with U+FFFD, so two different
 * byte strings would reach a handler as one password. The JSON itself is parsed by
 * Fastify's own parser (prototype poisoning refused).
 *
 * @example
 * useStrictJson(app);
 */
export function useStrictJson(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser("error", "error");
  fastify.removeContentTypeParser("application/json");
  fastify.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new AuthError("invalid_request", "The request body is not valid UTF-8."), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
