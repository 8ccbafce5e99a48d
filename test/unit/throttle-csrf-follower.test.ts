import { describe, expect, it } from "vitest";
import { ChangeFollower } from "../../packages/latchkey/src/core/change-follower.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { CsrfTokens } from "../../packages/latchkey/src/core/csrf.js";
import { DeviceCookies } from "../../packages/latchkey/src/core/device-cookies.js";
import { RateLimitedError } from "../../packages/latchkey/src/core/errors.js";
import { LoginThrottle } from "../../packages/latchkey/src/core/login-throttle.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

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
  const refused = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (e: unknown) => e,
    );

  it("throttles an account after maxFailures from any address, with a retry time", async () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 3; i++) await throttle.begin({ username: "alice", ip: `10.0.0.${i}` });
    clock.advance(100_000);
    const error = await refused(throttle.begin({ username: "alice", ip: "10.9.9.9" }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBe(800);
    clock.advance(800_000);
    await expect(throttle.begin({ username: "alice", ip: "10.9.9.9" })).resolves.toBeDefined();
  });

  it("security 8: counts an attempt before the check, so concurrent attempts pass at most maxFailures", async () => {
    const { throttle } = setup();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => refused(throttle.begin({ username: "alice", ip: `10.0.${i}.1` }))),
    );
    expect(outcomes.filter((o) => o === null)).toHaveLength(3);
    expect(outcomes.filter((o) => o instanceof RateLimitedError)).toHaveLength(47);
  });

  it("throttles an address that fails across many accounts, an IPv6 /64 as one address", async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await throttle.begin({ username: `user${i}`, ip: `2001:db8:1:2::${i + 1}` });
    for (const ip of ["2001:db8:1:2:ffff::9", "2001:DB8:1:2:0:0:0:77", "2001:db8:1:2::1%eth0"]) {
      expect(await refused(throttle.begin({ username: "someone-else", ip }))).toBeInstanceOf(RateLimitedError);
    }
    await expect(throttle.begin({ username: "another", ip: "2001:db8:1:3::1" })).resolves.toBeDefined();
  });

  it("counts an IPv4-mapped IPv6 address as its IPv4 address", async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) await throttle.begin({ username: `user${i}`, ip: "192.0.2.7" });
    const error = await refused(throttle.begin({ username: "x", ip: "::ffff:192.0.2.7" }));
    expect(error).toBeInstanceOf(RateLimitedError);
  });

  it("a success starts the account's count over and returns the address's hit", async () => {
    const { throttle } = setup();
    await throttle.begin({ username: "alice", ip: "10.0.0.1" });
    await throttle.begin({ username: "alice", ip: "10.0.0.1" });
    const right = await throttle.begin({ username: "alice", ip: "10.0.0.1" });
    await right.succeeded();
    // Three more attempts for the account; the address has counted two failures, not three.
    for (let i = 0; i < 3; i++) await throttle.begin({ username: "alice", ip: "10.0.0.1" });
    expect(await refused(throttle.begin({ username: "alice", ip: "10.0.0.2" }))).toBeInstanceOf(RateLimitedError);
    expect(await refused(throttle.begin({ username: "bob", ip: "10.0.0.1" }))).toBeInstanceOf(RateLimitedError);
  });

  it("security 8 (lockout): a trusted device counts apart from the account", async () => {
    const { throttle } = setup();
    for (let i = 0; i < 3; i++) await throttle.begin({ username: "alice", ip: `10.0.0.${i}` });
    expect(await refused(throttle.begin({ username: "alice", ip: "10.0.1.1" }))).toBeInstanceOf(RateLimitedError);
    await expect(throttle.begin({ username: "alice", ip: "10.0.1.1", device: "dev-1" })).resolves.toBeDefined();
    for (let i = 0; i < 2; i++) await throttle.begin({ username: "alice", ip: "10.0.1.1", device: "dev-1" });
    const error = await refused(throttle.begin({ username: "alice", ip: "10.0.1.1", device: "dev-1" }));
    expect(error).toBeInstanceOf(RateLimitedError);
  });
});

