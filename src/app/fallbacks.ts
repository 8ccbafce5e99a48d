/**
 * What answers when no route does: 405 for a known path with another method, 404
 * otherwise, and the contract's error body for requests Node's HTTP parser refuses.
 */
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorBody } from "../http/errors.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * @example
 * app.setNotFoundHandler(methodNotAllowedOrNotFound(app));
 */
export function methodNotAllowedOrNotFound(app: FastifyInstance) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?", 1)[0] ?? "/";
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

/**
 * Node refuses some requests before Fastify sees them (headers over 16 KiB, a malformed
 * request line); answer those in the contract's format too, then close.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request";
  const body = JSON.stringify(
    tooLarge
      ? errorBody("request_header_too_large", "The request headers are too large.")
      : errorBody("invalid_request", "The request is malformed."),
  );
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
