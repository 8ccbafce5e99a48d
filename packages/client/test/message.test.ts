/**
 * A forced sign-out's message (issue 29): `Change.message` carries the words latchkey
 * ended the session with, in this tab and in the others, so a page can tell apart endings
 * that share a code (a session whose cookie was used from two places answers the plain
 * `unauthenticated`; only its message says why). A sign-out the user asked for has none,
 * and neither has a refusal without a body.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Change, ClientOptions, LatchkeyClient } from "../src/index.js";
import { channelHub, lockManager } from "./browser.js";
import { FakeLatchkey, PASSWORD, type Strategy } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

const ECHO = "https://auth.example/api/echo";
/** What latchkey answers a session ended as copied (its SESSION_REUSE_MESSAGE). */
const REUSE =
  "This session was ended: its cookie was used from two places (a copy of it, or a browser that missed its renewal). Sign in again, and check your devices.";

/**
 * The fake latchkey's fetch, with the message of each of its 401s replaced by `words`, or
 * the whole body dropped when `words` is `null` (a refusal with no JSON, as a proxy's).
 */
function saying(server: FakeLatchkey, words: string | null): typeof fetch {
  return async (input, init) => {
    const answer = await server.fetch(input, init);
    if (answer.status !== 401) return answer;
    if (words === null) return new Response(null, { status: 401 });
    const body = (await answer.json()) as { error: { code: string } };
    return Response.json({ error: { code: body.error.code, message: words } }, { status: 401 });
  };
}

/** Two tabs of one browser on `server`, with their changes recorded. */
function twoTabs(server: FakeLatchkey, options: ClientOptions = {}) {
  const hub = channelHub();
  const locks = lockManager();
  return [0, 1].map(() => {
    const client: LatchkeyClient = tab(server, { locks, channel: hub.channel, ...options });
    const changes: Change[] = [];
    client.onChange((change) => changes.push(change));
    return { client, changes };
  });
}

describe("a forced sign-out carries latchkey's message", () => {
  it.each(["session", "hybrid"] as Strategy[])(
    "%s: a 401 on a request tells both tabs the reason and the message, verbatim",
    async (strategy) => {
      const server = new FakeLatchkey({ strategy });
      const [here, there] = twoTabs(server, { fetch: saying(server, REUSE) });
      await within(here!.client.signIn("alice", PASSWORD));
      server.endSessions();
      const answer = await within(here!.client.fetch(ECHO, { method: "POST", body: "x" }));
      expect(answer.status).toBe(401);
      // The caller reads the answer as it came: the client read a clone.
      expect(await answer.json()).toEqual({ error: { code: "unauthenticated", message: REUSE } });
      expect(here!.changes.at(-1)).toEqual({
        session: null,
        reason: "unauthenticated",
        fromOtherTab: false,
        message: REUSE,
      });
      await vi.advanceTimersByTimeAsync(10);
      expect(there!.changes.at(-1)).toEqual({
        session: null,
        reason: "unauthenticated",
        fromOtherTab: true,
        message: REUSE,
      });
    },
  );

  it("jwt: a refused refresh tells the message of the refusal", async () => {
    const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
    const [here, there] = twoTabs(server);
    await within(here!.client.signIn("alice", PASSWORD));
    server.endSessions();
    // The scheduled refresh, 30 s before expiry, is refused: the session has ended.
    await vi.advanceTimersByTimeAsync(91_000);
    expect(server.sent("POST", "/auth/refresh").length).toBeGreaterThan(0);
    for (const { changes } of [here!, there!]) {
      expect(changes.at(-1)).toMatchObject({
        session: null,
        reason: "invalid_grant",
        message: "refused: invalid_grant",
      });
    }
  });

  it("a refusal without a JSON body: signed out with the status's stand-in code, and no message", async () => {
    const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
    const [here, there] = twoTabs(server, { fetch: saying(server, null) });
    await within(here!.client.signIn("alice", PASSWORD));
    server.endSessions();
    await vi.advanceTimersByTimeAsync(91_000);
    for (const { changes } of [here!, there!]) {
      const last = changes.at(-1);
      expect(last).toMatchObject({ session: null, reason: "http_error" });
      expect(last).not.toHaveProperty("message");
    }
  });

  it("a sign-out the user asked for has no message, here or in the other tab", async () => {
    const server = new FakeLatchkey({ strategy: "session" });
    const [here, there] = twoTabs(server);
    await within(here!.client.signIn("alice", PASSWORD));
    await within(here!.client.signOut());
    await vi.advanceTimersByTimeAsync(10);
    for (const { changes } of [here!, there!]) {
      const last = changes.at(-1);
      expect(last).toMatchObject({ session: null, reason: "signed_out" });
      expect(last).not.toHaveProperty("message");
    }
  });
});
