/**
 * latchkey for Fastify 5: a plugin that registers latchkey's routes in a scope of their
 * own and runs each through the framework-free core (`src/http/dispatch.ts`), as the
 * other adapters do; it decorates `fastify.requireAuth`, `fastify.optionalAuth`,
 * `fastify.requireAuthWith` and `request.auth` for the app's own routes, and touches
 * nothing else of the app. Fastify's router finds the route and
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
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { type Answer, addVary } from "../http/answer.js";
import type { LatchkeyContext, RequestAuth } from "../http/context.js";
import { servesCors } from "../http/cors.js";
import { type CompiledRoute, Dispatcher } from "../http/dispatch.js";
import { type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import type { EventStream } from "../http/kit.js";
import { closeWhenAnswered, readNodeBody } from "../http/node-body.js";
import { writeEventStream } from "../http/node-stream.js";
import { type RefusalOptions, refusalMode } from "../http/refusal.js";
import type { IncomingFacts } from "../http/request.js";
import { requirementOf } from "../http/requirement.js";
import { ErrorSchema, SHARED_SCHEMAS } from "../http/schemas.js";
import { hostGuard } from "./fastify-host.js";

/**
 * Options of the plugin, validated when it registers (see `LatchkeyOptions`).
 * @example
 * const options: LatchkeyPluginOptions = { auth, publicOrigin: "https://app.example" };
 * await app.register(latchkey, options);
 */
export type LatchkeyPluginOptions = LatchkeyOptions;

declare module "fastify" {
  interface FastifyRequest {
    /** Who the request is; set by `requireAuth` (or `null` by `optionalAuth`), `null` before or without it. */
    auth: RequestAuth | null;
  }
  interface FastifyInstance {
    /**
     * A `preHandler` that authenticates the request (`request.auth`) or throws the
     * `AuthError` (401/403, with `statusCode` and `code`) to the app's error handler; the
     * origin check for unsafe requests comes with it.
     * @example
     * app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => ({ user: request.auth?.userId }));
     */
    requireAuth: preHandlerAsyncHookHandler;
    /**
     * A `preHandler` that sets `request.auth` to who the request is, or `null`: it never
     * refuses a request for having no credential or a dead one. A request that presents one
     * gets `requireAuth`'s origin and CSRF checks (a 403 thrown to the error handler), and a
     * store outage is a 503.
     * @example
     * app.get("/", { preHandler: app.optionalAuth }, async (request) => (request.auth ? "welcome back" : "hello"));
     */
    optionalAuth: preHandlerAsyncHookHandler;
    /**
     * `requireAuth` with another way to refuse: `{ onRefusal: "answer" }` answers the
     * refusal in the contract's format; `{ onRefusal: "next" }` throws it to the app's error
     * handler (what `requireAuth` does); `{ redirect: "/sign-in" }` sends a GET with no live
     * session to that page (303, the path asked for as `next`) and answers other refusals in
     * the contract's format. Bad options are a `TypeError` when the handler is built.
     * @example
     * app.get("/notes", { preHandler: app.requireAuthWith({ redirect: "/sign-in" }) }, async (request) => ({
     *   user: request.auth?.userId,
     * }));
     */
    requireAuthWith(options: RefusalOptions): preHandlerAsyncHookHandler;
    /**
     * `requireAuth`, and the user must have one of `roles`: `403 forbidden`, thrown to the
     * error handler, otherwise. An undeclared role is a `TypeError` here, at set-up.
     * @example
     * app.get("/reports", { preHandler: app.requireRole("admin") }, async (request) => ({ roles: request.auth?.roles }));
     */
    requireRole(...roles: string[]): preHandlerAsyncHookHandler;
    /**
     * `requireAuth`, and the user's roles must grant every one of `permissions` (`403
     * forbidden` otherwise). An undeclared permission is a `TypeError` here, at set-up.
     * @example
     * app.get("/stats", { preHandler: app.requirePermission("todos:read-any") }, async () => ({ ok: true }));
     */
    requirePermission(...permissions: string[]): preHandlerAsyncHookHandler;
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
  // `errorResponses()` on the app's own routes refers to latchkey's error body: that one
  // schema is the app's too. Its id is latchkey's own, so it meets no schema of the app's.
  addSchemaOnce(fastify, ErrorSchema);

