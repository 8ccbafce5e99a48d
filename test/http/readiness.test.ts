/**
 * Issue 34: `GET /readyz` says whether a balancer should send this instance traffic;
 * `/healthz` stays the liveness check. Not ready while draining (from the signal that
 * stops it), while a store does not answer, or while the change feed is not followed.
 * The same check is `auth.readiness()` for a library app.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../helpers/harness.js";

const harnesses: Harness[] = [];
const started = async () => {
  const h = await startHarness();
  harnesses.push(h);
  return h;
};
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close().catch(() => {});
});

const get = (h: Harness, url: string) => h.app.inject({ method: "GET", url });

describe("GET /readyz", () => {
  it("answers 200 ready, uncached, while the stores answer and the feed is followed", async () => {
    const h = await started();
    const ready = await get(h, "/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready" });
    expect(ready.headers["cache-control"]).toBe("no-store");
    expect(await h.server.auth.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it("draining: 503 at once while everything else is still served, and /healthz still 200", async () => {
    const h = await started();
    const browser = h.client();
    await browser.signUpAndLogIn("drained");
    h.server.drain();
    const readiness = await get(h, "/readyz");
    expect(readiness.statusCode).toBe(503);
    expect(readiness.json()).toEqual({ status: "not_ready", reasons: ["draining"] });
    expect((await get(h, "/healthz")).statusCode).toBe(200);
    expect((await browser.get("/auth/me")).statusCode).toBe(200);
    h.server.drain(); // twice is once
    expect((await get(h, "/readyz")).json().reasons).toEqual(["draining"]);
  });

  it("a store that does not answer: 503 store_unreachable (and the feed, read from it, falls behind)", async () => {
    const h = await started();
    await h.stores.close();
    const readiness = await get(h, "/readyz");
    expect(readiness.statusCode).toBe(503);
    expect(readiness.json().status).toBe("not_ready");
    expect(readiness.json().reasons).toContain("store_unreachable");
    // Past the follower's 5 s without a read, it cannot vouch for tokens either.
    h.clock.advance(6_000);
    expect((await get(h, "/readyz")).json().reasons).toEqual(["store_unreachable", "feed_behind"]);
  });

  it("the change feed not read for 5 s, the stores fine: 503 feed_behind, ready again once it is read", async () => {
    const h = await started();
    const feed = h.stores.changes;
    const read = feed.read;
    feed.read = async () => {
      throw new Error("the feed is cut");
    };
    h.clock.advance(5_001);
    // The follower polls every 250 ms: give it one that fails.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const behind = await get(h, "/readyz");
    expect(behind.statusCode).toBe(503);
    expect(behind.json()).toEqual({ status: "not_ready", reasons: ["feed_behind"] });
    expect(await h.server.auth.readiness()).toEqual({ ready: false, reasons: ["feed_behind"] });
    feed.read = read;
    await h.server.auth.changes.poll();
    expect((await get(h, "/readyz")).statusCode).toBe(200);
  });
});

describe("auth.readiness()", () => {
  it("counts a store that does not answer within a second as unreachable, and a late failure is not left unhandled", async () => {
    const { readinessOf } = await import("../../packages/latchkey/src/core/readiness.js");
    const follower = { readAgeMs: () => 0, staleMs: 5000 };
    const startedAt = performance.now();
    const slow = {
      ping: () => new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error("too late")), 1_500)),
    };
    expect(await readinessOf(slow, follower)).toEqual({ ready: false, reasons: ["store_unreachable"] });
    expect(performance.now() - startedAt).toBeLessThan(1_400);
    // The ping's rejection half a second later must not surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await readinessOf({ ping: async () => {} }, follower)).toEqual({ ready: true, reasons: [] });
  });
});
