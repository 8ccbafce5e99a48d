import { describe, expect, it } from "vitest";
import { ChangeFollower } from "../../src/core/change-follower.js";
import { manualClock } from "../../src/core/clock.js";
import { CsrfTokens } from "../../src/core/csrf.js";
import { RateLimitedError } from "../../src/core/errors.js";
import { LoginThrottle } from "../../src/core/login-throttle.js";
import { createMemoryStores } from "../../src/stores/memory/index.js";

describe("LoginThrottle", () => {
  const setup = () => {
    const clock = manualClock();
    const throttle = new LoginThrottle({
      counters: createMemoryStores().counters,
      clock,
      policy: { maxFailures: 3, addressMaxFailures: 5, window: 900 },
    });
    return { clock, throttle };
  };

  it("throttles an account after maxFailures from any address, with a retry time", async () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 3; i++) {
      await throttle.check("alice", `10.0.0.${i}`);
      await throttle.recordFailure("alice", `10.0.0.${i}`);
    }
    clock.advance(100_000);
    const error = await throttle.check("alice", "10.9.9.9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBe(800);
    clock.advance(800_000);
    await expect(throttle.check("alice", "10.9.9.9")).resolves.toBeUndefined();
  });

  it("throttles an address that fails across many accounts", async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await throttle.recordFailure(`user${i}`, "10.0.0.1");
    await expect(throttle.check("someone-else", "10.0.0.1")).rejects.toBeInstanceOf(RateLimitedError);
    await expect(throttle.check("someone-else", "10.0.0.2")).resolves.toBeUndefined();
  });

  it("clears an account's count on success", async () => {
    const { throttle } = setup();
    await throttle.recordFailure("alice", "10.0.0.1");
    await throttle.recordFailure("alice", "10.0.0.1");
    await throttle.recordSuccess("alice");
    await throttle.recordFailure("alice", "10.0.0.1");
    await expect(throttle.check("alice", "10.0.0.1")).resolves.toBeUndefined();
  });
});

describe("CsrfTokens", () => {
  it("binds a token to one session and shares the key across instances", async () => {
    const stores = createMemoryStores();
    const one = await CsrfTokens.load(stores.secrets);
    const two = await CsrfTokens.load(stores.secrets);
    const token = one.tokenFor("session-a");
    expect(two.tokenFor("session-a")).toBe(token);
    expect(one.verify("session-a", token)).toBe(true);
    expect(one.verify("session-b", token)).toBe(false);
    expect(one.verify("session-a", undefined)).toBe(false);
    expect(one.verify("session-a", [token])).toBe(false);
  });
});

describe("ChangeFollower", () => {
  it("loads the recent window on start, then follows new changes", async () => {
    const stores = createMemoryStores();
    const clock = manualClock();
    await stores.changes.publish("session_ended", "old", clock.now() - 20 * 60_000);
    await stores.changes.publish("session_ended", "recent", clock.now() - 60_000);
    const follower = new ChangeFollower({ feed: stores.changes, clock, retainMs: 10 * 60_000 });
    await follower.start();
    expect(follower.isSessionEnded("old")).toBe(false);
    expect(follower.isSessionEnded("recent")).toBe(true);
    const seen: string[] = [];
    follower.onChange((c) => seen.push(c.subject));
    await stores.changes.publish("session_ended", "new", clock.now());
    await follower.poll();
    expect(follower.isSessionEnded("new")).toBe(true);
    expect(seen).toEqual(["new"]);
    clock.advance(11 * 60_000);
    await follower.poll();
    expect(follower.isSessionEnded("new")).toBe(false);
    follower.stop();
  });
});
