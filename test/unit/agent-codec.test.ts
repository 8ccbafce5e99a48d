import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { packAgent, unpackAgent } from "../../packages/latchkey/src/stores/redis/agent-codec.js";
import { compactUserId, expandUserId } from "../../packages/latchkey/src/stores/redis/session-codec.js";

const AGENTS = [
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
  "curl/8.5.0",
  "",
  "Safari/ Safari/537.36 Chrome/Chrome/ .0.0.0.0.0",
  "tab\there",
  "odd\x01\x02agent with codes \x00 and NUL",
  "ünïcödé Agent/1.0 🦊",
];

describe("User-Agent packing for the Redis session encoding", () => {
  it.each(AGENTS)("round-trips %j exactly", (agent) => {
    expect(unpackAgent(packAgent(agent))).toBe(agent);
  });

  it("packs a common browser's agent to a fraction of its length", () => {
    const chrome = AGENTS[0] as string;
    expect(packAgent(chrome).length).toBeLessThan(chrome.length / 4);
  });

  it("round-trips random strings", () => {
    const alphabet = [..."Mozilla/5.0 ()AppleWebKit;Chrome Safari.\x01\x00x"];
    for (let n = 0; n < 2000; n++) {
      let agent = "";
      for (let i = 0; i < 40; i++) agent += alphabet[Math.floor(Math.random() * alphabet.length)];
      expect(unpackAgent(packAgent(agent))).toBe(agent);
    }
  });
});

describe("compact user ids for the Redis session encoding", () => {
  it("stores a UUID in 22 characters and reads it back", () => {
    for (let n = 0; n < 500; n++) {
      const id = randomUUID();
      const compact = compactUserId(id);
      expect(compact).toHaveLength(22);
      expect(expandUserId(compact)).toBe(id);
    }
  });

  it.each([
    "01A201C2-75D5-70B8-BC22-0DFE31B97265", // upper case: not the canonical form, kept verbatim
    "user-42",
    "",
    "=",
    "AAAAAAAAAAAAAAAAAAAAAA", // looks like a compact id
    "0194d2c6-0000-7000-8000-00000000000", // one digit short
  ])("keeps any other id %j exactly, in a form no UUID takes", (id) => {
    const compact = compactUserId(id);
    expect(compact.startsWith("=")).toBe(true);
    expect(expandUserId(compact)).toBe(id);
  });
});
