import { describe, expect, it } from "vitest";
import { argon2Hasher, readArgon2Params } from "../../packages/latchkey/src/core/password-hasher.js";
import { checkPassword } from "../../packages/latchkey/src/core/password-policy.js";
import { normalizeUsername, parseUsername } from "../../packages/latchkey/src/core/username.js";

describe("usernames", () => {
  it("normalise with NFKC and lower case", () => {
    expect(normalizeUsername("Alice")).toBe("alice");
    expect(normalizeUsername("ａｌｉｃｅ")).toBe("alice");
    expect(parseUsername("ＡＬＩＣＥ")).toBe("alice");
  });

  it("accept 3 to 32 characters of a-z 0-9 . _ -", () => {
    expect(parseUsername("bob.smith_2-x")).toBe("bob.smith_2-x");
    expect(parseUsername("ab")).toBeNull();
    expect(parseUsername("a".repeat(32))).toBe("a".repeat(32));
    expect(parseUsername("a".repeat(33))).toBeNull();
    expect(parseUsername("with space")).toBeNull();
    expect(parseUsername("émile")).toBeNull();
    expect(parseUsername("x".repeat(10_000))).toBeNull();
  });
});

describe("password policy", () => {
  it("refuses 7 characters and accepts 8", () => {
    expect(checkPassword("abcdxy7", "alice")).toBe("too_short");
    expect(checkPassword("abcdxy78", "alice")).toBeNull();
  });

  it("counts characters, not bytes or UTF-16 units", () => {
    expect(checkPassword("🔑🔑🔑🔑🔑🔑🔑", "alice")).toBe("too_short");
    expect(checkPassword("🔑🔑🔑🔑🔑🔑🔑🔑", "alice")).toBeNull();
    expect(checkPassword("é".repeat(1024), "alice")).toBeNull();
    expect(checkPassword("é".repeat(1025), "alice")).toBe("too_long");
  });

  it("refuses the most common passwords, whatever their case", () => {
    expect(checkPassword("password1234", "alice")).toBe("common");
    expect(checkPassword("qwertyuiop", "alice")).toBe("common");
    expect(checkPassword("QwertyUIOP", "alice")).toBe("common");
  });

  it("refuses a password containing the username", () => {
    expect(checkPassword("my-alice-secret-9", "alice")).toBe("contains_username");
    expect(checkPassword("MY-ALICE-SECRET-9", "alice")).toBe("contains_username");
  });
});

describe("argon2id hasher", () => {
  it("uses at least m=19456, t=2, p=1 and verifies", async () => {
    const hasher = argon2Hasher();
    const stored = await hasher.hash("correct horse battery staple");
    expect(readArgon2Params(stored)).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(await hasher.verify(stored, "correct horse battery staple")).toBe(true);
    expect(await hasher.verify(stored, "Correct horse battery staple")).toBe(false);
    expect(await hasher.verify("not a hash", "x")).toBe(false);
  });

  it("asks for a re-hash of weaker or foreign hashes only", async () => {
    const weak = argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }, { allowWeak: true });
    const strong = argon2Hasher();
    expect(strong.needsRehash(await weak.hash("pw-pw-pw-pw"))).toBe(true);
    expect(strong.needsRehash(await strong.hash("pw-pw-pw-pw"))).toBe(false);
    expect(strong.needsRehash("$2b$10$abcdefghijklmnopqrstuv")).toBe(true);
  });

  it("refuses parameters below the contract's minimum", () => {
    expect(() => argon2Hasher({ memoryCost: 4096, timeCost: 2, parallelism: 1 })).toThrow(RangeError);
  });
});

describe("limitConcurrency", () => {
  it("runs at most `limit` hash operations at once and queues the rest, in order", async () => {
    const { limitConcurrency } = await import("../../packages/latchkey/src/core/password-hasher.js");
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const slow = {
      hash: async (password: string) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active--;
        order.push(Number(password));
        return password;
      },
      verify: async () => true,
      needsRehash: () => false,
    };
    const limited = limitConcurrency(slow, { limit: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => limited.hash(String(i))));
    expect(peak).toBe(2);
    expect(order).toHaveLength(8);
    expect(await limited.verify("x", "y")).toBe(true);
  });
});

describe("limitConcurrency's queue bound", () => {
  it("security 4 (hashing queue): refuses at once with 503 + Retry-After past maxQueue, and still serves the queued", async () => {
    const { limitConcurrency } = await import("../../packages/latchkey/src/core/password-hasher.js");
    const { OverloadedError } = await import("../../packages/latchkey/src/core/errors.js");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = {
      hash: async (password: string) => {
        await gate;
        return password;
      },
      verify: async () => true,
      needsRehash: () => false,
    };
    const limited = limitConcurrency(slow, { limit: 1, maxQueue: 3 });
    const accepted = Array.from({ length: 4 }, (_, i) => limited.hash(String(i)));
    const refused = await limited.hash("over").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect((refused as InstanceType<typeof OverloadedError>).retryAfter).toBeGreaterThanOrEqual(1);
    release();
    expect(await Promise.all(accepted)).toEqual(["0", "1", "2", "3"]);
    expect(await limited.hash("after")).toBe("after");
  });
});
