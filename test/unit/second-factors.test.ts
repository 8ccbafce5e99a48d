/**
 * Issue 32's pieces on a frozen clock: TOTP against RFC 6238's own test vector and at the
 * edges of its window, the sealing of secrets under a key list (rotation, tampering, a
 * copied row, a key gone), recovery codes' normal form, and a code replayed on a second
 * instance of one SQLite database, which refuses it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { AuthError } from "../../packages/latchkey/src/core/errors.js";
import { FactorKeys, parseFactorKeys } from "../../packages/latchkey/src/core/factor-keys.js";
import { normalizeRecoveryCode } from "../../packages/latchkey/src/core/factors.js";
import { matchTotp, normalizeTotpCode, totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { hostCore } from "../helpers/host-app.js";

describe("TOTP", () => {
  // RFC 6238 appendix B: the SHA-1 key "12345678901234567890"; its 8-digit codes end in
  // the 6 digits these apps show.
  const rfcKey = new TextEncoder().encode("12345678901234567890");

  it("gives RFC 6238's codes at its test times", () => {
    expect(totpCode(rfcKey, totpStep(59_000))).toBe("287082");
    expect(totpCode(rfcKey, totpStep(1_111_111_109_000))).toBe("081804");
    expect(totpCode(rfcKey, totpStep(1_234_567_890_000))).toBe("005924");
    expect(totpCode(rfcKey, totpStep(2_000_000_000_000))).toBe("279037");
  });

  it("accepts the step before, now and after, and says which; not two steps away", () => {
    const now = 1_234_567_890_000;
    const step = totpStep(now);
    for (const offset of [-1, 0, 1])
      expect(matchTotp(rfcKey, totpCode(rfcKey, step + offset), now)).toBe(step + offset);
    for (const offset of [-2, 2]) expect(matchTotp(rfcKey, totpCode(rfcKey, step + offset), now)).toBeNull();
    // The last millisecond of a step and the first of the next see different windows.
    const edge = (step + 1) * 30_000;
    expect(matchTotp(rfcKey, totpCode(rfcKey, step - 1), edge - 1)).toBe(step - 1);
    expect(matchTotp(rfcKey, totpCode(rfcKey, step - 1), edge)).toBeNull();
  });

  it("reads a typed code with spaces, and nothing else", () => {
    expect(normalizeTotpCode("287 082")).toBe("287082");
    expect(normalizeTotpCode(" 287-082 ")).toBe("287082");
    for (const bad of ["28708", "2870821", "28708a", "２８７０８２", ""]) expect(normalizeTotpCode(bad)).toBeNull();
  });

  it("round-trips the base32 secret an app is shown", () => {
    expect(totpKey("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")).toEqual(rfcKey);
    expect(totpKey("gezdgnbvgy3tqojqgezdgnbvgy3tqojq")).toEqual(rfcKey);
  });
});

describe("sealing secrets", () => {
  const [a, b] = [randomBytes(32), randomBytes(32)];

  it("opens what it sealed, only in the same context, and refuses an altered value", () => {
    const keys = new FactorKeys([a]);
    const sealed = keys.seal("GEZDGNBV", "latchkey:totp:f1:u1");
    expect(sealed).toMatch(/^v1\.[\w-]{8}\.[\w-]{16}\.[\w-]+$/);
    expect(sealed).not.toContain("GEZDGNBV");
    expect(keys.open(sealed, "latchkey:totp:f1:u1")).toBe("GEZDGNBV");
    expect(() => keys.open(sealed, "latchkey:totp:f2:u1")).toThrow(AuthError);
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] as string, "base64url");
    body[0] = (body[0] as number) ^ 1;
    const altered = [...parts.slice(0, 3), body.toString("base64url")].join(".");
    expect(() => keys.open(altered, "latchkey:totp:f1:u1")).toThrow(/integrity/);
  });

  it("rotates: a new key first seals, the old one still opens; a removed key is a 503 naming the setting", () => {
    const old = new FactorKeys([a]).seal("S", "c");
    const both = new FactorKeys([b, a]);
    expect(both.open(old, "c")).toBe("S");
    expect(both.isCurrent(old)).toBe(false);
    expect(both.isCurrent(both.seal("S", "c"))).toBe(true);
    const gone = (() => {
      try {
        new FactorKeys([b]).open(old, "c");
      } catch (error) {
        return error;
      }
    })();
    expect(gone).toMatchObject({ code: "service_unavailable" });
    expect((gone as Error).message).toContain("MFA_KEYS");
  });

  it("parses a key list and names a bad key by its place, never its value", () => {
    const list = `${a.toString("base64")}, ${b.toString("base64url")}`;
    expect(parseFactorKeys(list)).toEqual([a, b]);
    expect(() => parseFactorKeys(`${a.toString("base64")},c2hvcnQ=`)).toThrow(/key 2 is not 32 bytes/);
    try {
      parseFactorKeys("c2hvcnQ=");
    } catch (error) {
      expect((error as Error).message).not.toContain("c2hvcnQ");
    }
  });
});

describe("recovery codes", () => {
  it("are read in one form: case, spaces and dashes ignored, look-alike letters as digits", () => {
    expect(normalizeRecoveryCode("7K3M-Q9X2-HD4W-P8NE")).toBe("7k3mq9x2hd4wp8ne");
    expect(normalizeRecoveryCode("7k3m q9x2 hd4w p8ne")).toBe("7k3mq9x2hd4wp8ne");
    expect(normalizeRecoveryCode("ilo0-0000-0000-0000")).toBe("1100000000000000");
    for (const bad of ["7k3m-q9x2-hd4w", "uuuu-uuuu-uuuu-uuuu", "7k3m-q9x2-hd4w-p8ne-x"]) {
      expect(normalizeRecoveryCode(bad)).toBeNull();
    }
  });
});

describe("a code on two instances of one database", () => {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-totp-"));
  const cores: Auth[] = [];
  afterAll(async () => {
    for (const core of cores) await core.close();
    for (const core of cores) await core.stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is accepted once: the second instance refuses the replay", async () => {
    const clock = manualClock(Date.parse("2026-03-01T12:00:00Z"));
    const keys = [randomBytes(32)];
    const path = join(dir, "shared.db");
    for (let i = 0; i < 2; i++) {
      const stores = await openSqliteStores({ path });
      cores.push(await hostCore(stores, { clock, factors: { keys } }));
    }
    const [one, two] = cores as [Auth, Auth];
    const user = await one.accounts.register("twice", "correct horse battery staple");
    const enrolment = await one.factors.beginTotp(user);
    const key = totpKey(enrolment.secret);
    await one.factors.confirmTotp(user.id, enrolment.factorId, totpCode(key, totpStep(clock.now())), {});
    clock.advance(30_000);
    const code = totpCode(key, totpStep(clock.now()));
    const client = { ip: "192.0.2.1", userAgent: "test" };
    const [first, second] = await Promise.allSettled([
      one.factors.verify(user.id, { code }, client),
      two.factors.verify(user.id, { code }, client),
    ]);
    const outcomes = [first, second].map((r) => (r.status === "fulfilled" ? "accepted" : (r.reason as AuthError).code));
    expect(outcomes.sort()).toEqual(["accepted", "invalid_code"]);
    // And later, one at a time, on the other instance: still refused.
    await expect(two.factors.verify(user.id, { code }, client)).rejects.toMatchObject({ code: "invalid_code" });
    clock.advance(30_000);
    expect(await two.factors.verify(user.id, { code: totpCode(key, totpStep(clock.now())) }, client)).toEqual([
      "mfa",
      "otp",
    ]);
  });
});
