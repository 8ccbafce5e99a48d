/**
 * A security log kept hours or minutes (`EVENT_RETENTION=36h`, `15min`) is allowed, for a
 * log kept briefly on purpose, and said at start in case it was not meant: `6m` is refused
 * (months or minutes?), and `15min` is logged as a warning.
 */
import { describe, expect, it } from "vitest";
import { startHarness } from "../helpers/harness.js";

const warned = (logs: string[]) =>
  logs
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((l) => l.msg.startsWith("EVENT_RETENTION"));

describe("a security log kept less than a day", () => {
  it("is said at start, with how long", async () => {
    const h = await startHarness({ EVENT_RETENTION: "15min" });
    try {
      expect(warned(h.logs)).toEqual([
        expect.objectContaining({
          level: 40,
          msg: "EVENT_RETENTION keeps the security log 15 minute(s): older events are deleted at each sweep",
        }),
      ]);
    } finally {
      await h.close();
    }
  });

  it("is not said for a day or more", async () => {
    const h = await startHarness({ EVENT_RETENTION: "1" });
    try {
      expect(warned(h.logs)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
