/**
 * What answers when no route does: 405 for a known path with another method, 404
 * otherwise (the web app's own not-found page for a browser, the contract's JSON for
 * everyone else), and the contract's error body for requests Node's HTTP parser refuses.
 */
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { negotiate } from "@fastify/accept-negotiator";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorBody, targetPath } from "latchkey/internal";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * Where the API, its documents and its probes live (a path's first segment): an unknown
 * path there is the contract's JSON 404 whoever asks, since a mistyped API call must not
 * come back as a page. `/admin` itself is the app's page, a route of its own; what is
 * under `/admin/` is the admin API.
 */
const API_SEGMENTS = new Set(["auth", "api", ".well-known", "docs", "openapi.json", "healthz", "readyz"]);

/** Options of `methodNotAllowedOrNotFound`. */
export interface NotFoundOptions {
  /**
   * The web app's `index.html`, served with status 404 to a browser that asks for a page
   * that is not there, so the app shows its own not-found page. Without it (the app not
   * built), every 404 is the contract's JSON.
   */
  appPage?: string;
}

/** Whether an unknown path could be a person's page: a GET or HEAD outside the API. */
function pageAddress(method: string, path: string): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  return !API_SEGMENTS.has(path.split("/", 2)[1] ?? "") && !path.startsWith("/admin/");
}

/**
 * Whether `Accept` ranks `text/html` first, as a browser's navigation does; `fetch`, curl
 * and API clients send a wildcard, `application/json` or nothing, and keep the JSON.
 */
function prefersHtml(accept: string | undefined): boolean {
  return negotiate(accept ?? "", ["text/html", "application/json"]) === "text/html";
}

/**
 * @example
 * app.setNotFoundHandler(methodNotAllowedOrNotFound(app, { appPage: `${WEB_DIR}index.html` }));
 */
export function methodNotAllowedOrNotFound(app: FastifyInstance, options: NotFoundOptions = {}) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const path = targetPath(request.url);
    if (path.startsWith("/auth/")) reply.header("cache-control", "no-store");
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send(errorBody("method_not_allowed", `Use ${allowed.join(" or ")} on this route.`));
    }
    if (options.appPage !== undefined && pageAddress(request.method, path)) {
      // The same address answers a page or JSON by its Accept: caches must keep both apart
      // (added to what CORS may have set, `Vary: Origin`).
      reply.header("vary", [reply.getHeader("vary"), "Accept"].filter(Boolean).join(", "));
      // Read on each answer, as the pages' own routes do, so a rebuilt app is served at once;
      // not through `sendFile`, whose conditional answers (304, 206) would empty a 404.
      const page = prefersHtml(request.headers.accept) ? await readFile(options.appPage).catch(() => null) : null;
      if (page !== null) {
        return reply.code(404).type("text/html; charset=utf-8").header("cache-control", "no-cache").send(page);
      }
    }
    return reply.code(404).send(errorBody("not_found", "Not found."));
  };
}

/** How Node's own refusals are answered: status line, code, message. */
const CLIENT_ERRORS: Record<string, [string, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    "431 Request Header Fields Too Large",
    "request_header_too_large",
    "The request headers are too large.",
  ],
  // REQUEST_TIMEOUT: the request (headers and body) did not arrive within its time.
  ERR_HTTP_REQUEST_TIMEOUT: ["408 Request Timeout", "request_timeout", "The request took too long to arrive."],
};
const MALFORMED: [string, string, string] = ["400 Bad Request", "invalid_request", "The request is malformed."];

/**
 * Node refuses some requests before Fastify sees them (headers over 16 KiB, a malformed
 * request line, a request slower than `REQUEST_TIMEOUT`); answer those in the contract's
 * format too, then close.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ""] ?? MALFORMED;
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
