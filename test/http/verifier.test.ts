/**
 * `latchkey/verify` against a real latchkey server on a socket: a service verifies tokens
 * locally and refuses one within a second of its session ending; a rotation is followed;
 * a service's token passes only where services are accepted; the feed unreadable fails
 * closed (503) by default and open on request; the middleware answers in the contract's
 * format.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import express from "express";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feedError } from "../../packages/verify/src/errors.js";
import {
  createVerifier,
  type FeedError,
  protect,
  type Verifier,
  VerifyError,
  verifyExpress,
} from "../../packages/verify/src/index.js";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

const ORIGIN = "http://localhost:3000";
let h: Harness;
let base: string;
let credentials: { clientId: string; clientSecret: string };
const verifiers: Verifier[] = [];

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const { service, clientSecret } = await h.server.auth.services.create("reports");
  credentials = { clientId: service.id, clientSecret };
});
afterAll(async () => {
  for (const verifier of verifiers) verifier.close();
  await h.close();
});

/** A verifier of the server above (its tokens say `iss` = PUBLIC_ORIGIN; it answers at `base`). */
async function verifierFor(options: Partial<Parameters<typeof createVerifier>[0]> = {}): Promise<Verifier> {
  const verifier = createVerifier({
    issuer: ORIGIN,
    baseUrl: base,
    credentials,
    pollIntervalMs: 100,
    now: () => h.clock.now(),
    ...options,
  });
  verifiers.push(verifier);
  await verifier.ready();
  return verifier;
}

async function userToken() {
  const c = h.client();
  const name = uniqueName("verify");
  await c.register(name);
  return (await c.token(name)).json() as { access_token: string; refresh_token: string };
}

const refused = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof VerifyError ? `${error.statusCode} ${error.code}` : String(error)),
  );

