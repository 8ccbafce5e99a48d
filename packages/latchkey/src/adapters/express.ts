/**
 * latchkey for Express 5: a middleware that answers latchkey's routes (and passes every
 * other request on), and `requireAuth`, `optionalAuth` and `requireAuthWith` for the app's
 * own routes. Express itself is not imported: the adapter works on the request and
 * response it is handed.
 *
 * @example
 * import express from "express";
 * import { latchkeyExpress } from "latchkey/express";
 *
 * const app = express();
 * const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * app.use(latchkey.routes);
 * app.use(express.json());
 * app.get("/api/profile", latchkey.requireAuth, (req, res) => {
 *   res.json({ user: req.auth?.userId });
 * });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { LatchkeySetupError } from "../core/errors.js";
import { addVary, RENEWED_CACHE_CONTROL } from "../http/answer.js";
import type { RequestAuth } from "../http/context.js";
import { type Answer, CollectingReply, Dispatcher, type GuestLog } from "../http/dispatch.js";
import { type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import { closeWhenAnswered, readNodeBody } from "../http/node-body.js";
import { writeEventStream } from "../http/node-stream.js";
import { authenticateOptionally } from "../http/optional-auth.js";
import { type RefusalMode, type RefusalOptions, redirectLocation, refusalMode } from "../http/refusal.js";
import { authRequestOf } from "../http/request.js";
import { type Requirement, requirementOf } from "../http/requirement.js";
import { bodyReadBeforeLatchkey, logOnce, mountCheck } from "./setup-checks.js";

/**
 * The parts of Express's request the adapter reads. Each optional field also takes
 * `undefined`, as Express declares them, so an Express app compiles under
 * `exactOptionalPropertyTypes`.
 * @example
 * const who = (req: ExpressRequestLike): string => req.auth?.userId ?? "nobody";
 */
export interface ExpressRequestLike extends IncomingMessage {
  /** The path as sent, query included (Express keeps it when a router strips a mount path). */
  originalUrl?: string | undefined;
  /** The path the middleware is mounted at (`app.use("/v1", ...)`); `""` at the root. */
  baseUrl?: string | undefined;
  /** The client's address, as far as the app's `trust proxy` setting believes. */
  ip?: string | undefined;
  body?: unknown;
  auth?: RequestAuth | null | undefined;
}

type Next = (error?: unknown) => void;

/**
 * A middleware of latchkey's, as Express calls it.
 * @example
 * const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * const guard: ExpressMiddleware = latchkey.requireAuthWith({ redirect: "/sign-in" });
 */
export type ExpressMiddleware = (req: ExpressRequestLike, res: ServerResponse, next: Next) => void;

/**
 * Options of `latchkeyExpress`.
 * @example
 * const options: ExpressOptions = { auth, publicOrigin: "https://app.example", log: console };
 */
