/**
 * The latchkey Fastify plugin: cookie parsing, the origin and CSRF checks, `request.auth`
 * and the `requireAuth` hook, the `/auth/*` routes, and the contract's error format. It
 * receives the core (`createAuth`) with its stores; it never opens a store itself.
 *
 * @example
 * const auth = await createAuth({ stores, sessions: DEFAULT_SESSION_POLICY, throttle: DEFAULT_THROTTLE_POLICY });
 * await app.register(latchkey, { auth, publicOrigin: "http://localhost:3000" });
 * app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => request.auth?.user.username);
 */
import fastifyCookie from "@fastify/cookie";
import fastifyCors from "@fastify/cors";
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import type { Auth } from "../core/auth.js";
import { AuthError } from "../core/errors.js";
import { LatchkeyContext, type RequestAuth, type Strategy } from "./context.js";
import { handleError } from "./errors.js";
import { isCrossSite, isUnsafeMethod, parseOrigin } from "./origin.js";
import { authRoutes } from "./routes/auth.js";
import { explainRoutes, type PolicyInfo } from "./routes/explain.js";
import { tokenRoutes } from "./routes/tokens.js";
import { SHARED_SCHEMAS } from "./schemas.js";

/** Options of the plugin, validated when it registers. */
export interface LatchkeyPluginOptions {
  auth: Auth;
  /**
   * The origin browsers use; unsafe requests from any other are refused. A function is
   * read on first use (for a server on port 0, whose origin is known once it listens).
   */
  publicOrigin: string | (() => string);
  /** What a browser login sets. Default `session`. */
  strategy?: Strategy;
  /** `false` drops `Secure` and the `__Host-` prefix. Default `true`. */
  cookieSecure?: boolean;
  /** When given, `GET /auth/info` publishes it (the web app's "how it works" page reads it). */
  policy?: Omit<PolicyInfo, "strategy">;
  /** Origins whose scripts may call with bearer tokens (CORS without credentials). */
  corsOrigins?: readonly string[];
  /**
   * The sweep of expired sessions, throttle counters, old change-feed rows and spent
   * signing keys, run inside this process and stopped when the app closes. Default on,
   * every 60 s; `false` when you run `auth.startMaintenance()` elsewhere.
   */
  maintenance?: boolean | { intervalMs?: number };
}

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

const STRATEGIES: readonly Strategy[] = ["session", "jwt", "hybrid"];

async function latchkeyPlugin(fastify: FastifyInstance, options: LatchkeyPluginOptions): Promise<void> {
  let resolvedOrigin = typeof options.publicOrigin === "string" ? parseOrigin(options.publicOrigin) : undefined;
  const publicOrigin = (): string => {
    resolvedOrigin ??= parseOrigin((options.publicOrigin as () => string)());
    return resolvedOrigin;
  };
  const strategy = options.strategy ?? "session";
  if (!STRATEGIES.includes(strategy)) throw new TypeError(`latchkey: unknown strategy "${strategy}"`);
  const corsOrigins = new Set((options.corsOrigins ?? []).map(parseOrigin));
  const context = new LatchkeyContext({
    auth: options.auth,
    strategy,
    cookieSecure: options.cookieSecure ?? true,
  });

  if (!fastify.hasRequestDecorator("cookies")) await fastify.register(fastifyCookie);
  if (corsOrigins.size > 0) {
    await fastify.register(fastifyCors, {
      origin: [...corsOrigins],
      credentials: false,
      methods: ["GET", "POST", "PATCH", "DELETE"],
      allowedHeaders: ["authorization", "content-type"],
      exposedHeaders: ["retry-after", "www-authenticate"],
      maxAge: 600,
    });
  }
  for (const schema of SHARED_SCHEMAS) fastify.addSchema(schema);

  /** The cross-site refusal of section 6 for an unsafe request, or `undefined`. */
  const originRefusal = (request: FastifyRequest, reply: FastifyReply): AuthError | undefined => {
    if (!isUnsafeMethod(request.method)) return undefined;
    const origin = request.headers.origin;
    const fetchSite = request.headers["sec-fetch-site"];
    if (!isCrossSite({ origin, fetchSite: typeof fetchSite === "string" ? fetchSite : undefined }, publicOrigin())) {
      return undefined;
    }
    // A CORS origin may call what needs no cookie: bearer requests, and routes that say so.
    const corsAllowed =
      origin !== undefined &&
      corsOrigins.has(origin) &&
      (request.headers.authorization !== undefined || request.routeOptions.config.latchkeyCors === true);
    if (corsAllowed) return undefined;
    // An error answer is never cached, whatever route it comes from.
    reply.header("cache-control", "no-store");
    return new AuthError("forbidden_origin", "Cross-site requests are not allowed.");
  };

  fastify.decorate("latchkey", context);
  fastify.decorateRequest("auth", null);
  // A guest's checks run where they are asked for: a host route that uses `requireAuth`
  // gets the origin check with it, and no other host route is touched.
  fastify.decorate("requireAuth", async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = originRefusal(request, reply);
    if (refused) throw refused;
    request.auth = await context.authenticate(request, reply);
  });

  if (options.maintenance !== false) {
    const intervalMs = typeof options.maintenance === "object" ? options.maintenance.intervalMs : undefined;
    const maintenance = options.auth.startMaintenance({ log: fastify.log, intervalMs });
    fastify.addHook("onClose", async () => maintenance.stop());
  }

  // latchkey's own routes live in a scope of their own: its error handler (the contract's
  // error format) and its origin check apply to them alone, never to the host's routes.
  await fastify.register(async (scope) => {
    scope.setErrorHandler(handleError);
    // Synchronous, callback style: an async hook costs a promise and a microtask turn on
    // every request, and this one has nothing to wait for.
    scope.addHook("onRequest", (request, reply, done) => done(originRefusal(request, reply)));
    await scope.register(authRoutes, { context });
    await scope.register(tokenRoutes, { context });
    if (options.policy) await scope.register(explainRoutes, { context, policy: options.policy });
  });
}

/**
 * The plugin (wrapped with `fastify-plugin`, so its hooks and decorators reach the routes
 * of the app that registers it).
 */
export const latchkey = fp(latchkeyPlugin, { name: "latchkey", fastify: "5.x" });
