/**
 * Writing an event stream to a Node response (the Fastify plugin's and the Express
 * adapter's), as fast as the client takes it and no faster: a chunk is written only once
 * the last one has left Node's buffer, so a client that does not read holds at most one
 * chunk here (the events waiting behind it are bounded by the feed: `maxPending`), and a
 * client that takes nothing for `STREAM_STALL_MS` has its connection closed.
 */
import type { ServerResponse } from "node:http";
import { type EventStream, STREAM_STALL_MS } from "./kit.js";

/**
 * Writes `stream` to `res` until either ends; resolves when both have. A failure of the
 * stream's source is given to `onError` (the connection then ends as if the stream had).
 * @example
 * await writeEventStream(stream, reply.raw, (err) => log.warn({ err }, "event stream failed"));
 */
export async function writeEventStream(
  stream: EventStream,
  res: ServerResponse,
  onError: (error: unknown) => void,
): Promise<void> {
  res.on("close", stream.close);
  try {
    for await (const chunk of stream.chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk) && !(await drained(res))) {
        res.destroy();
        break;
      }
    }
  } catch (error) {
    onError(error);
  } finally {
    stream.close();
    res.end();
    // What is still buffered goes out if the client reads it; a client that does not is not
    // kept on an ended stream.
    if (!res.writableFinished && !res.destroyed && !(await finished(res))) res.destroy();
  }
}

/** Whether `res` finishes sending within `STREAM_STALL_MS`. */
function finished(res: ServerResponse): Promise<boolean> {
  return settles(res, "finish");
}

/**
 * Whether `res` drains within `STREAM_STALL_MS` (false when it closes or stalls first).
 * @example
 * if (!res.write(chunk) && !(await drained(res))) res.destroy();
 */
export function drained(res: ServerResponse): Promise<boolean> {
  return settles(res, "drain");
}

/** Whether `res` emits `event` within `STREAM_STALL_MS` (false when it closes first). */
function settles(res: ServerResponse, event: "drain" | "finish"): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (outcome: boolean) => () => {
      clearTimeout(timer);
      res.off(event, onEvent);
      res.off("close", onClose);
      resolve(outcome);
    };
    const onEvent = settle(true);
    const onClose = settle(false);
    const timer = setTimeout(settle(false), STREAM_STALL_MS);
    res.once(event, onEvent);
    res.once("close", onClose);
  });
}
