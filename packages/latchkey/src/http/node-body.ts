/**
 * Reading a request body from a Node stream (`IncomingMessage`, or the stream a Fastify
 * `preParsing` hook hands on) within a limit, for the adapters on Node.
 */
import type { Readable } from "node:stream";
import { PayloadTooLarge } from "./request.js";

/**
 * The body of `body`, at most `limit` bytes: `null` when it is empty, `PayloadTooLarge`
 * past the limit (announced by `Content-Length` or found while reading), an error with
 * `statusCode` 400 when the stream fails before its end. Past the limit
 * the rest is drained, not kept, so the answer can go out and a keep-alive connection
 * stays usable (the server's request timeout bounds a body that never ends).
 *
 * @example
 * const raw = await readNodeBody(req, req.headers["content-length"], 64 * 1024);
 */
export function readNodeBody(
  body: Readable,
  contentLength: string | undefined,
  limit: number,
): Promise<Uint8Array | null> {
  if (body.readableEnded) return Promise.resolve(null);
  if (Number(contentLength) > limit) {
    drain(body);
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
      drain(body);
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

/** Lets the rest of a refused body flow away; its late errors (the client gave up) with it. */
function drain(body: Readable): void {
  body.on("error", () => {});
  body.resume();
}
