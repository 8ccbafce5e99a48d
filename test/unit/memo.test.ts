import { describe, expect, it } from "vitest";
import { memoize } from "../../packages/latchkey/src/core/memo.js";
import { isoTime } from "../../packages/latchkey/src/http/views.js";

describe("memoize", () => {
  it("computes a key once while it is held, and again after the memo fills and empties", () => {
    const calls: number[] = [];
    const square = memoize((n: number) => {
      calls.push(n);
      return n * n;
    }, 3);
    expect([square(2), square(2), square(3), square(4)]).toEqual([4, 4, 9, 16]);
    expect(calls).toEqual([2, 3, 4]);
    square(5); // the fourth key: the memo is emptied, then holds 5 alone
    expect(square(5)).toBe(25);
    expect(square(2)).toBe(4);
    expect(calls).toEqual([2, 3, 4, 5, 2]);
  });
});

describe("isoTime", () => {
  it("is toISOString, on first computation and on a memo hit", () => {
    // The ends of the Date range, the epoch, a leap day, and 20,000 times around now
    // (more than the memo holds, so it empties on the way).
    const times = [-8.64e15, 8.64e15, 0, -1, Date.UTC(2024, 1, 29, 23, 59, 59, 999)];
    for (let i = 0; i < 20_000; i++) times.push(Date.now() + Math.round((Math.random() - 0.5) * 1e11));
    for (const ms of times) {
      const expected = new Date(ms).toISOString();
      expect(isoTime(ms)).toBe(expected);
      expect(isoTime(ms)).toBe(expected);
    }
  });
});