/** Polls until `check` holds, up to `ms`; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - start;
}

describe("latchkey/verify", () => {
  it("verifies a live user's token locally, and refuses it within a second of logout", async () => {
    const verifier = await verifierFor();
    const { access_token } = await userToken();
    const verified = await verifier.verify(access_token);
    expect(verified).toMatchObject({ kind: "user" });
    // When and how the person signed in (issue 32): the token's sign-in, with a password.
    if (verified.kind !== "user") throw new Error("not a user's token");
    expect(verified.amr).toEqual(["pwd"]);
    expect(verified.authTime).toBeLessThanOrEqual(verified.issuedAt);
    expect(verified.authTime).toBeGreaterThan(verified.issuedAt - 5000);
    const logout = await h.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${access_token}`, origin: ORIGIN },
    });
    expect(logout.statusCode).toBe(204);
    const took = await within(1000, async () => (await refused(verifier.verify(access_token))) === "401 invalid_token");
    expect(took).toBeLessThan(1000);
  });

  it("refuses forged and foreign tokens, and a service's token unless services are accepted", async () => {
    const users = await verifierFor();
    const services = await verifierFor({ accept: "service" });
    const { access_token } = await userToken();
    const [head, body, signature] = access_token.split(".") as [string, string, string];
    expect(
      await refused(users.verify(`${head}.${body}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`)),
    ).toBe("401 invalid_token");
    expect(await refused(users.verify("not.a.token"))).toBe("401 invalid_token");
    const grant = await h.app.inject({
      method: "POST",
      url: "/auth/token",
      payload: "grant_type=client_credentials",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString("base64")}`,
      },
    });
    const serviceToken = grant.json().access_token as string;
    expect(await refused(users.verify(serviceToken))).toBe("401 invalid_token");
    expect(await services.verify(serviceToken)).toMatchObject({ kind: "service", serviceId: credentials.clientId });
    expect(await refused(services.verify(access_token))).toBe("401 invalid_token");
  });

  it("remembers a verified token, yet refuses it once it expires", async () => {
    const verifier = await verifierFor();
    const { access_token } = await userToken();
    expect((await verifier.verify(access_token)).kind).toBe("user");
    expect((await verifier.verify(access_token)).kind).toBe("user"); // from memory
    h.clock.advance(3600_000);
    expect(await refused(verifier.verify(access_token))).toBe("401 invalid_token");
  });

  it("follows a key rotation: a token signed with the new key verifies", async () => {
    const verifier = await verifierFor();
    await h.server.auth.keys.rotate();
    const { access_token } = await userToken();
    expect((await verifier.verify(access_token)).kind).toBe("user");
  });

  it("fails closed while the feed cannot be read (wrong credentials here), or open when asked to", async () => {
    const { access_token } = await userToken();
    const closed = createVerifier({
      issuer: ORIGIN,
      baseUrl: base,
      credentials: { ...credentials, clientSecret: "wrong" },
      pollIntervalMs: 100,
      now: () => h.clock.now(),
    });
    verifiers.push(closed);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await refused(closed.verify(access_token))).toBe("503 service_unavailable");

    // Open: once the feed was read, an outage past the tolerance still accepts until exp.
    const open = await verifierFor({ whenFeedDown: "open", tolerateMs: 200 });
    open.close(); // no more reads: the feed is "down" from here
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await open.verify(access_token)).kind).toBe("user");
    const strict = await verifierFor({ tolerateMs: 200 });
    strict.close();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await refused(strict.verify(access_token))).toBe("503 service_unavailable");
  });

  it("answers a refusal in the contract's format from the fetch middleware", async () => {
    const verifier = await verifierFor();
    const answer = await protect(verifier, new Request("http://service/reports"), () => new Response("ok"));
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
    const { access_token } = await userToken();
    const ok = await protect(
      verifier,
      new Request("http://service/reports", { headers: { authorization: `Bearer ${access_token}` } }),
      (who) => Response.json({ kind: who.kind }),
    );
    expect(await ok.json()).toEqual({ kind: "user" });
  });
});

describe("latchkey/verify in an Express app (issue 25, item 2)", () => {
  it("verifyExpress gives the route req.token, declared on Express's Request; the contract's error otherwise", async () => {
    const verifier = await verifierFor();
    const reports = express();
    // \`req.token\` type-checks with no cast: the package declares it on Express's Request.
    reports.get("/reports", verifyExpress(verifier), (req, res) => {
      res.json({ kind: req.token?.kind, user: req.token?.kind === "user" ? req.token.userId : null });
    });
    const listening = reports.listen(0, "127.0.0.1");
    await new Promise((resolve) => listening.once("listening", resolve));
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/reports`;
    try {
      const { access_token } = await userToken();
      const ok = await fetch(url, { headers: { authorization: `Bearer ${access_token}` } });
      expect(await ok.json()).toEqual({ kind: "user", user: expect.any(String) });
      const refused = await fetch(url);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
  });
});

describe("latchkey/verify, with a lagging instance", () => {
  it("after a rotation, a key set fetched from an instance that had not reloaded yet is fetched again", async () => {
    const { createServer } = await import("node:http");
    const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
    const oldKey = await generateKeyPair("EdDSA", { extractable: true });
    const newKey = await generateKeyPair("EdDSA", { extractable: true });
    const jwk = async (key: CryptoKey, kid: string) => ({ ...(await exportJWK(key)), kid, alg: "EdDSA", use: "sig" });
    const oldSet = { keys: [await jwk(oldKey.publicKey, "old")] };
    const newSet = { keys: [await jwk(oldKey.publicKey, "old"), await jwk(newKey.publicKey, "new")] };
    let staleAnswers = 2; // the first fetches (at start, and the one the rotation triggers) reach a lagging instance
    let rotated = false;
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url?.startsWith("/.well-known/jwks.json")) {
        res.end(JSON.stringify(staleAnswers-- > 0 ? oldSet : newSet));
        return;
      }
      // The rotation is told once: a reader past it (cursor "b") hears nothing more.
      const told = req.url?.includes("since=b") ?? false;
      const entries = rotated && !told ? [{ type: "keys_changed", at: Math.floor(Date.now() / 1000) }] : [];
      res.end(JSON.stringify({ entries, cursor: rotated ? "b" : "a", reset: false, more: false }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const verifier = createVerifier({ issuer: "https://auth.test", baseUrl: url, credentials, pollIntervalMs: 50 });
    verifiers.push(verifier);
    const sign = (key: CryptoKey, kid: string) =>
      new SignJWT({ sid: "s1", kind: "user" })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .setIssuer("https://auth.test")
        .setAudience("https://auth.test")
        .setSubject("u1")
        .setJti("j1")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(key);
    try {
      await verifier.ready();
      expect((await verifier.verify(await sign(oldKey.privateKey, "old"))).kind).toBe("user");
      rotated = true;
      await new Promise((resolve) => setTimeout(resolve, 300)); // the feed told of the rotation; the reload got the stale set
      expect((await verifier.verify(await sign(newKey.privateKey, "new"))).kind).toBe("user");
    } finally {
      server.close();
    }
  });
});

/**
 * A stand-in latchkey on a socket, for what the real one does not do on demand: its key
 * set, a feed page whose answer the test sets (`ok`, `reset`, or `fail`: a 500), and an
 * introspection that never answers.
 */
