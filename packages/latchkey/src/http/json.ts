/**
 * A JSON body parser that refuses malformed UTF-8. Node decodes a body as UTF-8 by
 * replacing each invalid byte sequence with U+FFFD, so two different byte strings would
 * reach the handler as one password; a fatal decoder answers `400 invalid_request`
 * instead. The JSON itself is parsed by Fastify's own parser (prototype poisoning refused).
 */
import type { FastifyInstance } from "fastify";
import { AuthError } from "../core/errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Replaces `application/json` parsing in `fastify`'s scope (and its children).
 *
 * @example
 * useStrictJson(fastify);
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
