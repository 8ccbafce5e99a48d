/**
 * The product: configuration + stores + core + the latchkey plugin + the to-do routes +
 * the web app, as one Fastify server.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyCors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { Clock, MailTransport, PasswordHasher, Stores } from "latchkey";
import { type Auth, type AuthObserver, combineObservers, createAuth, errorResponses } from "latchkey";
import { handleError, latchkey, useStrictJson } from "latchkey/fastify";
import { BODY_LIMIT, cookieNames, SECURITY, securitySchemes } from "latchkey/internal";
import pino from "pino";
import type { Registry } from "prom-client";
import { authOptionsFrom, factorKeyFallback } from "./auth-options.js";
import type { Config } from "./config.js";
import { registerSetCookieNames } from "./cookie-names-header.js";
import { demoCompareRoute } from "./demo-compare.js";
import { connectionDrain } from "./drain.js";
import { clientErrorHandler, methodNotAllowedOrNotFound } from "./fallbacks.js";
import { labRoutes } from "./lab.js";
import { loggerOptions } from "./logging.js";
import { configuredTransport, describeTransport, givenTransport } from "./mail.js";
import { createMetrics } from "./metrics.js";
import { lazyChildLogger } from "./request-logger.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { openConfiguredStores } from "./stores.js";
import { openTodoStore, type TodoStore } from "./todo-store.js";
import { todoRoutes } from "./todos.js";
import { startTracing, tracingConfigured } from "./tracing.js";

/** The request body limit of the contract (latchkey's routes set it on their own too). */
export { BODY_LIMIT };

/** What `buildServer` returns. */
export interface Server {
  app: FastifyInstance;
  auth: Auth;
  /** The product's to-dos (its own table, beside latchkey's). */
  todos: TodoStore;
  /** Every route registered (HEAD included), and whether the OpenAPI document shows it. */
  routes: readonly RegisteredRoute[];
  /** The Prometheus registry when `METRICS_PORT` is set (`serve` serves it there), else `null`. */
  metrics: Registry | null;
  /**
   * Marks the instance as stopping: `GET /readyz` answers `503 draining` from now on, so a
   * balancer stops sending it traffic, while it goes on serving what it is sent.
   */
  drain(): void;
  /** Closes the HTTP server (finishing requests in flight), then the stores. */
  close(): Promise<void>;
}

/** A route of the app, as registered. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** `false` for routes kept out of the OpenAPI document (the web app's pages, its assets, the docs UI). */
  documented: boolean;
}

/** Options of `buildServer`; tests inject stores, a clock, a hasher, a log stream. */
export interface BuildOptions {
  config: Config;
  stores?: Stores;
  clock?: Clock;
  hasher?: PasswordHasher;
  /** Replaces the pino options (tests capture the log with a stream). */
  logger?: FastifyServerOptions["loggerInstance"];
  /** Replaces the configured mail transport (tests capture messages in the process). */
  mailTransport?: MailTransport;
}

/** The built web app (`npm run build:web`). */
const WEB_DIR = fileURLToPath(new URL("../../web/dist/", import.meta.url));
/** The web app's pages: each serves the app's index.html, which routes on the client. */
export const APP_PAGES = [
  "/signin",
  "/signup",
  "/todos",
  "/devices",
  "/security",
  "/how-it-works",
  "/admin",
  "/compare",
  "/lab",
  "/forgot-password",
  "/reset-password",
  "/verify-email",
  "/revert-email",
];

/**
 * @example
 * const { app, close } = await buildServer({ config: loadConfig(process.env) });
 * await app.listen({ port: 3000 });
 */
