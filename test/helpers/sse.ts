/**
 * A subscriber to latchkey's revocation event stream, for tests: the events parsed so far
 * (eventsource-parser, as latchkey/verify reads them), a way to wait for more, and to hang up.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface Subscriber {
  response: Response;
  events: EventSourceMessage[];
  ended(): boolean;
  waitFor(test: (events: EventSourceMessage[]) => boolean, ms?: number): Promise<EventSourceMessage[]>;
  waitForEnd(ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function subscribe(url: string, authorization: string, lastEventId?: string): Promise<Subscriber> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization, accept: "text/event-stream", ...(lastEventId && { "last-event-id": lastEventId }) },
    signal: controller.signal,
  });
  const events: EventSourceMessage[] = [];
  let ended = false;
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const done = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // hung up
    }
    ended = true;
  })();
  const until = async (check: () => boolean, ms: number, what: string) => {
    const start = Date.now();
    while (!check()) {
      if (Date.now() - start > ms) throw new Error(`${what} not within ${ms} ms (${events.length} events)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return {
    response,
    events,
    ended: () => ended,
    async waitFor(test, ms = 2000) {
      await until(() => test(events), ms, "the events awaited");
      return events;
    },
    waitForEnd: (ms = 2000) => until(() => ended, ms, "the end of the stream"),
    async close() {
      controller.abort();
      await done;
    },
  };
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
