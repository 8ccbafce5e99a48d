/**
 * What latchkey/fastify gives the app's own routes: the `preHandler`s the plugin decorates
 * the app with (`requireAuth`, `optionalAuth`, `requireAuthWith`), an error handler in the
 * contract's format, and strict JSON parsing.
 */
import { serialize as serializeCookie } from "cookie";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { AuthError } from "../core/errors.js";
import { RENEWED_CACHE_CONTROL } from "../http/answer.js";
import type { Dispatcher } from "../http/dispatch.js";
import { errorAnswer, errorBody, INTERNAL_ERROR, logAuthError, statusErrorAnswer } from "../http/errors.js";
import type { Guest } from "../http/guest.js";
import type { CookieSink } from "../http/kit.js";
import { authenticateOptionally } from "../http/optional-auth.js";
import { type RefusalMode, redirectLocation } from "../http/refusal.js";
import { authRequestOf } from "../http/request.js";
import type { Requirement } from "../http/requirement.js";

/**
 * The host's `preHandler`s: `requireAuth` (`{ kind: "next" }`: a refusal is thrown to the
 * app's error handler), `optionalAuth`, and `requireAuthWith`'s other modes.
 */
export function hostGuard(core: Dispatcher, guest: Guest) {
  return (mode: RefusalMode | "optional", requirement?: Requirement): preHandlerAsyncHookHandler =>
    async (request, reply) => {
      const authRequest = authRequestOf(request.method, request.headers, request.ip);
      const corsRoute = () => request.routeOptions.config.latchkeyCors === true;
      const authenticate = () => core.authenticate(authRequest, cookieSinkOf(reply), corsRoute);
      try {
        if (mode === "optional") request.auth = await authenticateOptionally(guest.context, authRequest, authenticate);
        else {
          const who = await authenticate();
          requirement?.(who);
          request.auth = who;
        }
      } catch (error) {
        if (mode === "optional" || mode.kind === "next") {
          // An error answer is never cached, whatever route it comes from.
          reply.header("cache-control", "no-store");
          throw error;
        }
        const location = redirectLocation(mode, request.method, request.url, error);
        if (location !== null) {
          return reply.code(303).header("location", location).header("cache-control", "no-store").send();
        }
        // Sent as text: the route's own response schemas are the host's, not the error's.
        const answer = core.errorAnswer(error, undefined, request.log);
        reply.code(answer.status);
        for (const [name, value] of answer.headers) reply.header(name, value);
        return reply.send(answer.body);
      }
    };
}

/**
 * A hybrid renewal's cookie, straight onto the reply, which a cache must then not keep
 * (`RENEWED_CACHE_CONTROL`).
 */
function cookieSinkOf(reply: FastifyReply): CookieSink {
  const sink: CookieSink = {
    setCookie(name, value, options) {
      reply.header("set-cookie", serializeCookie(name, value, options));
      reply.header("cache-control", RENEWED_CACHE_CONTROL);
      return sink as never;
    },
  };
  return sink;
}

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
