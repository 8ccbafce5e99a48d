/**
 * Bodies on the web platform's side: a request's body read within a limit, and an event
 * stream as a response body that is pulled as the client takes it.
 */
import { PayloadTooLarge } from "../http/dispatch.js";
import { type EventStream, STREAM_STALL_MS } from "../http/kit.js";
import { bodyReadBeforeLatchkey } from "./setup-checks.js";

/**
 * The body of `request`, at most `limit` bytes (`PayloadTooLarge` past it), `null` when it
 * has none. A body someone read already is a set-up mistake, not an empty body.
 *
 * @example
 * const raw = await readRequestBody(request, 64 * 1024);
 */
export async function readRequestBody(request: Request, limit: number): Promise<Uint8Array | null> {
  if (request.bodyUsed) {
    throw bodyReadBeforeLatchkey(
      "c.req.json(), a validator or your own code read it",
      "app.use(latchkey.routes), or latchkey.handle(request), before anything that reads the body",
    );
  }
  if (!request.body) return null;
  const declared = Number(request.headers.get("content-length"));
  if (declared > limit) throw new PayloadTooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/**
 * An event stream as a body, pulled as the server writes it: a chunk is made only when the
 * last one was taken, and a consumer that takes nothing for `STREAM_STALL_MS` has the
 * body errored, which ends its connection.
 *
 * @example
 * return new Response(eventBody(stream), { headers: { "content-type": "text/event-stream" } });
 */
export function eventBody(stream: EventStream): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const chunks = stream.chunks[Symbol.asyncIterator]();
  let pulling = false;
  let idleSince = Date.now();
  let watchdog: NodeJS.Timeout | undefined;
  const end = () => {
    clearInterval(watchdog);
    stream.close();
    void chunks.return?.(undefined);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      watchdog = setInterval(() => {
        if (pulling || Date.now() - idleSince < STREAM_STALL_MS) return;
        controller.error(new Error("the client took nothing from the event stream"));
        end();
      }, STREAM_STALL_MS / 4);
      watchdog.unref();
    },
    async pull(controller) {
      pulling = true;
      try {
        const next = await chunks.next();
        if (next.done) {
          clearInterval(watchdog);
          controller.close();
        } else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        clearInterval(watchdog);
        controller.error(error);
        stream.close();
      } finally {
        pulling = false;
        idleSince = Date.now();
      }
    },
    cancel: end,
  });
}