export interface ExpressOptions extends LatchkeyOptions {
  /** Where latchkey logs a store outage (`warn`), a bug or a wrong set-up (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * What `latchkeyExpress` returns.
 * @example
 * const latchkey: ExpressLatchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * latchkey.close(); // stops its sweep
 */
export interface ExpressLatchkey {
  /**
   * Answers latchkey's routes; `next()` for every other request. Mount it before any body
   * parser, at the root or at the path of `prefix`; a wrong order or mount is a
   * `LatchkeySetupError` given to `next` (and logged once).
   */
  routes: ExpressMiddleware;
  /**
   * Authenticates the request (`req.auth`) or answers 401/403 in the contract's format;
   * the origin check for unsafe requests comes with it.
   */
  requireAuth: ExpressMiddleware;
  /**
   * Sets `req.auth` to who the request is, or `null`: never refuses a request for having
   * no credential or a dead one. A request that presents one gets `requireAuth`'s origin
   * and CSRF checks (403 when they fail).
   */
  optionalAuth: ExpressMiddleware;
  /**
   * `requireAuth` with another way to refuse: `{ onRefusal: "next" }` hands the `AuthError`
   * (with `statusCode` and `code`) to `next`; `{ redirect: "/sign-in" }` sends a GET with
   * no live session to that page (303, the path asked for as `next`).
   */
  requireAuthWith(options: RefusalOptions): ExpressMiddleware;
  /**
   * `requireAuth`, and the user must have one of `roles` (`403 forbidden` otherwise). An
   * undeclared role is a `TypeError` here, at set-up.
   * @example
   * app.get("/reports", latchkey.requireRole("admin"), (req, res) => res.json({ ok: true }));
   */
  requireRole(...roles: string[]): ExpressMiddleware;
  /**
   * `requireAuth`, and the user's roles must grant every one of `permissions` (`403
   * forbidden` otherwise). An undeclared permission is a `TypeError` here, at set-up.
   * @example
   * app.get("/stats", latchkey.requirePermission("todos:read-any"), (req, res) => res.json({ ok: true }));
   */
  requirePermission(...permissions: string[]): ExpressMiddleware;
  /** Stops the sweep this adapter started (`maintenance`) and ends its event streams. */
  close(): void;
}

declare global {
  namespace Express {
    interface Request {
      /** Who the request is; set by latchkey's `requireAuth` (or `null` by `optionalAuth`). */
      auth?: RequestAuth | null;
    }
  }
}

/**
 * @example
 * const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example", strategy: "jwt" });
 */
export function latchkeyExpress(options: ExpressOptions): ExpressLatchkey {
  const guest = setUpGuest(options);
  const dispatcher = new Dispatcher(guest, options.log);
  const maintenance = startGuestMaintenance(options, options.log);
  const log = options.log;
  const misplaced = mountCheck(guest, {
    factory: "latchkeyExpress",
    mounted: (mount) => `app.use("${mount}", latchkey.routes)`,
  });
  const reportSetup = logOnce(log);
  const fail = (next: Next) => (error: unknown) => {
    if (error instanceof LatchkeySetupError) reportSetup(error);
    next(error);
  };

  const guard = (mode: RefusalMode | "optional", requirement?: Requirement): ExpressMiddleware => {
    return (req, res, next) => {
      const request = authRequestOf(req.method ?? "GET", req.headers, addressOf(req));
      const reply = new CollectingReply();
      const authenticate = () => dispatcher.authenticate(request, reply);
      const who =
        mode === "optional"
          ? authenticateOptionally(guest.context, request, authenticate)
          : requirement
            ? authenticate().then((auth) => {
                requirement(auth);
                return auth;
              })
            : authenticate();
      who
        .then(
          (auth) => {
            req.auth = auth;
            const renewed = reply.cookieHeaders();
            for (const [, line] of renewed) res.appendHeader("set-cookie", line);
            // A response that carries a credential is never kept by a cache.
            if (renewed.length > 0) res.setHeader("cache-control", RENEWED_CACHE_CONTROL);
            next();
          },
          (error: unknown) => {
            // A session cookie renewed before the refusal still goes out (a refusal after
            // the renewal, a 403, must not leave the browser with the superseded secret).
            if (mode !== "optional" && mode.kind === "next") {
              for (const [, line] of reply.cookieHeaders()) res.appendHeader("set-cookie", line);
              return next(error);
            }
            const location =
              mode === "optional" ? null : redirectLocation(mode, req.method ?? "GET", targetOf(req), error);
            if (location === null) return write(res, dispatcher.errorAnswer(error, reply), log);
            for (const [, line] of reply.cookieHeaders()) res.appendHeader("set-cookie", line);
            res.statusCode = 303;
            res.setHeader("location", location);
            res.setHeader("cache-control", "no-store");
            res.end();
          },
        )
        .catch(fail(next));
    };
  };

  return {
    routes(req, res, next) {
      const mistake = misplaced(req.baseUrl ?? "");
      if (mistake) return fail(next)(mistake);
      const target = targetOf(req);
      const queryAt = target.indexOf("?");
      dispatcher
        .dispatch({
          method: req.method ?? "GET",
          path: queryAt < 0 ? target : target.slice(0, queryAt),
          query: new URLSearchParams(queryAt < 0 ? "" : target.slice(queryAt + 1)),
          headers: req.headers,
          ip: addressOf(req),
          readBody: (limit) =>
            bodyTaken(req)
              ? Promise.reject(bodyParsedFirst())
              : readNodeBody(req, req.headers["content-length"], limit, closeWhenAnswered(req, res)),
        })
        .then((answer) => (answer ? write(res, answer, log) : next()))
        .catch(fail(next));
    },
    requireAuth: guard({ kind: "answer" }),
    optionalAuth: guard("optional"),
    requireAuthWith: (refusal) => guard(refusalMode(refusal)),
    requireRole: (...roles) => guard({ kind: "answer" }, requirementOf(options.auth, "role", roles)),
    requirePermission: (...permissions) =>
      guard({ kind: "answer" }, requirementOf(options.auth, "permission", permissions)),
    close() {
      maintenance.stop();
      dispatcher.closeStreams();
    },
  };
}

function targetOf(req: ExpressRequestLike): string {
  return req.originalUrl ?? req.url ?? "/";
}

function addressOf(req: ExpressRequestLike): string {
  return req.ip ?? req.socket.remoteAddress ?? "";
}

/**
 * Whether a body parser got to the request first: body-parser (`express.json()` and the
 * others) sets `req.body` on every request it sees, parsed or not; any other reader leaves
 * the stream read.
 */
function bodyTaken(req: ExpressRequestLike): boolean {
  return "body" in req || req.readableDidRead;
}

function bodyParsedFirst(): LatchkeySetupError {
  return bodyReadBeforeLatchkey(
    "express.json() or another body parser ran first",
    "app.use(latchkey.routes) before app.use(express.json())",
  );
}

function write(res: ServerResponse, answer: Answer, log: GuestLog | undefined): void {
  const { stream } = answer;
  try {
    res.statusCode = answer.status;
    for (const [name, value] of answer.headers) {
      if (name === "set-cookie") res.appendHeader(name, value);
      // A host's middleware may have set `Vary` already (`Accept-Encoding`).
      else if (name === "vary") res.setHeader(name, addVary(res.getHeader(name), value));
      else res.setHeader(name, value);
    }
    if (stream) {
      // The connection is the stream's alone: it closes when the stream ends.
      res.setHeader("connection", "close");
      res.flushHeaders();
    }
  } catch (error) {
    // The core has counted the stream (a service's places are few): it never started.
    stream?.close();
    throw error;
  }
  if (!stream) {
    res.end(answer.body ?? undefined);
    return;
  }
  // Whatever fails while streaming is logged, never left to end the host's process.
  const failed = (error: unknown) => log?.warn({ err: error }, "event stream failed");
  writeEventStream(stream, res, failed).catch(failed);
}
