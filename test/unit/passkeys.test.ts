/**
 * Issue 32, passkeys' relying party: the domain a deployment binds passkeys to, from its
 * origin (none for an IP address or a non-http origin: WebAuthn binds a credential to a
 * domain), a parent domain when asked for one, and the refusals a server without one
 * gives (`409 factor_unavailable`).
 */
import { describe, expect, it } from "vitest";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { AuthError } from "../../packages/latchkey/src/core/errors.js";
import { Passkeys, relyingPartyOf } from "../../packages/latchkey/src/core/passkeys.js";
import { SecurityLog } from "../../packages/latchkey/src/core/security-log.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

describe("relyingPartyOf", () => {
  it("is the origin's host by default, with the origin and the other origins given", () => {
    expect(relyingPartyOf("https://auth.example.com", "Example")).toEqual({
      id: "auth.example.com",
      name: "Example",
      origins: ["https://auth.example.com"],
    });
    expect(relyingPartyOf("http://localhost:3000", "latchkey")).toMatchObject({
      id: "localhost",
      origins: ["http://localhost:3000"],
    });
    expect(
      relyingPartyOf("https://auth.example.com", "Example", {
        rpId: "example.com",
        origins: ["https://app.example.com"],
      }),
    ).toEqual({ id: "example.com", name: "Example", origins: ["https://auth.example.com", "https://app.example.com"] });
  });

  it("is none for an IP address, a non-http origin or no origin at all", () => {
    for (const origin of ["http://127.0.0.1:3000", "https://10.0.0.1", "http://[::1]:3000", "ftp://example.com", "x"]) {
      expect([origin, relyingPartyOf(origin, "x")]).toEqual([origin, null]);
    }
  });

  it("refuses an id the origin's host is not, nor under", () => {
    for (const rpId of ["other.example", "xample.com", "app.auth.example.com"]) {
      expect(() => relyingPartyOf("https://auth.example.com", "x", { rpId })).toThrow(/must be auth\.example\.com/);
    }
    expect(() => relyingPartyOf("https://alice.github.io", "x", { rpId: "github.io" })).toThrow(/public suffix/);
  });

  it("under an issuer read late, turns passkeys off with one warning when the id does not fit, never a 500", async () => {
    const { DEFAULT_TOKEN_POLICY, createAuth } = await import("../../packages/latchkey/src/core/auth.js");
    const warnings: string[] = [];
    const listen = (warning: Error) => warnings.push(warning.message);
    process.on("warning", listen);
    try {
      const auth = await createAuth({
        stores: createMemoryStores(),
        tokens: { ...DEFAULT_TOKEN_POLICY, issuer: () => "https://app.example.org" },
        sessions: {},
        throttle: { maxFailures: 5, addressMaxFailures: 100, window: 900 },
        passkeys: { rpId: "example.com" },
      } as never);
      expect(auth.passkeys.available).toBe(false);
      expect(auth.passkeys.available).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes("passkeys are off"))).toHaveLength(1);
      await auth.close();
    } finally {
      process.off("warning", listen);
    }
  });
});

describe("a server without a domain for passkeys", () => {
  it("says so, and refuses every ceremony with factor_unavailable", async () => {
    const stores = createMemoryStores();
    const clock = manualClock(Date.parse("2026-03-01T12:00:00.000Z"));
    const passkeys = new Passkeys({
      store: stores.factors,
      challenges: stores.challenges,
      users: stores.users,
      clock,
      log: new SecurityLog({ store: stores.events, clock }),
      relyingParty: () => relyingPartyOf("http://127.0.0.1:3000", "latchkey"),
    });
    expect(passkeys.available).toBe(false);
    const code = async (attempt: Promise<unknown>) => {
      try {
        await attempt;
      } catch (error) {
        return error instanceof AuthError ? error.code : String(error);
      }
      return "no error";
    };
    expect(await code(passkeys.signInOptions("192.0.2.1"))).toBe("factor_unavailable");
    expect(await code(passkeys.registrationOptions({ id: "u", username: "alice" }, "s", "192.0.2.1"))).toBe(
      "factor_unavailable",
    );
    expect(await code(passkeys.verify("a.b", {} as never))).toBe("factor_unavailable");
    expect(await passkeys.list("u")).toEqual([]);
  });
});
