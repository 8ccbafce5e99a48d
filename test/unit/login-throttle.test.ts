/**
 * The login throttle counts only verified wrong passwords (issue 24, item 4): an attempt is
 * counted before the check and given back on every outcome that is not a checked wrong
 * password.
 */
import { describe, expect, it } from "vitest";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { OverloadedError, RateLimitedError, StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { LoginThrottle } from "../../packages/latchkey/src/core/login-throttle.js";
import type { CounterStore } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const POLICY = { maxFailures: 3, addressMaxFailures: 5, window: 900 };

function setup(counters: CounterStore = createMemoryStores().counters) {
  const clock = manualClock(Date.parse("2026-03-01T12:00:00.000Z"));
  const throttle = new LoginThrottle({ counters, clock, policy: POLICY });
  const count = async (key: string) => (await counters.peek(key, clock.now()))?.count ?? 0;
  return { clock, throttle, counters, count };
}

const wrong = async () => ({ ok: false });
const right = async () => ({ ok: true });
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => value,
    (error: unknown) => error,
  );

describe("security: only a verified wrong password counts (issue 24, item 4)", () => {
  it("a check that throws (the hashing queue is full, a store failed) gives its attempt back, account and address", async () => {
    const { throttle, count } = setup();
    const subject = { username: "alice", ip: "192.0.2.1" };
    for (let i = 0; i < 10; i++) {
      const shed = await outcome(
        throttle.guard(subject, async () => {
          throw new OverloadedError(1);
        }),
      );
      expect(shed).toBeInstanceOf(OverloadedError);
    }
    expect(await count("login:account:alice")).toBe(0);
    expect(await count("login:address:192.0.2.1")).toBe(0);
    // A verified wrong password still counts, and maxFailures of them lock the account.
    for (let i = 0; i < 3; i++) expect(await throttle.guard(subject, wrong)).toEqual({ ok: false });
    expect(await count("login:account:alice")).toBe(3);
    expect(await outcome(throttle.guard(subject, right))).toBeInstanceOf(RateLimitedError);
  });

  it("a refusal over a limit gives its hits back: an address over its limit adds nothing to the account it tries", async () => {
    const { throttle, count } = setup();
    for (let i = 0; i < 5; i++) await throttle.guard({ username: `user${i}`, ip: "192.0.2.2" }, wrong);
    for (let i = 0; i < 20; i++) {
      const refused = await outcome(throttle.guard({ username: "victim", ip: "192.0.2.2" }, right));
      expect(refused).toBeInstanceOf(RateLimitedError);
    }
    expect(await count("login:account:victim")).toBe(0);
    expect(await count("login:address:192.0.2.2")).toBe(5);
  });

  it("a counter that fails on one key gives back the hit already made on the other", async () => {
    const memory = createMemoryStores().counters;
    const flaky: CounterStore = {
      ...memory,
      hit: (key, windowMs, now) =>
        key.startsWith("login:address:")
          ? Promise.reject(new StoreUnavailableError("counter"))
          : memory.hit(key, windowMs, now),
    };
    const { throttle, clock } = setup(flaky);
    for (let i = 0; i < 5; i++) {
      expect(await outcome(throttle.guard({ username: "alice", ip: "192.0.2.3" }, wrong))).toBeInstanceOf(
        StoreUnavailableError,
      );
    }
    expect(await memory.peek("login:account:alice", clock.now())).toEqual(expect.objectContaining({ count: 0 }));
  });

  it("keeps count-before-check: of 100 concurrent wrong guesses with some shed, at most maxFailures are verified", async () => {
    const { throttle, count } = setup();
    let verified = 0;
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        outcome(
          throttle.guard({ username: "alice", ip: `198.51.100.${i}` }, async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            if (i % 7 === 0) throw new OverloadedError(1);
            verified++;
            return { ok: false };
          }),
        ),
      ),
    );
    expect(verified).toBeLessThanOrEqual(POLICY.maxFailures);
    expect(answers.filter((a) => a instanceof RateLimitedError).length).toBeGreaterThanOrEqual(
      100 - POLICY.maxFailures,
    );
    expect(await count("login:account:alice")).toBe(verified);
  });
});

describe("security: a signed-in owner's password checks are counted per session and device (issue 24, item 3)", () => {
  it("a locked account does not refuse a session's check; the session's own failures do, and spend its device", async () => {
    const { throttle, count } = setup();
    for (let i = 0; i < 3; i++) await throttle.guard({ username: "alice", ip: `10.0.0.${i}` }, wrong);
    expect(await outcome(throttle.guard({ username: "alice", ip: "10.0.1.1" }, right))).toBeInstanceOf(
      RateLimitedError,
    );
    // The owner's session is not the account.
    expect(await throttle.guard({ sessionId: "s1", ip: "192.0.2.9" }, right)).toEqual({ ok: true });
    // Its own failures lock it, and the device it carries, but no other session.
    for (let i = 0; i < 3; i++) await throttle.guard({ sessionId: "s2", ip: "192.0.2.9", device: "d2" }, wrong);
    expect(await outcome(throttle.guard({ sessionId: "s2", ip: "192.0.2.9" }, right))).toBeInstanceOf(RateLimitedError);
    expect(await outcome(throttle.guard({ username: "alice", ip: "192.0.2.9", device: "d2" }, right))).toBeInstanceOf(
      RateLimitedError,
    );
    expect(await throttle.guard({ sessionId: "s3", ip: "192.0.2.9" }, right)).toEqual({ ok: true });
    expect(await count("login:account:alice")).toBe(3);
  });
});
