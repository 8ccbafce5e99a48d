/**
 * Reading a request body from a Node stream (`IncomingMessage`, or the stream a Fastify
 * `preParsing` hook hands on) within a limit, for the adapters on Node; and reading away,
 * within bounds, what is left of a body the answer did not need.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { PayloadTooLarge } from "./request.js";

/** How much of an unread request body is read away to keep its connection, and for how long. */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
export const DRAIN_MAX_MS = 1000;

/**
 * The body of `body`, at most `limit` bytes: `null` when it is empty, `PayloadTooLarge`
 * past the limit (announced by `Content-Length` or found while reading), an error with
 * `statusCode` 400 when the stream fails before its end. Past the limit the rest is read
 * away (`drainBody`), not kept, so the answer can go out and a keep-alive connection stays
 * usable; past the drain's bounds `giveUp` is called (default: the stream is destroyed).
 *
 * @example
 * const raw = await readNodeBody(req, req.headers["content-length"], 64 * 1024, closeWhenAnswered(req, res));
 */
export function readNodeBody(
  body: Readable,
  contentLength: string | undefined,
  limit: number,
  giveUp: () => void = () => body.destroy(),
): Promise<Uint8Array | null> {
  if (body.readableEnded) return Promise.resolve(null);
  if (Number(contentLength) > limit) {
    drainBody(body, giveUp);
    return Promise.reject(new PayloadTooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      drainBody(body, giveUp);
      reject(new PayloadTooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? null : Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      // The client went away mid-body (or a host's stream failed): a 400 that nobody may
      // read, never a 500 logged as a bug.
      reject(Object.assign(new Error("The request body did not arrive whole.", { cause: error }), { statusCode: 400 }));
    };
    const cleanup = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
    };
    body.on("data", onData);
    body.on("end", onEnd);
    body.on("error", onError);
  });
}

/**
 * Reads away what is left of a request body the answer does not need, so the parser reaches
 * the next request on a keep-alive connection. Past `DRAIN_MAX_BYTES` or `DRAIN_MAX_MS` it
 * stops and calls `giveUp` (close the connection): a client that sends 1 GB, or trickles
 * bytes for ever, never holds the connection open. Late errors (the client gave up) go with it.
 *
 * @example
 * res.once("finish", () => drainBody(req, () => req.socket.destroySoon()));
 */
export function drainBody(body: Readable, giveUp: () => void): void {
  if (body.readableEnded || body.destroyed) return;
  let size = 0;
  const stop = () => {
    clearTimeout(timer);
    body.off("data", onData);
    body.off("end", stop);
  };
  const tooMuch = () => {
    stop();
    body.pause();
    giveUp();
  };
  const onData = (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size > DRAIN_MAX_BYTES) tooMuch();
  };
  const timer = setTimeout(tooMuch, DRAIN_MAX_MS);
  timer.unref();
  body.on("error", () => stop());
  body.on("data", onData);
  body.on("end", stop);
  body.resume();
}

/**
 * A `giveUp` for `drainBody`: closes `req`'s connection once `res` has gone out, so the
 * client reads the answer (the 413) before the connection ends.
 *
 * @example
 * drainBody(req, closeWhenAnswered(req, res));
 */
export function closeWhenAnswered(req: IncomingMessage, res: ServerResponse): () => void {
  return () => {
    const close = () => req.socket.destroySoon();
    // An answer that never finishes means the connection is gone already.
    if (res.writableFinished) close();
    else res.once("finish", close);
  };
}
