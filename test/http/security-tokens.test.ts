/**
 * Security checklist lines 17 and 27-37: access tokens (JWT) against the real server.
 */
import { createHmac, createPublicKey, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, ORIGIN, startHarness, uniqueName } from "../helpers/harness.js";
import { b64, decode, serverSigningKey, signWithServerKey } from "../helpers/tokens.js";

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

async function tokensFor(c: Client): Promise<{ tokens: Tokens; userId: string; sessionId: string }> {
  const name = uniqueName();
  await c.register(name);
  const response = await c.token(name);
  expect(response.statusCode).toBe(200);
  const tokens = response.json() as Tokens;
  const { payload } = decode(tokens.access_token);
  return { tokens, userId: String(payload.sub), sessionId: String(payload.sid) };
}

describe("security checklist 17, 27-37 (access tokens)", () => {
  let h: Harness;
  let c: Client;
  let valid: { tokens: Tokens; userId: string; sessionId: string };
  beforeAll(async () => {
    h = await startHarness();
    c = h.client();
    valid = await tokensFor(c);
  });
  afterAll(() => h.close());

  const status = async (token: string, url = "/auth/me") => (await c.bearer("GET", url, token)).statusCode;
  const expectRefused = async (token: string) => {
    const response = await c.bearer("GET", "/api/todos", token);
    expect(response.statusCode, token.slice(0, 60)).toBe(401);
    expect(response.json().error.code).toBe("invalid_token");
    expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
  };
  const claims = () => {
    const now = Math.floor(h.clock.now() / 1000);
    return { iss: ORIGIN, aud: ORIGIN, sub: valid.userId, sid: valid.sessionId, iat: now, exp: now + 600, jti: "j1" };
  };

  it("issues a well-formed access token that works as a bearer token", async () => {
    const { header, payload } = decode(valid.tokens.access_token);
    expect(header).toEqual({ alg: "EdDSA", kid: expect.any(String), typ: "at+jwt" });
    expect(payload).toEqual({
      iss: ORIGIN,
      aud: ORIGIN,
      sub: valid.userId,
      sid: valid.sessionId,
      kind: "user",
      roles: ["user"],
      roles_at: expect.any(Number),
      auth_time: expect.any(Number),
      amr: ["pwd"],
      iat: expect.any(Number),
      exp: (payload.iat as number) + 600,
      jti: expect.any(String),
    });
    // Issued at the sign-in: the person proved who they are then, not later.
    expect(payload.auth_time).toBeLessThanOrEqual(payload.iat as number);
    expect(payload.auth_time).toBeGreaterThan((payload.iat as number) - 5);
    expect(valid.tokens.token_type).toBe("Bearer");
    expect(valid.tokens.expires_in).toBe(600);
    expect(await status(valid.tokens.access_token)).toBe(200);
    expect(await status(valid.tokens.access_token, "/api/todos")).toBe(200);
    // A token signed by the test with the server's key verifies too: the crafting helper works.
    expect(await status(await signWithServerKey(h, claims()))).toBe(200);
  });

  it.each(["none", "None", "NONE", "nOnE"])("security 27: alg %s, with and without the trailing dot", async (alg) => {
    const unsigned = `${b64({ alg, typ: "at+jwt" })}.${b64(claims())}`;
    await expectRefused(`${unsigned}.`);
    await expectRefused(unsigned);
  });

  it("security 28: null, truncated, bit-flipped signatures and edited claims", async () => {
    const [header, payload, signature] = valid.tokens.access_token.split(".") as [string, string, string];
    await expectRefused(`${header}.${payload}.`);
    await expectRefused(`${header}.${payload}.${signature.slice(0, -4)}`);
    const bytes = Buffer.from(signature, "base64url");
    bytes[10] = (bytes[10] as number) ^ 0x01;
    await expectRefused(`${header}.${payload}.${bytes.toString("base64url")}`);
    const edited = b64({ ...decode(valid.tokens.access_token).payload, sub: "someone-else" });
    await expectRefused(`${header}.${edited}.${signature}`);
  });

  it("security 29: HS256 signed with the server's public key (PEM, DER, JWK, raw)", async () => {
    const { publicJwk, kid } = await serverSigningKey(h);
    const publicKey = createPublicKey({ key: publicJwk as never, format: "jwk" });
    const secrets = [
      publicKey.export({ type: "spki", format: "pem" }),
      publicKey.export({ type: "spki", format: "der" }),
      JSON.stringify(publicJwk),
      Buffer.from(publicJwk.x as string, "base64url"),
    ];
    for (const secret of secrets) {
      const input = `${b64({ alg: "HS256", typ: "at+jwt", kid })}.${b64(claims())}`;
      const mac = createHmac("sha256", secret).update(input).digest("base64url");
      await expectRefused(`${input}.${mac}`);
    }
  });

  it("security 30: any algorithm other than the configured one", async () => {
    const { kid } = await serverSigningKey(h);
    for (const alg of ["ES256", "RS256", "PS256", "ES384"] as const) {
      const { privateKey } = await generateKeyPair(alg);
      await expectRefused(await new SignJWT(claims()).setProtectedHeader({ alg, kid, typ: "at+jwt" }).sign(privateKey));
    }
    await expectRefused(
      await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" }).sign(new Uint8Array(32)),
    );
  });

  it("security 31: key material in the header is ignored and never fetched", async () => {
    let fetched = 0;
    const trap = createServer((_req, res) => {
      fetched++;
      res.end("{}");
    });
    await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/jwks.json`;
    try {
      const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
      const jwk = await exportJWK(publicKey);
      const { publicKey: rsaPublic } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const x5c = rsaPublic.export({ type: "spki", format: "der" }).toString("base64");
      for (const extra of [
        { jwk },
        { jku: url },
        { x5u: url },
        { x5c: [x5c] },
        { jwk, kid: "attacker" },
        { jku: url, kid: "x" },
      ]) {
        await expectRefused(
          await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...extra }).sign(privateKey),
        );
      }
      expect(fetched).toBe(0);
    } finally {
      trap.close();
    }
  });

  it("security 32: kid injection answers 401 at once", async () => {
    const { key } = await serverSigningKey(h);
    const kids: unknown[] = [
      "../../../../etc/passwd",
      "' OR '1'='1",
      "$(sleep 5)",
      "`sleep 5`",
      "x".repeat(2000),
      123,
      null,
      {},
      ["a"],
    ];
    for (const kid of kids) {
      const start = Date.now();
      await expectRefused(
        await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid } as never).sign(key),
      );
      expect(Date.now() - start).toBeLessThan(1000);
    }
  });

  it("security 34: expired, future nbf, future iat, missing or string exp; skew within CLOCK_TOLERANCE passes", async () => {
    const base = claims();
    const now = base.iat;
    expect(await status(await signWithServerKey(h, { ...base, exp: now - 3 }))).toBe(200); // within 5 s
    await expectRefused(await signWithServerKey(h, { ...base, exp: now - 6 }));
    await expectRefused(await signWithServerKey(h, { ...base, nbf: now + 60 }));
    expect(await status(await signWithServerKey(h, { ...base, nbf: now + 3 }))).toBe(200);
    await expectRefused(await signWithServerKey(h, { ...base, iat: now + 60 }));
    expect(await status(await signWithServerKey(h, { ...base, iat: now + 3 }))).toBe(200);
    const { exp: _exp, ...noExp } = base;
    await expectRefused(await signWithServerKey(h, noExp));
    await expectRefused(await signWithServerKey(h, { ...base, exp: String(now + 600) as never }));
    // The real token expires with the frozen clock.
    h.clock.advance(606_000);
    await expectRefused(valid.tokens.access_token);
    h.clock.advance(-606_000);
    expect(await status(valid.tokens.access_token)).toBe(200);
  });

  it("auth_time and amr: a token without them (issued before them) passes; of another type, or auth_time after iat, refused", async () => {
    const base = claims();
    expect(await status(await signWithServerKey(h, base))).toBe(200);
    expect(await status(await signWithServerKey(h, { ...base, auth_time: base.iat - 60, amr: ["otp", "pwd"] }))).toBe(
      200,
    );
    for (const bad of [
      { auth_time: String(base.iat) },
      { auth_time: base.iat + 1 },
      { amr: "pwd" },
      { amr: [] },
      { amr: [1] },
      { amr: Array.from({ length: 17 }, (_, i) => `m${i}`) },
      { amr: ["x".repeat(33)] },
    ]) {
      await expectRefused(await signWithServerKey(h, { ...base, ...bad } as never));
    }
  });

  it("security 35: wrong iss, wrong or missing aud, wrong typ, a refresh token as bearer, an access token as refresh", async () => {
    const base = claims();
    await expectRefused(await signWithServerKey(h, { ...base, iss: "https://evil.example" }));
    await expectRefused(await signWithServerKey(h, { ...base, aud: "https://other.example" }));
    const { aud: _aud, ...noAud } = base;
    await expectRefused(await signWithServerKey(h, noAud));
    await expectRefused(await signWithServerKey(h, base, { typ: "JWT" }));
    await expectRefused(await signWithServerKey(h, base, { typ: undefined }));
    await expectRefused(valid.tokens.refresh_token);
    const refresh = await c.refresh(valid.tokens.access_token);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe("invalid_grant");
  });

  it("security 36: malformed tokens and headers answer 400, 401 or 431, never 500", async () => {
    const [header, payload, signature] = valid.tokens.access_token.split(".") as [string, string, string];
    const { kid, key } = await serverSigningKey(h);
    const malformed = [
      `${header}.${payload}`,
      `${header}.${payload}.${signature}.${signature}`,
      `${header}.${payload}.${signature}.x.y`,
      JSON.stringify({ protected: header, payload, signature }),
      `${header}.${payload}.${signature}==`,
      `${header}.${payload}.${signature.replace(/[-_]/g, "+")}/`,
      `${header}.${b64(Buffer.from([0xff, 0xfe, 0xfd]).toString("latin1"))}.${signature}`,
      `${header}.${Buffer.from([0xc3, 0x28]).toString("base64url")}.${signature}`,
      await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt", crit: ["exp"] } as never)
        .sign(key)
        .catch(() => "x.y.z"),
      `${b64({ alg: "EdDSA", kid, typ: "at+jwt", crit: ["b64"], b64: false })}.${payload}.${signature}`,
      `${b64({ alg: "EdDSA", kid, typ: "at+jwt", pad: "x".repeat(10_000) })}.${payload}.${signature}`,
      `${header}.${b64("[1,2,3]")}.${signature}`,
      `${header}.${b64("123")}.${signature}`,
      "",
    ];
    for (const token of malformed) {
      const response = await c.request({
        method: "GET",
        url: "/auth/me",
        cookies: false,
        headers: { authorization: `Bearer ${token}` },
      });
      expect([400, 401, 431], token.slice(0, 50)).toContain(response.statusCode);
    }
    for (const authorization of [
      "Bearer",
      "Bearer ",
      `Bearer  ${valid.tokens.access_token}x`,
      `Bearer\t${valid.tokens.access_token}`,
      `Token ${valid.tokens.access_token}`,
      `Bearer ${valid.tokens.access_token} extra`,
    ]) {
      const response = await c.request({ method: "GET", url: "/auth/me", cookies: false, headers: { authorization } });
      expect([400, 401], authorization.slice(0, 20)).toContain(response.statusCode);
    }
    // Payload types checked only after a valid signature: a non-object payload signed by us.
    const nonObject = await new SignJWT({ sid: 5, sub: 7 } as never)
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
      .setIssuer(ORIGIN)
      .setAudience(ORIGIN)
      .setIssuedAt(Math.floor(h.clock.now() / 1000))
      .setExpirationTime(Math.floor(h.clock.now() / 1000) + 60)
      .setJti("j")
      .sign(key);
    await expectRefused(nonObject);
  });

  it("security 36: a 1 MB Authorization header over a real socket answers 431", async () => {
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const port = (h.app.server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/auth/me`, {
      headers: { authorization: `Bearer ${"a".repeat(1024 * 1024)}` },
    }).catch((error: Error) => error);
    if (response instanceof Error) {
      // Some clients see the connection closed after the 431: that is a refusal too.
      expect(response.message).toMatch(/fetch failed|closed|reset/i);
    } else {
      expect(response.status).toBe(431);
    }
  });

  it("security 37: the JWKS holds public keys only, each with kid, alg and use", async () => {
    const response = await h.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(response.statusCode).toBe(200);
    const { keys } = response.json() as { keys: Array<Record<string, unknown>> };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toHaveProperty("d");
      expect(key).not.toHaveProperty("k");
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: expect.any(String) });
    }
    const { kid } = await serverSigningKey(h);
    expect(keys.map((k) => k.kid)).toContain(kid);
  });

  it("security 17: logout kills the session's access and refresh tokens", async () => {
    const mine = await tokensFor(c);
    expect(await status(mine.tokens.access_token)).toBe(200);
    const logout = await c.bearer("POST", "/auth/logout", mine.tokens.access_token);
    expect(logout.statusCode).toBe(204);
    await expectRefused(mine.tokens.access_token);
    const refresh = await c.refresh(mine.tokens.refresh_token);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe("invalid_grant");
  });

  it("security 17: revoking a refresh token (RFC 7009) ends the session; unknown tokens answer 200 too", async () => {
    const mine = await tokensFor(c);
    const revoke = await c.request({
      method: "POST",
      url: "/auth/revoke",
      body: { token: mine.tokens.refresh_token },
      cookies: false,
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json()).toEqual({});
    await expectRefused(mine.tokens.access_token);
    const other = await tokensFor(c);
    await c.request({
      method: "POST",
      url: "/auth/revoke",
      body: { token: other.tokens.access_token },
      cookies: false,
    });
    expect((await c.refresh(other.tokens.refresh_token)).statusCode).toBe(401);
    for (const token of ["nonsense", `${"A".repeat(22)}.${"B".repeat(43)}`, valid.tokens.access_token.slice(0, -5)]) {
      const unknown = await c.request({ method: "POST", url: "/auth/revoke", body: { token }, cookies: false });
      expect(unknown.statusCode).toBe(200);
    }
    expect(await status(valid.tokens.access_token)).toBe(200);
  });

  it("security 18 and 20: logout-all and a disabled account kill every token at once", async () => {
    const name = uniqueName();
    await c.register(name);
    const one = (await c.token(name)).json() as Tokens;
    const two = (await c.token(name)).json() as Tokens;
    expect((await c.bearer("POST", "/auth/logout-all", one.access_token)).statusCode).toBe(204);
    await expectRefused(one.access_token);
    await expectRefused(two.access_token);
    expect((await c.refresh(two.refresh_token)).statusCode).toBe(401);

    const three = (await c.token(name)).json() as Tokens;
    await h.server.auth.accounts.disable(name);
    await expectRefused(three.access_token);
    expect((await c.refresh(three.refresh_token)).statusCode).toBe(401);
    expect((await c.token(name)).json().error.code).toBe("account_disabled");
  });

  it("security 26: a bearer token for user B with a cookie of user A: B, every time", async () => {
    const alice = h.client();
    await alice.signUpAndLogIn(uniqueName("alice"));
    const bob = await tokensFor(c);
    for (let i = 0; i < 3; i++) {
      const me = await alice.get("/auth/me", { authorization: `Bearer ${bob.tokens.access_token}` });
      expect(me.statusCode).toBe(200);
      expect(me.json().user.id).toBe(bob.userId);
      expect(me.json()).not.toHaveProperty("csrfToken");
    }
    // And a bearer request needs no CSRF token, cookies or not.
    const post = await alice.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "bob's" },
      csrf: false,
      headers: { authorization: `Bearer ${bob.tokens.access_token}` },
    });
    expect(post.statusCode).toBe(201);
    expect((await alice.get("/api/todos")).json().todos).toHaveLength(0);
  });
});

