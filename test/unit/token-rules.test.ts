/**
 * `@latchkey/verify/rules`, the token rules the server and the verifier share, as pure
 * functions: the canonical-spelling check against Node's own base64url round trip, the
 * claims after jose's, jose's errors mapped to reasons, and the remembered tokens.
 */
import { randomBytes } from "node:crypto";
import { errors } from "jose";
import { describe, expect, it } from "vitest";
import { checkClaims, checkSpelling, failureOf, RememberedTokens } from "../../packages/verify/src/rules.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("checkSpelling", () => {
  it("accepts a signature exactly when Node's base64url round trip gives it back, for every length and last character", () => {
    for (let bytes = 1; bytes <= 66; bytes++) {
      const canonical = randomBytes(bytes).toString("base64url");
      for (const last of ALPHABET) {
        const signature = `${canonical.slice(0, -1)}${last}`;
        const roundTrip = Buffer.from(signature, "base64url").toString("base64url") === signature;
        expect(checkSpelling(`eyJh.eyJi.${signature}`), `${bytes} bytes, ${signature}`).toBe(
          roundTrip ? undefined : "signature",
        );
      }
    }
  });

  it("refuses what is not a compact JWS of at most 4 KiB as malformed", () => {
    for (const token of ["", "a.b", "a.b.c.d", "a.b.c=", "a.b+.c", "a..c", `a.${"b".repeat(4096)}.c`, "a.b.cdefg"]) {
      expect(checkSpelling(token), token.slice(0, 20)).toBe("malformed");
    }
  });
});

describe("checkClaims", () => {
  const rules = { ttl: 600, clockTolerance: 5 };
  const now = 1_800_000_000_000;
  const iat = now / 1000;
  const user = { sub: "u1", sid: "s1", jti: "j1", iat, exp: iat + 600, kind: "user" };

  it("classifies a user's and a service's token", () => {
    expect(checkClaims(user, rules, now)).toMatchObject({
      ok: true,
      token: { kind: "user", userId: "u1", sessionId: "s1", issuedAt: now, expiresAt: now + 600_000 },
    });
    // A token from before roles reads as a plain user's, its roles set at the epoch.
    expect(checkClaims(user, rules, now)).toMatchObject({ token: { roles: ["user"], rolesAt: 0 } });
    expect(checkClaims({ ...user, roles: ["admin"], roles_at: 7 }, rules, now)).toMatchObject({
      token: { roles: ["admin"], rolesAt: 7 },
    });
    const service = { sub: "svc", client_id: "svc", kind: "service", jti: "j2", iat, exp: iat + 600 };
    expect(checkClaims(service, rules, now)).toMatchObject({ ok: true, token: { kind: "service", serviceId: "svc" } });
  });

  it("gives each defect its reason, at the edges of the tolerance", () => {
    const cases: [Record<string, unknown>, string | undefined][] = [
      [{ ...user, iat: iat + 5 }, undefined],
      [{ ...user, iat: iat + 6 }, "not_yet_valid"],
      [{ ...user, exp: iat + 605 }, undefined],
      [{ ...user, exp: iat + 606 }, "lifetime"],
      [{ ...user, iat: iat - 605, exp: iat }, undefined],
      [{ ...user, iat: iat - 606, exp: iat - 1 }, "lifetime"],
      [{ ...user, sub: 1 }, "claims"],
      [{ ...user, jti: undefined }, "claims"],
      [{ ...user, exp: String(iat + 600) }, "claims"],
      [{ ...user, sid: undefined }, "claims"],
      [{ ...user, kind: "service", client_id: "someone else" }, "claims"],
      // Issue 27: roles are a list of names, roles_at a number; a token from before roles has neither.
      [{ ...user, roles: ["admin"], roles_at: 5 }, undefined],
      [{ ...user, roles: "admin" }, "claims"],
      [{ ...user, roles: [1] }, "claims"],
      [{ ...user, roles: ["user"], roles_at: "5" }, "claims"],
    ];
    for (const [payload, reason] of cases) {
      const check = checkClaims(payload, rules, now);
      expect(check.ok ? undefined : check.reason, JSON.stringify(payload)).toBe(reason);
    }
  });
});

describe("failureOf", () => {
  it("names jose's errors about the token, and leaves others (a key set that cannot be fetched) to the caller", () => {
    const claim = (name: string) => new errors.JWTClaimValidationFailed("x", {}, name);
    expect(failureOf(new errors.JWTExpired("x", {}))).toBe("expired");
    expect(failureOf(claim("aud"))).toBe("audience");
    expect(failureOf(claim("iss"))).toBe("issuer");
    expect(failureOf(claim("typ"))).toBe("type");
    expect(failureOf(claim("nbf"))).toBe("not_yet_valid");
    expect(failureOf(claim("jti"))).toBe("claims");
    expect(failureOf(new errors.JOSEAlgNotAllowed())).toBe("algorithm");
    expect(failureOf(new errors.JWSSignatureVerificationFailed())).toBe("signature");
    expect(failureOf(new errors.JWKSNoMatchingKey())).toBe("unknown_key");
    expect(failureOf(new errors.JWSInvalid())).toBe("malformed");
    expect(failureOf(new errors.JWKSTimeout())).toBeUndefined();
    expect(failureOf(new TypeError("fetch failed"))).toBeUndefined();
  });
});

describe("RememberedTokens", () => {
  it("drops expired tokens from the front as new ones come, and the oldest when full of live ones", () => {
    const remembered = new RememberedTokens<{ expiresAt: number }>({ clockTolerance: 5, max: 3 });
    remembered.remember("a", { expiresAt: 10_000 }, 0);
    remembered.remember("b", { expiresAt: 20_000 }, 0);
    expect(remembered.size).toBe(2);
    remembered.remember("c", { expiresAt: 30_000 }, 15_000); // "a" expired at 10 s + 5 s of tolerance
    expect([remembered.get("a"), remembered.size]).toEqual([undefined, 2]);
    remembered.remember("d", { expiresAt: 40_000 }, 15_000);
    remembered.remember("e", { expiresAt: 50_000 }, 15_000); // full of live ones: "b", the oldest, goes
    expect(["b", "c", "d", "e"].map((token) => remembered.get(token) !== undefined)).toEqual([false, true, true, true]);
  });

  it("answers only the whole token it remembered, not another with the same signature", () => {
    const remembered = new RememberedTokens<{ expiresAt: number; sub: string }>({ clockTolerance: 5 });
    const signature = "S".repeat(86);
    const token = `header.${"a".repeat(300)}.${signature}`;
    remembered.remember(token, { expiresAt: 60_000, sub: "alice" }, 0);
    // Fresh strings, as a header yields them: the same token is a hit, a forged payload is not.
    expect(remembered.get(`header.${"a".repeat(300)}.${signature}`)?.sub).toBe("alice");
    const forged = `header.${"b".repeat(300)}.${signature}`;
    expect(remembered.get(forged)).toBeUndefined();
    // Remembered in its turn (had it verified), it takes the place: each answers only itself.
    remembered.remember(forged, { expiresAt: 60_000, sub: "mallory" }, 0);
    expect([remembered.get(forged)?.sub, remembered.get(token), remembered.size]).toEqual(["mallory", undefined, 1]);
  });
});
