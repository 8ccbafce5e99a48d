/**
 * `toNodeHandler`: a fetch-style handler (`Request` in, `Response` out) served by Node's
 * own `http.createServer`, the bridge every `node:http` host of `latchkey/fetch` needs.
 * Written after `@hono/node-server`'s listener: the request body is pulled only as the
 * handler reads it; the response body is written as the client takes it (backpressure),
 * and dropped when the client goes away (an event stream then ends); and a request body
 * the handler did not read to its end (latchkey's 413 past 64 KiB) is drained once the
 * answer is out, so the keep-alive connection serves the next request; a body too large
 * or too slow to drain closes the connection instead, never leaves it hanging.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { drainBody } from "../http/node-body.js";
import { drained } from "../http/node-stream.js";

/**
 * A handler of the web platform's shape, given the client's address: `latchkey/fetch`'s
 * `handle` and `protect` fit inside one.
 * @example
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const handler: FetchStyleHandler = async (request, { ip }) =>
 *   (await latchkey.handle(request, { ip })) ?? new Response("Not found", { status: 404 });
 */
export type FetchStyleHandler = (request: Request, info: { ip: string }) => Response | Promise<Response>;

/**
 * Options of `toNodeHandler`.
 * @example
 * const options: NodeHandlerOptions = { onError: (err) => console.error(err) };
 */
export interface NodeHandlerOptions {
  /** Told of an error the handler threw (answered 500) or a response body that failed. Default `console.error`. */
  onError?: (error: unknown) => void;
}

/**
 * A `node:http` request listener that serves `handler`.
 *
 * @example
 * import { createServer } from "node:http";
 * import { createFetchHandler, toNodeHandler } from "latchkey/fetch";
 *
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const server = createServer(
 *   toNodeHandler(async (request, { ip }) => {
 *     const answered = await latchkey.handle(request, { ip });
 *     if (answered) return answered;
 *     return latchkey.protect(request, { ip }, (who) => Response.json({ user: who.userId }));
 *   }),
 * );
 * server.listen(3000);
 */
export function toNodeHandler(
  handler: FetchStyleHandler,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  return (req, res) => {
    // What the answer left of the body is read away (past its bounds, the connection closes).
    res.once("finish", () => {
      if (hasBody(req)) drainBody(req, () => req.socket.destroySoon());
    });
    serve(handler, req, res, onError).catch((error: unknown) => {
      onError(error);
      res.destroy();
    });
  };
}

async function serve(
  handler: FetchStyleHandler,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (error: unknown) => void,
): Promise<void> {
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  let request: Request;
  try {
    request = requestOf(req, gone.signal);
  } catch {
    // A request the platform cannot represent (a malformed Host, say) is the client's fault.
    await writeResponse(new Response(null, { status: 400 }), res);
    return;
  }
  let response: Response;
  try {
    response = await handler(request, { ip: req.socket.remoteAddress ?? "" });
  } catch (error) {
    onError(error);
    response = new Response("Internal Server Error", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  await writeResponse(response, res);
}

function requestOf(req: IncomingMessage, signal: AbortSignal): Request {
  const target = req.url ?? "/";
  const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
  const url = /^https?:\/\//i.test(target) ? target : `${scheme}://${req.headers.host ?? "localhost"}${target}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!name.startsWith(":")) headers.append(name, raw[i + 1] as string);
  }
  const body = hasBody(req) ? bodyOf(req) : undefined;
  return new Request(url, { method: req.method ?? "GET", headers, body, signal, duplex: "half" } as RequestInit);
}

function hasBody(req: IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** The request body, pulled from the socket only as the handler reads it. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull: (controller) =>
        nextChunk(req).then((chunk) => (chunk === null ? controller.close() : controller.enqueue(chunk))),
      // What the handler leaves unread is drained (or the connection closed) once the answer is out.
      cancel: () => {},
    },
    { highWaterMark: 0 },
  );
}

function nextChunk(req: IncomingMessage): Promise<Uint8Array | null> {
  if (req.readableEnded) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const settle = () => {
      req.off("readable", onReadable);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onReadable = () => {
      const chunk = req.read() as Buffer | null;
      if (chunk === null) return; // more is coming, or the end
      settle();
      resolve(chunk);
    };
    const onEnd = () => {
      settle();
      resolve(null);
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onClose = () => {
      settle();
      reject(new Error("the client closed the connection before the request body ended"));
    };
    req.on("readable", onReadable);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  try {
    writeHead(response, res);
  } catch (error) {
    // Headers Node refuses: the body (an event stream holding its place) is let go.
    void response.body?.cancel().catch(() => {});
    throw error;
  }
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // The client gone, the body is dropped: an event stream ends with it.
  const cancel = () => void reader.cancel().catch(() => {});
  res.once("close", cancel);
  let complete = false;
  // A body already whole (every JSON answer) goes out in one write with its length, headers
  // and all, rather than chunked: as `@hono/node-server` does, a body that ends within
  // WHOLE_BODY_READS reads taken without waiting is sent at once; a body still coming, or
  // longer, is streamed.
  let pending: ReturnType<typeof reader.read> | undefined;
  try {
    if (!res.headersSent && !res.destroyed) {
      const held: Uint8Array[] = [];
      for (let reads = 0; reads < WHOLE_BODY_READS; reads++) {
        pending ??= reader.read();
        const result = await Promise.race([pending, nothingYet()]);
        if (result === undefined) break;
        pending = undefined;
        if (result.done) {
          res.off("close", cancel);
          const body = held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held);
          // A length of ours never goes beside a handler's own framing (a proxied answer's
          // `Transfer-Encoding`): a message with both is one that proxies read differently.
          if (!res.hasHeader("content-length") && !res.hasHeader("transfer-encoding")) {
            res.setHeader("content-length", body.byteLength);
          }
          res.end(body);
          return;
        }
        // A stream of strings breaks the Fetch standard but was always written as it came.
        held.push(typeof result.value === "string" ? Buffer.from(result.value) : result.value);
      }
      for (const chunk of held) res.write(chunk);
    }
    for (;;) {
      const { done, value } = await (pending ?? reader.read());
      pending = undefined;
      if (done) {
        complete = true;
        break;
      }
      if (res.destroyed || (!res.write(value) && !(await drained(res)))) break;
    }
  } catch {
    // The body failed (an event stream whose client stalled, a handler's stream that
    // errored): the client gets a cut-off answer, never one that looks complete.
  } finally {
    res.off("close", cancel);
  }
  if (complete) {
    res.end();
    return;
  }
  cancel();
  res.destroy();
}

/** How many chunks a body may hold at once and still go out whole (with its length). */
const WHOLE_BODY_READS = 3;

/** Settles a few microtasks on: a read whose chunk is there (or comes at once) wins the race. */
const nothingYet = (): Promise<undefined> => Promise.resolve().then(() => Promise.resolve(undefined));

function writeHead(response: Response, res: ServerResponse): void {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body && /^text\/event-stream/i.test(response.headers.get("content-type") ?? "")) {
    // The connection is the stream's alone: it closes when the stream ends, as in the
    // other adapters. Its headers go out at once; its events follow as they come.
    res.setHeader("connection", "close");
    res.flushHeaders();
  }
}