describe("REVOCATION=expiry", () => {
  it("lets an ended session's access token live until exp, but never its refresh token", async () => {
    const h = await startHarness({ REVOCATION: "expiry" });
    try {
      const c = h.client();
      const { tokens } = await tokensFor(c);
      expect((await c.bearer("POST", "/auth/logout", tokens.access_token)).statusCode).toBe(204);
      expect((await c.bearer("GET", "/api/todos", tokens.access_token)).statusCode).toBe(200);
      expect((await c.refresh(tokens.refresh_token)).statusCode).toBe(401);
      h.clock.advance(606_000);
      expect((await c.bearer("GET", "/api/todos", tokens.access_token)).statusCode).toBe(401);
    } finally {
      await h.close();
    }
  });
});

describe("security 33 and 37 under ES256 and HS256", () => {
  it("security 33: ES256 zero signature (CVE-2022-21449) and DER-encoded signatures are refused", async () => {
    const h = await startHarness({ JWT_ALG: "ES256" });
    try {
      const c = h.client();
      const { tokens } = await tokensFor(c);
      expect(decode(tokens.access_token).header.alg).toBe("ES256");
      expect((await c.bearer("GET", "/auth/me", tokens.access_token)).statusCode).toBe(200);
      const [header, payload, signature] = tokens.access_token.split(".") as [string, string, string];
      const zero = Buffer.alloc(64).toString("base64url");
      expect((await c.bearer("GET", "/auth/me", `${header}.${payload}.${zero}`)).statusCode).toBe(401);
      const raw = Buffer.from(signature, "base64url");
      const der = (n: Buffer) => {
        const trimmed = n[0] === 0 ? n.subarray(1) : n;
        const padded = (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
        return Buffer.concat([Buffer.from([0x02, padded.length]), padded]);
      };
      const body = Buffer.concat([der(raw.subarray(0, 32)), der(raw.subarray(32))]);
      const derSignature = Buffer.concat([Buffer.from([0x30, body.length]), body]).toString("base64url");
      expect((await c.bearer("GET", "/auth/me", `${header}.${payload}.${derSignature}`)).statusCode).toBe(401);
      // The JWKS publishes the P-256 public key only.
      const { keys } = (await h.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json();
      expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(keys[0]).not.toHaveProperty("d");
    } finally {
      await h.close();
    }
  });

  it("security 37: under HS256 the JWKS is empty; tokens verify with JWT_SECRET only", async () => {
    const secret = "0123456789abcdef0123456789abcdef-test";
    const h = await startHarness({ JWT_ALG: "HS256", JWT_SECRET: secret });
    try {
      const c = h.client();
      const { tokens, userId, sessionId } = await tokensFor(c);
      expect(decode(tokens.access_token).header.alg).toBe("HS256");
      expect((await c.bearer("GET", "/auth/me", tokens.access_token)).statusCode).toBe(200);
      expect((await h.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json()).toEqual({ keys: [] });
      const now = Math.floor(h.clock.now() / 1000);
      const forged = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: decode(tokens.access_token).header.kid as string })
        .setIssuer(ORIGIN)
        .setAudience(ORIGIN)
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti("x")
        .sign(new TextEncoder().encode("another-secret-another-secret-xx"));
      expect((await c.bearer("GET", "/auth/me", forged)).statusCode).toBe(401);
    } finally {
      await h.close();
    }
  });
});
