/**
 * The revocation feed as Server-Sent Events, on a real socket: a service subscribes, and
 * each session end reaches it as an event with the cursor to resume from; a reconnection
 * with `Last-Event-ID` misses nothing and repeats nothing; revoking the service ends its
 * stream; the fetch dispatcher streams the same events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

const ORIGIN = "http://localhost:3000";
let h: Harness;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
});
afterAll(() => h.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

interface Event {
  id?: string;
  event?: string;
  data?: string;
}

/** A subscriber: the parsed events so far, a way to wait for more, and to hang up. */
async function subscribe(authorization: string, lastEventId?: string) {
  const controller = new AbortController();
  const response = await fetch(`${base}/auth/revocations`, {
    headers: { authorization, accept: "text/event-stream", ...(lastEventId && { "last-event-id": lastEventId }) },
    signal: controller.signal,
  });
  const events: Event[] = [];
  let ended = false;
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let at = buffer.indexOf("\n\n");
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event: Event = {};
          for (const line of block.split("\n")) {
            const [field, ...rest] = line.split(": ");
            if (field === "id" || field === "event" || field === "data") event[field] = rest.join(": ");
          }
          if (event.event) events.push(event);
          at = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // hung up
    }
    ended = true;
  })();
  return {
    response,
    events,
    ended: () => ended,
    async waitFor(count: number, ms = 2000) {
      const start = Date.now();
      while (events.length < count) {
        if (Date.now() - start > ms) throw new Error(`${events.length} of ${count} events after ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return events;
    },
    async close() {
      controller.abort();
      await done;
    },
  };
}

async function endSession(): Promise<string> {
  const c = h.client();
  const name = uniqueName("sse");
  await c.register(name);
  const { access_token } = (await c.token(name)).json() as { access_token: string };
  await h.app.inject({
    method: "POST",
    url: "/auth/logout",
    headers: { authorization: `Bearer ${access_token}`, origin: ORIGIN },
  });
  return JSON.parse(Buffer.from(access_token.split(".")[1] as string, "base64url").toString()).sid as string;
}

describe("the revocation feed as Server-Sent Events", () => {
  it("pushes each ended session to a subscriber, and resumes from Last-Event-ID with nothing missed or repeated", async () => {
    const { service, clientSecret } = await h.server.auth.services.create("stream");
    const auth = basic(service.id, clientSecret);
    const first = await subscribe(auth);
    expect(first.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const history = (await (await fetch(`${base}/auth/revocations`, { headers: { authorization: auth } })).json()) as {
      entries: unknown[];
    };
    await first.waitFor(history.entries.length);
    const sid1 = await endSession();
    const events = await first.waitFor(history.entries.length + 1);
    const last = events.at(-1) as Event;
    expect(last.event).toBe("revocation");
    expect(JSON.parse(last.data as string)).toMatchObject({ type: "session_ended", sid: sid1 });
    await first.close();

    // While away: two more sessions end. Back with the last id seen: exactly those two.
    const sid2 = await endSession();
    const sid3 = await endSession();
    const second = await subscribe(auth, last.id);
    const resumed = await second.waitFor(2);
    expect(resumed.map((e) => JSON.parse(e.data as string).sid)).toEqual([sid2, sid3]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(second.events).toHaveLength(2);
    await second.close();
  });

  it("ends the stream of a service that is revoked, after telling it so", async () => {
    const { service, clientSecret } = await h.server.auth.services.create("doomed");
    const stream = await subscribe(basic(service.id, clientSecret), undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.server.auth.services.revoke("doomed");
    const start = Date.now();
    while (!stream.ended()) {
      if (Date.now() - start > 2000) throw new Error("the stream did not end");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(stream.events.map((e) => JSON.parse(e.data as string))).toContainEqual(
      expect.objectContaining({ type: "service_revoked", client_id: service.id }),
    );
    // And it cannot subscribe again.
    const again = await fetch(`${base}/auth/revocations`, {
      headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream" },
    });
    expect(again.status).toBe(401);
  });

  it("refuses a made-up Last-Event-ID before streaming, and a user's token", async () => {
    const { service, clientSecret } = await h.server.auth.services.create("picky");
    const bad = await fetch(`${base}/auth/revocations`, {
      headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream", "last-event-id": "nope" },
    });
    expect(bad.status).toBe(400);
    const c = h.client();
    const name = uniqueName("sseuser");
    await c.register(name);
    const { access_token } = (await c.token(name)).json() as { access_token: string };
    const user = await fetch(`${base}/auth/revocations`, {
      headers: { authorization: `Bearer ${access_token}`, accept: "text/event-stream" },
    });
    expect(user.status).toBe(401);
  });

  it("streams through the fetch dispatcher (Express, Hono, fetch) too", async () => {
    const { createFetchHandler } = await import("../../packages/latchkey/src/adapters/fetch.js");
    const handler = createFetchHandler({ auth: h.server.auth, publicOrigin: ORIGIN, maintenance: false });
    const { service, clientSecret } = await h.server.auth.services.create("dispatched");
    const controller = new AbortController();
    const response = await handler.handle(
      new Request(`${ORIGIN}/auth/revocations`, {
        headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream" },
        signal: controller.signal,
      }),
      { ip: "192.0.2.1" },
    );
    if (!response?.body) throw new Error("no stream");
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body.getReader();
    const sid = await endSession();
    let text = "";
    const start = Date.now();
    while (!text.includes(sid)) {
      if (Date.now() - start > 2000) throw new Error("no event");
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(`"sid":"${sid}"`);
    await reader.cancel();
    handler.close();
  });
});

describe("closing with subscribers", () => {
  it("ends every open stream, so the server closes at once instead of waiting on them", async () => {
    const other = await startHarness();
    await other.app.listen({ port: 0, host: "127.0.0.1" });
    const port = (other.app.server.address() as { port: number }).port;
    const { service, clientSecret } = await other.server.auth.services.create("listener");
    const response = await fetch(`http://127.0.0.1:${port}/auth/revocations`, {
      headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    const reading = (async () => {
      for await (const _ of response.body as unknown as AsyncIterable<Uint8Array>) {
        // until the server ends it
      }
    })();
    const start = Date.now();
    await other.close();
    await reading;
    expect(Date.now() - start).toBeLessThan(5000);
  }, 20_000);
});