export async function buildServer(options: BuildOptions): Promise<Server> {
  const { config } = options;
  // One logger from the start, so the stores' connection errors are JSON lines like the rest.
  const logger = options.logger ?? pino(loggerOptions(config.logLevel));
  const stores = options.stores ?? (await openConfiguredStores(config, logger));
  // Metrics only when asked for (METRICS_PORT): their hooks cost every request a little.
  const metrics = config.metricsPort > 0 ? createMetrics() : null;
  // Traces only when the OTEL_* variables configure an exporter; the SDK is not loaded otherwise.
  const tracing = tracingConfigured(process.env) ? await startTracing(process.env) : null;
  const observers = [metrics?.observer, tracing?.observer].filter((o): o is AuthObserver => o !== undefined);
  // Until the server listens on a port-0 config, its origin is not known: resolve lazily.
  let app: FastifyInstance | undefined;
  const publicOrigin = (): string =>
    config.publicOrigin ?? `http://localhost:${(app && listeningPort(app)) ?? config.port}`;
  // Mail leaves through SMTP, or lands in the outbox folder; which one, the log says at start.
  const transport = options.mailTransport ? givenTransport(options.mailTransport) : configuredTransport(config, logger);
  // (No `port` key: the start line's `"port"` is the one tests and scripts read.)
  logger.info({ mail: transport.describe }, `mail transport: ${describeTransport(transport.describe)}`);
  // Without MFA_KEYS, TOTP secrets are sealed under a key the database keeps: fine for
  // development, said loudly for production.
  const factorKey = await factorKeyFallback(stores);
  if (!config.mfaKeys && process.env.NODE_ENV === "production") {
    logger.warn("MFA_KEYS is unset: authenticator apps' secrets are sealed under a key kept in the database itself");
  }
  // Hours or minutes are for a log kept briefly on purpose: said at start, in case not.
  if (config.eventRetention < 1) {
    const minutes = Math.round(config.eventRetention * 1440);
    logger.warn(`EVENT_RETENTION keeps the security log ${minutes} minute(s): older events are deleted at each sweep`);
  }
  const auth = await createAuth({
    ...authOptionsFrom(config, stores, {
      issuer: publicOrigin,
      mail: { transport, log: logger },
      factorKey,
    }),
    clock: options.clock,
    hasher: options.hasher,
    ...(observers.length > 0 && { observer: combineObservers(...observers) }),
  });

  const drain = connectionDrain();
  app = Fastify({
    loggerInstance: logger,
    childLoggerFactory: lazyChildLogger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: BODY_LIMIT,
    // Types are checked, never coerced: `{"username": 123}` is a 400, not "123".
    ajv: { customOptions: { coerceTypes: false } },
    clientErrorHandler,
    return503OnClosing: true,
    // Slow clients (a body sent one byte every few seconds) must not hold a connection for
    // ever: the whole request, headers and body, has `requestTimeout` seconds (408, then
    // the connection closes); a socket with no traffic for `idleTimeout` is closed; an idle
    // keep-alive connection for `keepAliveTimeout`. Node checks the request deadline every
    // `connectionsCheckingInterval`, by default 30 s: once a second here.
    requestTimeout: config.requestTimeout * 1000,
    connectionTimeout: config.idleTimeout * 1000,
    keepAliveTimeout: config.keepAliveTimeout * 1000,
    // Closing closes the idle connections; the answers sent from then on close theirs.
    forceCloseConnections: "idle",
    http: {
      headersTimeout: config.requestTimeout * 1000,
      connectionsCheckingInterval: Math.min(1000, config.requestTimeout * 250),
      ServerResponse: drain.ServerResponse,
    },
  });
  const server = app.server;
  drain.watch(server);
  if (metrics) {
    metrics.instrument(app);
    metrics.follow(auth);
  }
  tracing?.instrument(app);
  app.addHook("preClose", async () => drain.start(server));
  // Every route the app registers, for the test that holds the OpenAPI document to them.
  const routes: RegisteredRoute[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      routes.push({
        method,
        url: route.url,
        documented: (route.schema as { hide?: boolean } | undefined)?.hide !== true,
      });
    }
  });
  // JSON only: anything else is 415 (a form post from another site included); malformed
  // UTF-8 is a 400, never silently replaced.
  app.removeContentTypeParser(["text/plain"]);
  useStrictJson(app);

  // The product answers every error of its own routes (to-dos, 404s, the parser's) in the
  // contract's format too; the plugin scopes its handler to latchkey's routes.
  app.setErrorHandler(handleError);
  registerSecurityHeaders(app);
  // Which cookies an answer sets, by name, for the web app's live log of its auth traffic.
  registerSetCookieNames(app);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "latchkey",
        version: "1",
        description:
          'Cookie sessions, JWT with rotating refresh tokens, or a hybrid, behind one HTTP API: the contract of latchkey\'s server and of its library adapters. Errors are `{"error":{"code","message"}}` with a stable code.',
        license: { name: "MIT", identifier: "MIT" },
      },
      components: { securitySchemes: securitySchemes(cookieNames(config.cookieSecure)) as never },
      tags: [
        { name: "auth", description: "Logging in and out, and the caller's sessions (devices)." },
        { name: "account", description: "The account: creating it, its security log, its password, deleting it." },
        {
          name: "email",
          description:
            "The account's email address and the mailed links: verifying an address, resetting a forgotten password, undoing an email change.",
        },
        {
          name: "tokens",
          description: "Bearer tokens for API clients and other services, and the keys that verify them.",
        },
        { name: "explain", description: "What the deployment does, for clients that explain it." },
        {
          name: "admin",
          description:
            "Administration: users, their sessions and roles, and the audit log; each operation needs a permission.",
        },
        { name: "todos", description: "The demo app's resource: each user's to-do list." },
        {
          name: "demo",
          description: "The web app's teaching aids: the strategies compared on throwaway in-process instances.",
        },
        { name: "health", description: "For load balancers and monitors." },
      ],
    },
    // Shared schemas keep their names (`User`, `Session`, ...), which generated clients use:
    // latchkey's (`latchkey.User`) without the prefix that keeps them apart in Fastify.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`).replace(/^latchkey\./, ""),
    },
    // Known only once the app is built (the origin of a port-0 server, once it listens).
    transformObject: (document) => {
      const openapi = "openapiObject" in document ? document.openapiObject : {};
      return {
        ...openapi,
        servers: [{ url: publicOrigin(), description: "PUBLIC_ORIGIN" }],
      } as typeof openapi;
    },
  });
  // The UI's own CSP would allow framing and remote fonts; helmet's stricter one applies.
  await app.register(fastifySwaggerUi, {
    routePrefix: "/docs",
    staticCSP: false,
    uiConfig: { validatorUrl: null },
  });

  // CORS for the whole API, the to-dos included (latchkey's own CORS covers its routes
  // alone): CORS_ORIGINS' scripts call with bearer tokens, never with credentials;
  // TRUSTED_ORIGINS' pages (same-site, checked at start) make cookie requests too, with
  // the CSRF header. The origin is echoed, never `*`, and answers vary by Origin.
  if (config.corsOrigins.length > 0 || config.trustedOrigins.length > 0) {
    const trusted = new Set(config.trustedOrigins);
    const bearer = new Set(config.corsOrigins);
    const base = {
      methods: ["GET", "POST", "PATCH", "DELETE"],
      exposedHeaders: ["retry-after", "www-authenticate", "latchkey-session-ended"],
      maxAge: 600,
    };
    await app.register(fastifyCors, {
      delegator: (request, callback) => {
        const origin = request.headers.origin;
        if (origin !== undefined && trusted.has(origin)) {
          callback(null, {
            ...base,
            origin,
            credentials: true,
            allowedHeaders: ["authorization", "content-type", "x-csrf-token", "x-requested-with"],
          });
        } else {
          callback(null, {
            ...base,
            origin: origin !== undefined && bearer.has(origin) ? origin : false,
            credentials: false,
            allowedHeaders: ["authorization", "content-type"],
          });
        }
      },
    });
  }
  await app.register(latchkey, {
    auth,
    publicOrigin,
    strategy: config.strategy,
    cookieSecure: config.cookieSecure,
    corsOrigins: config.corsOrigins,
    trustedOrigins: config.trustedOrigins,
    maintenance: { intervalMs: config.sweepInterval * 1000 },
    policy: {
      revocation: config.revocation,
      accessTokenTtl: config.accessTokenTtl,
      sessionIdleTimeout: config.sessionIdleTimeout,
      sessionAbsoluteTimeout: config.sessionAbsoluteTimeout,
      rememberIdleTimeout: config.rememberIdleTimeout,
      rememberAbsoluteTimeout: config.rememberAbsoluteTimeout,
      refreshReuseLeeway: config.refreshReuseLeeway,
    },
  });
  const todos = await openTodoStore(stores);
  await app.register(todoRoutes, { todos, now: () => auth.clock.now() });
  // The web app's "Compare the strategies" and insecure lab pages: throwaway instances and
  // fake tokens only, never this server's stores or a real credential.
  await app.register(demoCompareRoute);
  await app.register(labRoutes);

  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        operationId: "getHealth",
        summary: "Whether this instance can reach its stores",
        description: "200 while every store answers; 503 otherwise, so a load balancer takes the instance out.",
        security: SECURITY.none,
        response: {
          200: Type.Object({ status: Type.Literal("ok") }),
          503: Type.Object(
            { status: Type.Literal("unavailable"), reason: Type.String() },
            { description: "A store does not answer." },
          ),
          ...errorResponses(431),
        },
      },
    },
    async (_request, reply) => {
      try {
        await stores.ping();
        return { status: "ok" };
      } catch {
        return reply.code(503).send({ status: "unavailable", reason: "store unreachable" });
      }
    },
  );
  // Readiness, for a balancer: ready to take traffic. Not ready while draining (from the
  // signal that stops the server), while a store does not answer, or while the change feed
  // is not followed; `/healthz` above stays the liveness check.
  let draining = false;
  app.get(
    "/readyz",
    {
      schema: {
        tags: ["health"],
        operationId: "getReadiness",
        summary: "Whether this instance should be sent traffic",
        description:
          "200 while its stores answer and it follows the change feed (read within the last 5 s); 503 from the moment it is told to stop (SIGTERM: it keeps serving for `SHUTDOWN_DELAY` seconds, then closes), or while a store or the feed is out of reach. Migrations are applied before the server listens.",
        security: SECURITY.none,
        response: {
          200: Type.Object({ status: Type.Literal("ready") }),
          503: Type.Object(
            {
              status: Type.Literal("not_ready"),
              reasons: Type.Array(
                Type.Unsafe<string>({ type: "string", enum: ["draining", "store_unreachable", "feed_behind"] }),
                {
                  description:
                    "`draining`: the instance is stopping; `store_unreachable`: a store does not answer; `feed_behind`: the change feed has not been read within 5 s.",
                },
              ),
            },
            { description: "Take the instance out of the pool." },
          ),
          ...errorResponses(431),
        },
      },
    },
    async (_request, reply) => {
      const { reasons } = await auth.readiness();
      const all = draining ? ["draining", ...reasons] : reasons;
      reply.header("cache-control", "no-store");
      if (all.length === 0) return { status: "ready" };
      return reply.code(503).send({ status: "not_ready", reasons: all });
    },
  );
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  const appPage = await registerWebApp(app);
  // A browser asking for a page that is not there gets the app's own not-found page.
  app.setNotFoundHandler(methodNotAllowedOrNotFound(app, { appPage }));

  let closed = false;
  return {
    app,
    auth,
    todos,
    routes,
    metrics: metrics?.registry ?? null,
    drain() {
      if (draining) return;
      draining = true;
      logger.info("draining: /readyz answers 503 from now on");
    },
    async close() {
      if (closed) return;
      closed = true;
      // The documented order (docs/library.md, "Shutting down"): the HTTP side, then what
      // createAuth started (its mail queue), the SMTP pool, then the stores.
      await app.close();
      await auth.close();
      await transport.close();
      await stores.close();
      await tracing?.shutdown();
    },
  };
}

