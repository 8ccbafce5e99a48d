/**
 * latchkey for Express 5: a middleware that answers latchkey's routes (and passes every
 * other request on), and `requireAuth` for the app's own routes. Express itself is not
 * imported: the adapter works on the request and response it is handed.
 *
 * @example
 * import express from "express";
 * import { latchkeyExpress } from "latchkey/express";
 *
 * const app = express();
 * const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * app.use(latchkey.routes);
 * app.get("/api/profile", latchkey.requireAuth, (req, res) => {
 *   res.json({ user: req.auth?.userId });
 * });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestAuth } from "../http/context.js";
import {
  type Answer,
  CollectingReply,
  cookiesOf,
  Dispatcher,
  type GuestLog,
  PayloadTooLarge,
} from "../http/dispatch.js";
import { type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import type { AuthRequest } from "../http/kit.js";
import { writeEventStream } from "../http/node-stream.js";

/** The parts of Express's request the adapter reads. */
export interface ExpressRequestLike extends IncomingMessage {
  /** The path as sent, query included (Express keeps it when a router strips a mount path). */
  originalUrl?: string;
  /** The client's address, as far as the app's `trust proxy` setting believes. */
  ip?: string;
  body?: unknown;
  auth?: RequestAuth | null;
}

type Next = (error?: unknown) => void;

/**
 * Options of `latchkeyExpress`.
 * @example
 * const options: ExpressOptions = { auth, publicOrigin: "https://app.example", log: console };
 */
export interface ExpressOptions extends LatchkeyOptions {
  /** Where latchkey logs a store outage (`warn`) or a bug (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * What `latchkeyExpress` returns.
 * @example
 * const latchkey: ExpressLatchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * latchkey.close(); // stops its sweep
 */
export interface ExpressLatchkey {
  /** Answers latchkeys's routes; `next()` for every other request. Mount it at the root. */
  routes(req: ExpressRequestLike, res: ServerResponse, next: Next): void;
  /**
   * Authenticates the request (`req.auth`) or answers 401/403 in the contract's format;
   * the origin check for unsafe requests comes with it.
   */
  requireAuth(req: ExpressRequestLike, res: ServerResponse, next: Next): void;
  /** Stops the sweep this adapter started (`maintenance`). */
  close(): void;
}

declare global {
  namespace Express {
    interface Request {
      /** Who the request is; set by latchkey's `requireAuth`. */
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

  return {
    routes(req, res, next) {
      const target = req.originalUrl ?? req.url ?? "/";
      const queryAt = target.indexOf("?");
      const url = new URL(target, "http://localhost");
      const isJson = /^application\/json\s*(;|$)/i.test(String(req.headers["content-type"] ?? ""));
      dispatcher
        .dispatch({
          method: req.method ?? "GET",
          path: queryAt < 0 ? target : target.slice(0, queryAt),
          query: url.searchParams,
          headers: req.headers,
          ip: addressOf(req),
          // A JSON body the app's `express.json()` parsed already is used as it is;
          // any other parsed body (a form) is not JSON and is refused below.
          parsedBody: isJson && req.body !== undefined ? req.body : undefined,
          readBody: (limit) => readLimited(req, limit),
        })
        .then((answer) => (answer ? write(res, answer, options.log) : next()), next);
    },
    requireAuth(req, res, next) {
      const request: AuthRequest = {
        method: req.method ?? "GET",
        headers: req.headers,
        cookies: cookiesOf(req.headers),
        ip: addressOf(req),
        body: undefined,
        query: {},
        params: {},
        auth: null,
      };
      const reply = new CollectingReply();
      dispatcher.authenticate(request, reply).then(
        (auth) => {
          req.auth = auth;
          for (const [, line] of reply.cookieHeaders()) res.appendHeader("set-cookie", line);
          next();
        },
        (error: unknown) => write(res, dispatcher.errorAnswer(error), options.log),
      );
    },
    close() {
      maintenance.stop();
      dispatcher.closeStreams();
    },
  };
}

function addressOf(req: ExpressRequestLike): string {
  return req.ip ?? req.socket.remoteAddress ?? "";
}

function write(res: ServerResponse, answer: Answer, log: GuestLog | undefined): void {
  res.statusCode = answer.status;
  for (const [name, value] of answer.headers) {
    if (name === "set-cookie") res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
  const { stream } = answer;
  if (!stream) {
    res.end(answer.body ?? undefined);
    return;
  }
  // The connection is the stream's alone: it closes when the stream ends.
  res.setHeader("connection", "close");
  res.flushHeaders();
  void writeEventStream(stream, res, (error) => log?.warn({ err: error }, "event stream failed"));
}

function readLimited(req: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  if (req.readableEnded) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Past the limit: stop keeping it, and let the rest drain so the answer can go out
      // (the server's request timeout bounds a body that never ends).
      cleanup();
      req.resume();
      reject(new PayloadTooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? null : Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    if (Number(req.headers["content-length"]) > limit) {
      req.resume();
      reject(new PayloadTooLarge());
      return;
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}
