/**
 * Issue 25, item 7: one set of token rules (`@latchkey/verify/rules`) for latchkey's own
 * routes and the service verifier. Every crafted token below gets the same verdict from
 * both; the verifier's refusal says which rule refused it (`VerifyError.reason`) without
 * ever repeating the token, while the client's answer stays the contract's
 * `invalid_token`; and the verifier remembers tokens as the server does (until they expire,
 * not a FIFO of 10,000).
 */
import { randomBytes } from "node:crypto";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createVerifier,
  protect,
  type Verifier,
  VerifyError,
  type VerifyFailure,
} from "../../packages/verify/src/index.js";
import { type Client, type Harness, ORIGIN, startHarness, uniqueName } from "../helpers/harness.js";
import { decode, serverSigningKey, signWithServerKey } from "../helpers/tokens.js";

let h: Harness;
let c: Client;
let verifier: Verifier;
let credentials: { clientId: string; clientSecret: string };
let valid: { token: string; userId: string; sessionId: string };

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const { service, clientSecret } = await h.server.auth.services.create("rules");
  credentials = { clientId: service.id, clientSecret };
  verifier = createVerifier({
    issuer: ORIGIN,
    baseUrl: base,
    credentials,
    pollIntervalMs: 100,
    accessTokenTtl: 600, // the harness's ACCESS_TOKEN_TTL: the server's rule exactly
    now: () => h.clock.now(),
  });
  await verifier.ready();
  c = h.client();
  valid = await userToken();
});
afterAll(async () => {
  verifier.close();
  await h.close();
});

async function userToken(): Promise<{ token: string; userId: string; sessionId: string }> {
  const name = uniqueName("rules");
  await c.register(name);
  const token = (await c.token(name)).json().access_token as string;
  const { payload } = decode(token);
  return { token, userId: String(payload.sub), sessionId: String(payload.sid) };
}

/** The verifier's verdict: "accepted", or the reason of its refusal. */
const verdict = (v: Verifier, token: string): Promise<string> =>
  v.verify(token).then(
    () => "accepted",
    (error: unknown) => {
      if (!(error instanceof VerifyError)) throw error;
      expect(error.code).toBe("invalid_token");
      // A log may print the error whole: it never holds the token nor its signature.
      const signature = token.split(".")[2] ?? token;
      for (const text of [error.message, String(error.stack)]) {
        expect(text).not.toContain(token);
        if (signature.length > 8) expect(text).not.toContain(signature);
      }
      return error.reason;
    },
  );

/** The server's verdict on the same token, from one of its own routes. */
const serverStatus = async (token: string) => (await c.bearer("GET", "/auth/me", token)).statusCode;

/** The token with its signature's spare low bits changed: the same bytes to a lenient decoder. */
function respelled(token: string): string[] {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1) as string);
  return [1, 2, 3, 15].map((bits) => `${token.slice(0, -1)}${alphabet[(last & ~15) | ((last + bits) & 15)]}`);
}