describe("DeviceCookies", () => {
  it("proves a device for one account only, and refuses tampering", async () => {
    const stores = createMemoryStores();
    const devices = await DeviceCookies.load(stores.secrets);
    const again = await DeviceCookies.load(stores.secrets);
    const cookie = devices.issue("alice");
    const id = devices.verify(cookie, "alice");
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(again.verify(cookie, "alice")).toBe(id);
    expect(devices.verify(cookie, "bob")).toBeNull();
    expect(devices.verify(`${cookie.slice(0, -1)}${cookie.endsWith("A") ? "B" : "A"}`, "alice")).toBeNull();
    expect(devices.verify(undefined, "alice")).toBeNull();
    expect(devices.verify("garbage", "alice")).toBeNull();
    expect(devices.issue("alice")).not.toBe(cookie);
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

describe("ChangeFollower when the feed loses its history (audit item 2)", () => {
  const setup = () => {
    const clock = manualClock();
    let rows: Array<{ seq: number; kind: "session_ended" | "keys_changed"; subject: string; at: number }> = [];
    let epoch = "first";
    const feed = {
      publish: async (kind: "session_ended" | "keys_changed", subject: string, at: number) => {
        rows.push({ seq: (rows.at(-1)?.seq ?? 0) + 1, kind, subject, at });
      },
      read: async (after: number, notBefore: number) => rows.filter((r) => r.seq > after && r.at >= notBefore),
      position: async () => ({ epoch, seq: rows.at(-1)?.seq ?? 0 }),
      prune: async () => 0,
    };
    const lose = (newEpoch: string | null) => {
      rows = [];
      if (newEpoch) epoch = newEpoch;
    };
    const follower = new ChangeFollower({ feed, clock, retainMs: 600_000 });
    return { clock, feed, follower, lose };
  };

  it("starts over at a new epoch: a revocation published after the loss (seq 1 again) is applied", async () => {
    const { clock, feed, follower, lose } = setup();
    for (let i = 0; i < 5; i++) await feed.publish("session_ended", `old-${i}`, clock.now());
    await follower.start();
    expect(follower.lastSeq).toBe(5);
    let resets = 0;
    follower.onReset(() => resets++);
    lose("second");
    await feed.publish("session_ended", "after-loss", clock.now());
    await follower.poll();
    expect(follower.isSessionEnded("after-loss")).toBe(true);
    expect(follower.isSessionEnded("old-1")).toBe(true); // what it knew stays known
    expect(resets).toBe(1);
    follower.stop();
  });

  it("starts over when the sequence goes backwards in the same epoch (an older backup restored)", async () => {
    const { clock, feed, follower, lose } = setup();
    for (let i = 0; i < 5; i++) await feed.publish("session_ended", `old-${i}`, clock.now());
    await follower.start();
    lose(null);
    await feed.publish("session_ended", "x", clock.now());
    await feed.publish("session_ended", "y", clock.now());
    await follower.poll();
    expect(follower.isSessionEnded("y")).toBe(true);
    follower.stop();
  });

  it("cannot vouch for tokens issued before a reset for one token lifetime, nor while the feed is unreadable", async () => {
    const { clock, feed, follower, lose } = setup();
    await feed.publish("session_ended", "a", clock.now());
    await follower.start();
    const issuedBefore = clock.now() - 1000;
    expect(follower.mustConfirm(issuedBefore)).toBe(false);
    lose("second");
    clock.advance(1000);
    await follower.poll();
    expect(follower.mustConfirm(issuedBefore)).toBe(true);
    expect(follower.mustConfirm(clock.now() + 1000)).toBe(false); // issued after the reset
    clock.advance(600_001);
    await follower.poll();
    expect(follower.mustConfirm(issuedBefore)).toBe(false);
    // The feed stops answering: after 5 s nothing is vouched for.
    feed.read = async () => {
      throw new Error("down");
    };
    clock.advance(6000);
    await follower.poll();
    expect(follower.mustConfirm(clock.now())).toBe(true);
    follower.stop();
  });
});
