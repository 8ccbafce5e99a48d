/**
 * What answers when no route does: 405 for a known path with another method, 404
 * otherwise, and the contract's error body for requests Node's HTTP parser refuses.
 */
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorBody, targetPath } from "latchkey/internal";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * @example
 * app.setNotFoundHandler(methodNotAllowedOrNotFound(app));
 */
export function methodNotAllowedOrNotFound(app: FastifyInstance) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = targetPath(request.url);
    if (path.startsWith("/auth/")) reply.header("cache-control", "no-store");
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send(errorBody("method_not_allowed", `Use ${allowed.join(" or ")} on this route.`));
      return;
    }
    reply.code(404).send(errorBody("not_found", "Not found."));
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