  fastify.decorate("latchkey", guest.context);
  fastify.decorateRequest("auth", null);
  // A guest's checks run where they are asked for: a host route that uses `requireAuth`
  // gets the origin check with it, and no other host route is touched.
  const guard = hostGuard(core, guest);
  fastify.decorate("requireAuth", guard({ kind: "next" }));
  fastify.decorate("optionalAuth", guard("optional"));
  fastify.decorate("requireAuthWith", (refusal: RefusalOptions) => guard(refusalMode(refusal)));
  fastify.decorate("requireRole", (...roles: string[]) =>
    guard({ kind: "next" }, requirementOf(options.auth, "role", roles)),
  );
  fastify.decorate("requirePermission", (...permissions: string[]) =>
    guard({ kind: "next" }, requirementOf(options.auth, "permission", permissions)),
  );

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
    // latchkey's response schemas (`latchkey.User`, ...) live here, with its routes.
    for (const schema of SHARED_SCHEMAS) addSchemaOnce(scope, schema);
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
        .run(route, factsOf(request, reply), request.params as Record<string, string>)
        .then((answer) => {
          if (!answer.stream) {
            send(reply, answer);
            return;
          }
          const written = streamTo(request, reply, answer).finally(() => writing.delete(written));
          writing.add(written);
        })
        .catch((error: unknown) => {
          if (!reply.sent) {
            reply.send(error);
            return;
          }
          // An event stream that could not start (its headers refused): a cut-off answer.
          request.log.warn({ err: error }, "event stream failed");
          reply.raw.destroy();
        });
    };
    for (const route of core.routes) {
      scope.route({ method: route.spec.method, url: route.path, schema: route.spec.schema, handler: run(route) });
    }
    if (!servesCors(guest.cors)) return;
    // Preflights for latchkey's paths from `corsOrigins` and `trustedOrigins`; any other goes to the host.
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
function factsOf(request: FastifyRequest, reply: FastifyReply): IncomingFacts {
  const url = request.url;
  const queryAt = url.indexOf("?");
  return {
    method: request.method,
    path: queryAt < 0 ? url : url.slice(0, queryAt),
    query: queryAt < 0 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1)),
    headers: request.headers,
    ip: request.ip,
    // The parser handed the body stream on; without a content type Fastify ran no parser.
    readBody: (limit) =>
      readNodeBody(
        bodyStreamOf(request),
        request.headers["content-length"],
        limit,
        closeWhenAnswered(request.raw, reply.raw),
      ),
    log: request.log,
  };
}

function bodyStreamOf(request: FastifyRequest): Readable {
  const body = request.body as Partial<Readable> | undefined;
  return typeof body?.on === "function" ? (body as Readable) : request.raw;
}

/** Adds `schema` to `scope` unless the scope (or a parent) has one of its id. */
function addSchemaOnce(scope: FastifyInstance, schema: { $id?: string }): void {
  if (!scope.getSchema(schema.$id as string)) scope.addSchema(schema);
}

/** Writes the core's answer; a JSON one through the route's compiled serialiser. */
function send(reply: FastifyReply, answer: Answer): void {
  reply.code(answer.status);
  for (const [name, value] of answer.headers) {
    // A host's hook may have set `Vary` already (its own CORS: `Origin`).
    if (name === "vary") reply.header("vary", addVary(reply.getHeader("vary"), value));
    else reply.header(name, value);
  }
  reply.send(answer.json !== undefined ? answer.json : (answer.body ?? undefined));
}

/**
 * An event stream, taken over from Fastify and written as the events come, until the
 * client goes away. The connection is the stream's alone: when the stream ends, so does
 * the connection (a server closing would otherwise wait on it, idle, until its keep-alive
 * ran out).
 */
function streamTo(request: FastifyRequest, reply: FastifyReply, answer: Answer): Promise<void> {
  const stream = answer.stream as EventStream;
  reply.hijack();
  try {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value : String(value);
    }
    for (const [name, value] of answer.headers) {
      const before = headers[name];
      if (name === "vary") headers.vary = addVary(before, value);
      else headers[name] = name === "set-cookie" && before !== undefined ? [before, value].flat() : value;
    }
    headers.connection = "close";
    reply.raw.writeHead(answer.status, headers);
  } catch (error) {
    // The core has counted the stream (a service's places are few): it never started.
    stream.close();
    throw error;
  }
  return writeEventStream(stream, reply.raw, (error) => request.log.warn({ err: error }, "event stream failed"));
}

/**
 * The plugin (wrapped with `fastify-plugin`, so its hooks and decorators reach the routes
 * of the app that registers it).
 * @example
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example", strategy: "jwt" });
 * app.get("/", { preHandler: app.optionalAuth }, async (request) => ({ signedIn: request.auth !== null }));
 * app.get("/api/notes", { preHandler: app.requireAuthWith({ onRefusal: "answer" }) }, async (request) => ({
 *   by: request.auth?.userId,
 * }));
 */
export const latchkey = fp(latchkeyPlugin, { name: "latchkey", fastify: "5.x" });

export { handleError, useStrictJson } from "./fastify-host.js";