describe("one set of token rules for the server and the verifier (issue 25, item 7)", () => {
  it("a signature in a non-canonical base64url spelling is refused by both (reason: signature)", async () => {
    for (const variant of respelled(valid.token)) {
      expect(Buffer.from(variant.split(".")[2] as string, "base64url")).toEqual(
        Buffer.from(valid.token.split(".")[2] as string, "base64url"),
      );
      expect(await serverStatus(variant)).toBe(401);
      expect(await verdict(verifier, variant)).toBe("signature");
    }
    expect(await serverStatus(valid.token)).toBe(200);
    expect(await verdict(verifier, valid.token)).toBe("accepted");
  });

  it("a future iat and a lifetime beyond the TTL are refused by both, each with its reason", async () => {
    const now = Math.floor(h.clock.now() / 1000);
    const base = { iss: ORIGIN, aud: ORIGIN, sub: valid.userId, sid: valid.sessionId, kind: "user", jti: "j-age" };
    const cases: [string, Record<string, unknown>, VerifyFailure][] = [
      ["iat a minute ahead", { ...base, iat: now + 60, exp: now + 600 }, "not_yet_valid"],
      ["exp ten years ahead", { ...base, iat: now, exp: now + 10 * 365 * 86_400 }, "lifetime"],
      ["iat = 1", { ...base, iat: 1, exp: now + 300 }, "lifetime"],
    ];
    for (const [name, claims, reason] of cases) {
      const token = await signWithServerKey(h, claims);
      expect(await serverStatus(token), name).toBe(401);
      expect(await verdict(verifier, token), name).toBe(reason);
    }
    // Within the tolerance, both accept.
    const skewed = await signWithServerKey(h, { ...base, iat: now + 3, exp: now + 600 });
    expect(await serverStatus(skewed)).toBe(200);
    expect(await verdict(verifier, skewed)).toBe("accepted");
  });

  it("every crafted token gets one verdict from both, and the verifier says which rule refused it", async () => {
    const now = Math.floor(h.clock.now() / 1000);
    const claims = { iss: ORIGIN, aud: ORIGIN, sub: valid.userId, sid: valid.sessionId, kind: "user", iat: now };
    const good = { ...claims, exp: now + 600, jti: "j-table" };
    const { kid } = await serverSigningKey(h);
    const foreign = await generateKeyPair("EdDSA");
    const [head, , signature] = valid.token.split(".") as [string, string, string];
    const { jti: _jti, ...noJti } = good;
    const cases: [string, string, VerifyFailure | "accepted"][] = [
      ["valid", await signWithServerKey(h, good), "accepted"],
      ["expired", await signWithServerKey(h, { ...good, exp: now - 6 }), "expired"],
      ["nbf ahead", await signWithServerKey(h, { ...good, nbf: now + 60 }), "not_yet_valid"],
      ["wrong aud", await signWithServerKey(h, { ...good, aud: "https://other.example" }), "audience"],
      ["wrong iss", await signWithServerKey(h, { ...good, iss: "https://evil.example" }), "issuer"],
      ["typ JWT", await signWithServerKey(h, good, { typ: "JWT" }), "type"],
      ["no jti", await signWithServerKey(h, noJti), "claims"],
      ["service without client_id", await signWithServerKey(h, { ...good, kind: "service" }), "claims"],
      ["foreign key, our kid", await signJwt(foreign.privateKey, kid, good), "signature"],
      ["unknown kid", await signJwt(foreign.privateKey, "no-such-kid", good), "unknown_key"],
      [
        "HS256",
        await new SignJWT(good).setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" }).sign(randomBytes(32)),
        "algorithm",
      ],
      [
        "edited payload",
        `${head}.${Buffer.from(JSON.stringify({ ...good, sub: "someone" })).toString("base64url")}.${signature}`,
        "signature",
      ],
      ["not a JWS", "not.a.token", "malformed"],
      ["too long", `${head}.${"A".repeat(5000)}.${signature}`, "malformed"],
    ];
    for (const [name, token, expected] of cases) {
      expect(await verdict(verifier, token), name).toBe(expected);
      expect(await serverStatus(token), name).toBe(expected === "accepted" ? 200 : 401);
    }
  });

  it("a refusal's reason is for the log: the client is answered the contract's invalid_token", async () => {
    const now = Math.floor(h.clock.now() / 1000);
    const token = await signWithServerKey(h, {
      iss: ORIGIN,
      aud: "https://other.example",
      sub: valid.userId,
      sid: valid.sessionId,
      iat: now,
      exp: now + 600,
      jti: "j-aud",
    });
    expect(await verdict(verifier, token)).toBe("audience");
    const answer = await protect(
      verifier,
      new Request("http://service/reports", { headers: { authorization: `Bearer ${token}` } }),
      () => new Response("ok"),
    );
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(await answer.json()).toEqual({ error: { code: "invalid_token", message: "The token is not valid." } });
  });

  it("an ended session and a token of the wrong kind have reasons of their own", async () => {
    const { token } = await userToken();
    const services = createVerifier({
      issuer: ORIGIN,
      baseUrl: `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`,
      credentials,
      accept: "service",
      // Polled: closing an event stream (aborting its fetch) makes Node's fetch (undici)
      // open a new connection it never uses, and Node's server.close() waits on such a
      // connection until its idle timeout (nodejs/undici#5845, nodejs/node#63452).
      follow: "poll",
      now: () => h.clock.now(),
    });
    try {
      await services.ready();
      expect(await verdict(services, token)).toBe("kind");
    } finally {
      services.close();
    }
    const logout = await h.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${token}`, origin: ORIGIN },
    });
    expect(logout.statusCode).toBe(204);
    const start = Date.now();
    while ((await verdict(verifier, token)) !== "revoked") {
      if (Date.now() - start > 2000) throw new Error("the ended session was not refused");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it("remembers verified tokens until they expire, not after (as the server does: no FIFO of dead ones)", async () => {
    const first = await userToken();
    const held = verifier.remembered;
    expect(await verdict(verifier, first.token)).toBe("accepted");
    expect(verifier.remembered).toBe(held + 1);
    // Past every token verified so far, plus the tolerance: they go when a new one is remembered.
    const { exp } = decode(first.token).payload as { exp: number };
    const later = exp * 1000 + 6000 - h.clock.now();
    h.clock.advance(later);
    try {
      const next = await userToken();
      expect(await verdict(verifier, next.token)).toBe("accepted");
      expect(verifier.remembered).toBe(1);
      expect(await verdict(verifier, first.token)).toBe("expired");
    } finally {
      h.clock.advance(-later);
    }
  });
});

describe("the token lifetime, against a latchkey whose ACCESS_TOKEN_TTL is not 600 (issue 25)", () => {
  it("unset, accessTokenTtl checks no lifetime (exp still); set, it is the server's rule exactly", async () => {
    // SESSION_IDLE_TIMEOUT 1800: tokens live 900 s, half of it, past the old default of 600.
    const longer = await startHarness({ ACCESS_TOKEN_TTL: "900" });
    await longer.app.listen({ port: 0, host: "127.0.0.1" });
    const opened: Verifier[] = [];
    try {
      const address = `http://127.0.0.1:${(longer.app.server.address() as { port: number }).port}`;
      const { service, clientSecret } = await longer.server.auth.services.create("longer");
      const verifierOf = (accessTokenTtl?: number) => {
        const made = createVerifier({
          issuer: ORIGIN,
          baseUrl: address,
          credentials: { clientId: service.id, clientSecret },
          follow: "poll",
          now: () => longer.clock.now(),
          ...(accessTokenTtl !== undefined && { accessTokenTtl }),
        });
        opened.push(made);
        return made;
      };
      const unset = verifierOf();
      const exact = verifierOf(900);
      const smaller = verifierOf(600);
      await Promise.all(opened.map((made) => made.ready()));
      const client = longer.client();
      const name = uniqueName("longer");
      await client.register(name);
      const token = (await client.token(name)).json().access_token as string;
      const { iat, exp } = decode(token).payload as { iat: number; exp: number };
      expect(exp - iat).toBe(900);
      // 700 s old: past 600, within the server's 900.
      longer.clock.advance(700_000);
      expect(await verdict(unset, token)).toBe("accepted");
      expect(await verdict(exact, token)).toBe("accepted");
      expect((await longer.client().bearer("GET", "/auth/me", token)).statusCode).toBe(200);
      expect(await verdict(smaller, token)).toBe("lifetime");
      // Past exp and the tolerance, refused however the lifetime is set.
      longer.clock.advance(206_000);
      expect(await verdict(unset, token)).toBe("expired");
      expect(() => verifierOf(0)).toThrow(/accessTokenTtl must be latchkey's ACCESS_TOKEN_TTL/);
      expect(() => verifierOf(Number.NaN)).toThrow(RangeError);
    } finally {
      for (const made of opened) made.close();
      await longer.close();
    }
  });
});

function signJwt(key: CryptoKey, kid: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" }).sign(key);
}