/** Serves the built web app; answers its `index.html`, or `undefined` when it is not built. */
async function registerWebApp(app: FastifyInstance): Promise<string | undefined> {
  if (!existsSync(`${WEB_DIR}index.html`)) {
    app.log.warn("the web app is not built (npm run build:web); serving the API only");
    app.get("/", { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type("text/html")
        .send(
          '<!doctype html><title>latchkey</title><p>The web app is not built: run <code>npm run build</code>. The API is at <a href="/docs">/docs</a>.</p>',
        ),
    );
    return undefined;
  }
  await app.register(fastifyStatic, {
    root: WEB_DIR,
    wildcard: false,
    // Hashed asset names never change content: cache them for a year; the page itself never.
    setHeaders(res, path) {
      res.header("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
  for (const page of APP_PAGES) {
    app.get(page, { schema: { hide: true } }, (_request, reply) =>
      reply.header("cache-control", "no-cache").sendFile("index.html"),
    );
  }
  return `${WEB_DIR}index.html`;
}

/**
 * Fastify's `trustProxy` for the configuration: a list as it is; a hop count as a
 * function trusting the `hops` nearest addresses (the socket's peer is hop 0), which is
 * how Express counts hops (Fastify 5 refuses a bare number and trusts nothing with it).
 */
function trustProxyOption(trust: Config["trustProxy"]): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== "number") return trust;
  return (_address, hop) => hop < trust;
}

function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return typeof address === "object" && address !== null ? address.port : undefined;
}
