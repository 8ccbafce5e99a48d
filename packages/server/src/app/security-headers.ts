/**
 * Security headers (checklist 43): a Content-Security-Policy without inline script or
 * style, `frame-ancestors 'none'`, nosniff, a Referrer-Policy, and helmet's other
 * defaults, on everything but the JSON API, which gets nosniff, DENY framing and the
 * Referrer-Policy. The header values are computed once, by helmet itself, at start:
 * @fastify/helmet rebuilds helmet's middleware (parsing every CSP directive) on each
 * request, which a CPU profile showed as several percent of a request's cost.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import helmet from "helmet";
import { targetPath } from "latchkey/internal";

const OPTIONS: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      upgradeInsecureRequests: null,
    },
  },
  referrerPolicy: { policy: "no-referrer" },
  frameguard: { action: "deny" },
  // The pages are served over http on localhost too; HSTS belongs to the TLS proxy.
  strictTransportSecurity: false,
};

/** The headers helmet sets with latchkey's options, as a plain object. */
export function computeSecurityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(OPTIONS)({} as never, response as never, () => {});
  return headers;
}

/**
 * @example
 * registerSecurityHeaders(app);
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const all = computeSecurityHeaders();
  // JSON answers need no page policy (CSP, COOP, ...): only what guards a response that a
  // browser might still sniff, frame or leak a referrer from. Fewer bytes on every API call.
  const api = {
    "x-content-type-options": all["x-content-type-options"] as string,
    "x-frame-options": all["x-frame-options"] as string,
    "referrer-policy": all["referrer-policy"] as string,
  };
  const isApi = (path: string) => path.startsWith("/api/") || path.startsWith("/auth/");
  // Decided once per route, when it is added, by its path (see
  // packages/latchkey/src/http/paths.ts): every route registered after this gets the hook
  // for its set.
  const setApi = (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.headers(api);
    done();
  };
  const setAll = (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.headers(all);
    done();
  };
  app.addHook("onRoute", (route) => {
    const hook = isApi(route.url) ? setApi : setAll;
    route.onRequest = route.onRequest ? [hook, ...[route.onRequest].flat()] : [hook];
  });
  // Answers no route gives (404, 405, a body the parser refused before routing).
  app.addHook("onRequest", (request, reply, done) => {
    if (request.is404) reply.headers(isApi(targetPath(request.url)) ? api : all);
    done();
  });
}