async function standInLatchkey() {
  const key = await generateKeyPair("EdDSA", { extractable: true });
  const keys = { keys: [{ ...(await exportJWK(key.publicKey)), kid: "k1", alg: "EdDSA", use: "sig" }] };
  const state = { feed: "ok" as "ok" | "reset" | "fail", introspections: 0 };
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/auth/introspect")) {
      state.introspections += 1;
      return; // never answered
    }
    if (!req.url?.startsWith("/.well-known/jwks.json") && state.feed === "fail") {
      res.writeHead(500).end();
      return;
    }
    const page = { entries: [], cursor: "c1", reset: state.feed === "reset", more: false };
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(req.url?.startsWith("/.well-known/jwks.json") ? keys : page));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const open: Verifier[] = [];
  return {
    state,
    verifier(options: Partial<Parameters<typeof createVerifier>[0]> = {}): Verifier {
      const made = createVerifier({
        issuer: "https://auth.test",
        baseUrl: url,
        credentials,
        follow: "poll",
        pollIntervalMs: 50,
        ...options,
      });
      open.push(made);
      return made;
    },
    /** A user's token issued `ageSeconds` ago, living 5 minutes. */
    token: (ageSeconds = 0) =>
      new SignJWT({ sid: "s1", kind: "user" })
        .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
        .setIssuer("https://auth.test")
        .setAudience("https://auth.test")
        .setSubject("u1")
        .setJti(`j${Math.random()}`)
        .setIssuedAt(Math.floor(Date.now() / 1000) - ageSeconds)
        .setExpirationTime(Math.floor(Date.now() / 1000) - ageSeconds + 300)
        .sign(key.privateKey),
    async close() {
      for (const made of open) made.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof VerifyError ? `${error.statusCode} ${error.reason}` : String(error)),
  );

describe("latchkey/verify, review of issue 25", () => {
  it("refuses an address with a user or password without repeating it; fetch's TypeError reaches no FeedError", async () => {
    const secret = "hunter2-secret-pw";
    const wrong = [
      { issuer: `http://svc:${secret}@127.0.0.1:3000`, credentials },
      { issuer: ORIGIN, baseUrl: `http://svc:${secret}@127.0.0.1:3000`, credentials },
      { issuer: `http://svc:${secret}@localhost:3000`, baseUrl: base, credentials },
    ];
    for (const options of wrong) {
      const thrown = (() => {
        try {
          createVerifier(options).close();
        } catch (error) {
          return error;
        }
      })();
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as TypeError).message).toMatch(/must not hold a user or password.*credentials/);
      expect(inspect(thrown)).not.toContain(secret);
    }
    expect(() => createVerifier({ issuer: "auth.example", credentials })).toThrow(
      /must be latchkey's http\(s\) address/,
    );
    expect(() => createVerifier({ issuer: ORIGIN, prefix: "api", credentials })).toThrow(/prefix must be/);
    // fetch's own TypeError repeats the URL, password and all: neither it nor its message is kept.
    const refusedByFetch = await fetch(`http://svc:${secret}@127.0.0.1:1/`).catch((error: unknown) => error);
    expect(inspect(refusedByFetch)).toContain(secret);
    const told = feedError(refusedByFetch, "http://127.0.0.1:1/auth/revocations");
    expect(told.reason).toBe("unreachable");
    expect("cause" in told).toBe(false);
    expect(told.message).toBe("latchkey cannot be reached at http://127.0.0.1:1/auth/revocations (TypeError).");
    expect(inspect(told)).not.toContain(secret);
  });

  it("after a feed reset, an introspection latchkey never answers is a 503 within 10 s; close() ends one at once", async () => {
    const latchkey = await standInLatchkey();
    try {
      const verifier = latchkey.verifier();
      await verifier.ready();
      const token = await latchkey.token(10);
      expect((await verifier.verify(token)).kind).toBe("user");
      latchkey.state.feed = "reset"; // tokens issued before it are confirmed with latchkey
      await new Promise((resolve) => setTimeout(resolve, 300));
      const start = Date.now();
      expect(await failure(verifier.verify(token))).toBe("503 introspection_failed");
      expect(Date.now() - start).toBeGreaterThanOrEqual(9900);
      expect(Date.now() - start).toBeLessThan(12_000);
      const pending = failure(verifier.verify(token));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closedAt = Date.now();
      verifier.close();
      expect(await pending).toBe("503 introspection_failed");
      expect(Date.now() - closedAt).toBeLessThan(500);
      expect(latchkey.state.introspections).toBe(2);
    } finally {
      await latchkey.close();
    }
  });

  it("an onFeedError that throws stops nothing: the feed is followed on, and no unhandled rejection", async () => {
    const latchkey = await standInLatchkey();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      latchkey.state.feed = "fail";
      const told: FeedError[] = [];
      const verifier = latchkey.verifier({
        onFeedError: (error) => {
          told.push(error);
          throw new Error("a bug in the host's callback");
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(told.map((error) => error.reason)).toEqual(["refused"]);
      latchkey.state.feed = "ok";
      await verifier.ready({ timeoutMs: 2000 });
      expect((await verifier.verify(await latchkey.token())).kind).toBe("user");
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await latchkey.close();
    }
  });
});
