/**
 * The latchkey Fastify plugin: cookie parsing, the origin and CSRF checks, `request.auth`
 * and the `requireAuth` hook, the `/auth/*` routes, and the contract's error format. It
 * receives the core (`createAuth`) with its stores; it never opens a store itself.
 *
 * @example
 * const auth = await createAuth({
 *   stores,
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://localhost:3000" },
 * });
 * await app.register(latchkey, { auth, publicOrigin: "http://localhost:3000" });
 * app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => {
 *   const { user } = await request.auth!.load(); // the full records: one read after a token check
 *   return { username: user.username };
 * });
 */
import fastifyCookie from "@fastify/cookie";
import fastifyCors from "@fastify/cors";
import type { TSchema } from "@sinclair/typebox";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  RouteHandlerMethod,
} from "fastify";
import fp from "fastify-plugin";
import type { LatchkeyContext, RequestAuth } from "./context.js";
import { BODY_LIMIT } from "./dispatch.js";
import { handleError } from "./errors.js";
import { FORM_TYPE, parseForm } from "./form.js";
import { type LatchkeyOptions, setUpGuest } from "./guest.js";
import { useStrictJson } from "./json.js";
import { type AuthReply, type AuthRequest, EVENT_STREAM_HEADERS, EventStream } from "./kit.js";
import { writeEventStream } from "./node-stream.js";
import { type RouteSpec, routePath } from "./routes/spec.js";
import { SHARED_SCHEMAS } from "./schemas.js";
import { compileRequestCheck } from "./validate.js";

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
    /** This route may be called from a `CORS_ORIGINS` origin without a bearer header. */
    latchkeyCors?: boolean;
  }
}

// The handlers are written against `AuthRequest`/`AuthReply`; a Fastify request and reply
// must be both, which these lines prove at compile time.
const asAuthRequest = (request: FastifyRequest): AuthRequest => request;
const asAuthReply = (reply: FastifyReply): AuthReply => reply;
void [asAuthRequest, asAuthReply];

async function latchkeyPlugin(fastify: FastifyInstance, options: LatchkeyPluginOptions): Promise<void> {
  const guest = setUpGuest(options);
  const { context } = guest;

  if (!fastify.hasRequestDecorator("cookies")) await fastify.register(fastifyCookie);
  if (guest.corsOrigins.size > 0) {
    await fastify.register(fastifyCors, {
      origin: [...guest.corsOrigins],
      credentials: false,
      methods: ["GET", "POST", "PATCH", "DELETE"],
      allowedHeaders: ["authorization", "content-type"],
      exposedHeaders: ["retry-after", "www-authenticate"],
      maxAge: 600,
    });
  }
  for (const schema of SHARED_SCHEMAS) if (!fastify.getSchema(schema.$id as string)) fastify.addSchema(schema);

  fastify.decorate("latchkey", context);
  fastify.decorateRequest("auth", null);
  // A guest's checks run where they are asked for: a host route that uses `requireAuth`
  // gets the origin check with it, and no other host route is touched.
  const requireAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = guest.originRefusal(request, () => request.routeOptions.config.latchkeyCors === true);
    if (refused) {
      // An error answer is never cached, whatever route it comes from.
      reply.header("cache-control", "no-store");
      throw refused;
    }
    request.auth = await context.authenticate(request, reply);
  };
  fastify.decorate("requireAuth", requireAuth);

  if (options.maintenance !== false) {
    const intervalMs = typeof options.maintenance === "object" ? options.maintenance.intervalMs : undefined;
    const maintenance = options.auth.startMaintenance({ log: fastify.log, intervalMs });
    fastify.addHook("onClose", async () => maintenance.stop());
  }

  // Open event streams never end on their own: closing the app ends them, or it would wait
  // on them for ever.
  const streams = new Map<EventStream, Promise<void>>();
  fastify.addHook("preClose", async () => {
    const ending = [...streams.values()];
    for (const stream of streams.keys()) stream.close();
    await Promise.all(ending);
  });

  // latchkey's own routes live in a scope of their own: its error handler (the contract's
  // error format), its JSON parser and its origin check apply to them alone, never to the
  // host's routes.
  await fastify.register(async (scope) => {
    scope.setErrorHandler(handleError);
    // latchkey's rules for its own requests, whatever the host's Ajv does (Fastify's
    // default coerces types: `{"username": 123}` would become "123").
    scope.setValidatorCompiler(({ schema, httpPart }) => compileRequestCheck(schema as TSchema, httpPart ?? "body"));
    // JSON only, whatever parsers the host has: a `text/plain` body is what a cross-site
    // form can send without a preflight, so it must never reach these routes (415).
    scope.removeAllContentTypeParsers();
    useStrictJson(scope);
    // Each route's origin check knows at registration whether the route is a CORS one, so
    // no request reads the route's options. Synchronous, callback style: an async hook costs
    // a promise and a microtask turn on every request, and this one has nothing to wait
    // for. Every answer of these routes, errors included, is `no-store` (the JWKS sets its own).
    const originCheck =
      (cors: () => boolean) => (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
        reply.header("cache-control", "no-store");
        done(guest.originRefusal(request, cors));
      };
    const checkCorsRoute = originCheck(() => true);
    const checkRoute = originCheck(() => false);
    const add = (target: FastifyInstance, spec: RouteSpec) =>
      target.route({
        method: spec.method,
        url: routePath(spec, guest.prefix),
        schema: spec.schema,
        attachValidation: spec.bodyCheckedByHandler === true,
        // The contract's limit, whatever the host's.
        bodyLimit: BODY_LIMIT,
        config: { latchkeyCors: spec.cors === true },
        onRequest: spec.cors ? checkCorsRoute : checkRoute,
        ...(spec.auth && { preHandler: requireAuth }),
        // A Fastify request and reply are an `AuthRequest` and an `AuthReply` already.
        handler: (spec.streams ? streaming(spec.handler, streams) : spec.handler) as unknown as RouteHandlerMethod,
      });
    for (const spec of guest.routes) if (!spec.forms) add(scope, spec);
    // The OAuth endpoints also take forms, in a scope of their own so no other route does.
    await scope.register(async (forms) => {
      forms.addContentTypeParser(FORM_TYPE, { parseAs: "string" }, (_request, body, done) => {
        try {
          done(null, parseForm(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      });
      for (const spec of guest.routes) if (spec.forms) add(forms, spec);
    });
  });
}

/**
 * A route handler that may answer with an `EventStream`: the reply is taken over from
 * Fastify and the events written as they come, until the client goes away.
 */
function streaming(handler: RouteSpec["handler"], open: Map<EventStream, Promise<void>>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await handler(request, reply);
    if (!(result instanceof EventStream)) return result;
    reply.hijack();
    const raw = reply.raw;
    // The connection is the stream's alone: when the stream ends, so does the connection
    // (a server closing would otherwise wait on it, idle, until its keep-alive ran out).
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...EVENT_STREAM_HEADERS,
      connection: "close",
    });
    // A HEAD is answered as a HEAD: the stream's status and headers, nothing held open.
    if (request.method === "HEAD") {
      result.close();
      raw.end();
      return reply;
    }
    const written = writeEventStream(result, raw, (error) =>
      request.log.warn({ err: error }, "event stream failed"),
    ).finally(() => open.delete(result));
    open.set(result, written);
    await written;
    return reply;
  };
}

/**
 * The plugin (wrapped with `fastify-plugin`, so its hooks and decorators reach the routes
 * of the app that registers it).
 * @example
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example", strategy: "jwt" });
 */
export const latchkey = fp(latchkeyPlugin, { name: "latchkey", fastify: "5.x" });
