/**
 * Services over HTTP (issue 15): the client-credentials grant (RFC 6749 4.4) and token
 * introspection (RFC 7662), with service credentials in HTTP Basic. A service's token
 * never passes for a user's; a user's token never introspects; introspection answers from
 * the store, so a token of an ended session is inactive before its `exp`.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

const ORIGIN = "http://localhost:3000";
let h: Harness;
let clientId: string;
let clientSecret: string;

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

async function post(url: string, body: string, headers: Record<string, string>) {
  return h.app.inject({ method: "POST", url, payload: body, headers: { origin: ORIGIN, ...headers } });
}
const form = { "content-type": "application/x-www-form-urlencoded" };

async function serviceToken(id = clientId, secret = clientSecret) {
  return post("/auth/token", "grant_type=client_credentials", { ...form, authorization: basic(id, secret) });
}

async function introspect(token: string, authorization = basic(clientId, clientSecret)) {
  return post("/auth/introspect", new URLSearchParams({ token }).toString(), { ...form, authorization });
}

/** A user signed in as an API client: its access token and session. */
async function userToken() {
  const c = h.client();
  const name = uniqueName("svcuser");
  await c.register(name);
  const tokens = (await c.token(name)).json() as { access_token: string; refresh_token: string };
  return { ...tokens, name };
}

beforeAll(async () => {
  h = await startHarness();
  ({
    service: { id: clientId },
    clientSecret,
  } = await h.server.auth.services.create("billing"));
});
afterAll(() => h.close());

describe("the client-credentials grant", () => {
  it("gives a service its own short-lived token (form or JSON), with no refresh token", async () => {
    const viaForm = await serviceToken();
    expect(viaForm.statusCode).toBe(200);
    const body = viaForm.json() as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    const [, payload] = (body.access_token as string).split(".");
    const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString());
    expect(claims).toMatchObject({ kind: "service", sub: clientId, client_id: clientId, iss: ORIGIN, aud: ORIGIN });
    expect(claims.sid).toBeUndefined();
    const viaJson = await post("/auth/token", JSON.stringify({ grant_type: "client_credentials" }), {
      "content-type": "application/json",
      authorization: basic(clientId, clientSecret),
    });
    expect(viaJson.statusCode).toBe(200);
  });

  it("refuses wrong, missing and unknown credentials with invalid_client and a Basic challenge", async () => {
    for (const response of [
      await serviceToken(clientId, `${clientSecret}x`),
      await serviceToken("svc_nobodynobodynobodyno", clientSecret),
      await post("/auth/token", "grant_type=client_credentials", form),
    ]) {
      expect([response.statusCode, response.json().error.code]).toEqual([401, "invalid_client"]);
      expect(response.headers["www-authenticate"]).toBe('Basic realm="latchkey"');
    }
  });

  it("takes a password only as JSON, and refuses a form field sent twice", async () => {
    const { name } = await userToken();
    const formLogin = await post(
      "/auth/token",
      new URLSearchParams({ username: name, password: PASSWORD }).toString(),
      form,
    );
    expect(formLogin.statusCode).toBe(415);
    const twice = await post("/auth/token", "grant_type=client_credentials&grant_type=client_credentials", {
      ...form,
      authorization: basic(clientId, clientSecret),
    });
    expect([twice.statusCode, twice.json().error.code]).toEqual([400, "invalid_request"]);
    // No other route takes forms.
    const register = await post(
      "/auth/register",
      new URLSearchParams({ username: "x", password: PASSWORD }).toString(),
      form,
    );
    expect(register.statusCode).toBe(415);
  });

  it("a service's token never passes for a user's", async () => {
    const { access_token } = (await serviceToken()).json() as { access_token: string };
    for (const url of ["/auth/me", "/api/todos", "/auth/sessions"]) {
      const response = await h.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${access_token}` } });
      expect([url, response.statusCode]).toEqual([url, 401]);
    }
  });
});

describe("introspection", () => {
  it("a live user's token is active, with its user and session; after logout it is not, before exp", async () => {
    const { access_token, name } = await userToken();
    const live = (await introspect(access_token)).json();
    expect(live).toMatchObject({ active: true, kind: "user", token_type: "Bearer", iss: ORIGIN });
    // security 24.15: what the token itself says, and nothing more of the account (no username).
    const claims = JSON.parse(Buffer.from(access_token.split(".")[1] as string, "base64url").toString());
    expect(live).toEqual({
      active: true,
      kind: "user",
      token_type: "Bearer",
      sub: claims.sub,
      sid: claims.sid,
      roles: claims.roles,
      auth_time: claims.auth_time,
      amr: ["pwd"],
      iss: claims.iss,
      aud: claims.aud,
      iat: claims.iat,
      exp: claims.exp,
    });
    expect(live.auth_time).toBeLessThanOrEqual(live.iat);
    expect(JSON.stringify(live)).not.toContain(name);
    const logout = await h.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${access_token}`, origin: ORIGIN },
    });
    expect(logout.statusCode).toBe(204);
    expect((await introspect(access_token)).json()).toEqual({ active: false });
  });

  it("expired, forged, other-audience, refresh and garbage tokens are inactive", async () => {
    const { access_token, refresh_token } = await userToken();
    const [head, body, signature] = access_token.split(".") as [string, string, string];
    const forged = `${head}.${body}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const { kid, key } = h.server.auth.keys.signer();
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    const otherAudience = await new SignJWT({ ...claims, aud: "https://elsewhere.example" })
      .setProtectedHeader({ alg: h.server.auth.keys.alg, kid, typ: "at+jwt" })
      .sign(key);
    for (const token of [forged, otherAudience, refresh_token, "garbage"]) {
      expect((await introspect(token)).json()).toEqual({ active: false });
    }
    h.clock.advance(24 * 3600 * 1000);
    expect((await introspect(access_token)).json()).toEqual({ active: false });
  });

  it("a service's token is active until the service is revoked", async () => {
    const { service, clientSecret: secret } = await h.server.auth.services.create("search");
    const { access_token } = (await serviceToken(service.id, secret)).json() as { access_token: string };
    expect((await introspect(access_token)).json()).toMatchObject({
      active: true,
      kind: "service",
      client_id: service.id,
    });
    await h.server.auth.services.revoke("search");
    expect((await introspect(access_token)).json()).toEqual({ active: false });
    // Its credentials are refused at once too.
    expect((await serviceToken(service.id, secret)).statusCode).toBe(401);
    const asRevoked = await introspect(access_token, basic(service.id, secret));
    expect(asRevoked.statusCode).toBe(401);
  });

  it("needs a service's credentials: none, a user's token or a user's password are refused", async () => {
    const { access_token, name } = await userToken();
    expect((await introspect(access_token, "")).statusCode).toBe(401);
    expect((await introspect(access_token, `Bearer ${access_token}`)).statusCode).toBe(401);
    expect((await introspect(access_token, basic(name, PASSWORD))).statusCode).toBe(401);
  });
});

describe("through the fetch dispatcher (Express, Hono, fetch)", () => {
  it("takes the grant and introspection as forms, with the same answers", async () => {
    const { createFetchHandler } = await import("../../packages/latchkey/src/adapters/fetch.js");
    const { openTestAuth } = await import("../helpers/auth.js");
    const { createMemoryStores } = await import("../../packages/latchkey/src/stores/memory/index.js");
    const auth = await openTestAuth(createMemoryStores());
    const handler = createFetchHandler({ auth, publicOrigin: ORIGIN, maintenance: false });
    try {
      const { service, clientSecret: secret } = await auth.services.create("billing");
      const call = async (path: string, body: string, authorization?: string) => {
        const response = await handler.handle(
          new Request(`${ORIGIN}${path}`, {
            method: "POST",
            headers: { ...form, origin: ORIGIN, ...(authorization && { authorization }) },
            body,
          }),
          { ip: "192.0.2.1" },
        );
        if (!response) throw new Error(`${path} is not latchkey's`);
        return { status: response.status, json: await response.json(), headers: response.headers };
      };
      const granted = await call("/auth/token", "grant_type=client_credentials", basic(service.id, secret));
      expect(granted.status).toBe(200);
      const token = granted.json.access_token as string;
      const refused = await call("/auth/token", "grant_type=client_credentials", basic(service.id, "wrong"));
      expect([refused.status, refused.json.error.code, refused.headers.get("www-authenticate")]).toEqual([
        401,
        "invalid_client",
        'Basic realm="latchkey"',
      ]);
      const twice = await call("/auth/token", "grant_type=a&grant_type=b", basic(service.id, secret));
      expect(twice.status).toBe(400);
      const active = await call("/auth/introspect", `token=${token}`, basic(service.id, secret));
      expect(active.json).toMatchObject({ active: true, kind: "service", client_id: service.id });
      const register = await call("/auth/register", "username=x&password=y");
      expect(register.status).toBe(415);
    } finally {
      handler.close();
      auth.stop();
    }
  });
});

describe("the revocation feed", () => {
  type Page = {
    entries: { type: string; sid?: string; client_id?: string; at: number; until?: number }[];
    cursor: string;
    reset: boolean;
    more: boolean;
  };
  const read = async (since?: string, authorization = basic(clientId, clientSecret)) => {
    const url = since === undefined ? "/auth/revocations" : `/auth/revocations?since=${encodeURIComponent(since)}`;
    return h.app.inject({ method: "GET", url, headers: { authorization } });
  };
  const sidOf = (token: string) =>
    JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).sid as string;

  it("tells every way a session ends, each once, in order, resuming from the cursor", async () => {
    let cursor = ((await read()).json() as Page).cursor;
    const next = async () => {
      const page = (await read(cursor)).json() as Page;
      cursor = page.cursor;
      return page;
    };
    const expectEnded = async (sids: string[]) => {
      const page = await next();
      expect(page.reset).toBe(false);
      expect(page.entries.filter((e) => e.type === "session_ended").map((e) => e.sid)).toEqual(sids);
      for (const entry of page.entries) expect(entry.until).toBe(entry.at + 600 + 5); // one token lifetime
    };
    const a = await userToken();
    // logout
    await h.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${a.access_token}`, origin: ORIGIN },
    });
    await expectEnded([sidOf(a.access_token)]);
    // logout-all
    const b1 = await userToken();
    const b2 = (await h.client().token(b1.name)).json() as { access_token: string };
    await h.app.inject({
      method: "POST",
      url: "/auth/logout-all",
      headers: { authorization: `Bearer ${b1.access_token}`, origin: ORIGIN },
    });
    expect(((await next()).entries.map((e) => e.sid) as string[]).sort()).toEqual(
      [sidOf(b1.access_token), sidOf(b2.access_token)].sort(),
    );
    // a revoked device
    const c1 = await userToken();
    const c2 = (await h.client().token(c1.name)).json() as { access_token: string };
    await h.app.inject({
      method: "DELETE",
      url: `/auth/sessions/${sidOf(c2.access_token)}`,
      headers: { authorization: `Bearer ${c1.access_token}`, origin: ORIGIN },
    });
    await expectEnded([sidOf(c2.access_token)]);
    // a password change ends the other sessions (and a bearer caller's own)
    const d1 = await userToken();
    const d2 = (await h.client().token(d1.name)).json() as { access_token: string };
    await h.app.inject({
      method: "POST",
      url: "/auth/password",
      payload: { currentPassword: PASSWORD, newPassword: `${PASSWORD} anew` },
      headers: { authorization: `Bearer ${d1.access_token}`, origin: ORIGIN },
    });
    expect(((await next()).entries.map((e) => e.sid) as string[]).sort()).toEqual(
      [sidOf(d1.access_token), sidOf(d2.access_token)].sort(),
    );
    // a disabled account
    const e = await userToken();
    await h.server.auth.accounts.disable(e.name);
    await expectEnded([sidOf(e.access_token)]);
    // a reused refresh token
    const f = await userToken();
    const first = await h.client().refresh(f.refresh_token);
    expect(first.statusCode).toBe(200);
    h.clock.advance(60_000); // past the reuse leeway
    expect((await h.client().refresh(f.refresh_token)).statusCode).toBe(401);
    await expectEnded([sidOf(f.access_token)]);
    // a deleted account
    const g = await userToken();
    await h.app.inject({
      method: "DELETE",
      url: "/auth/account",
      payload: { password: PASSWORD },
      headers: { authorization: `Bearer ${g.access_token}`, origin: ORIGIN },
    });
    await expectEnded([sidOf(g.access_token)]);
    // a key rotation, and a revoked service
    await h.server.auth.keys.rotate();
    const { service } = await h.server.auth.services.create("temporary");
    await h.server.auth.services.revoke("temporary");
    const last = await next();
    expect(last.entries.map((e) => e.type)).toEqual(["keys_changed", "service_revoked"]);
    expect(last.entries[1]?.client_id).toBe(service.id);
    expect((await next()).entries).toEqual([]);
  });

  it("a cursor from another history says reset and starts over; a made-up cursor is a 400", async () => {
    const foreign = Buffer.from(JSON.stringify(["another-epoch", 5])).toString("base64url");
    const page = (await read(foreign)).json() as Page;
    expect(page.reset).toBe(true);
    expect(page.entries.length).toBeGreaterThan(0);
    const bad = await read("not-a-cursor");
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, "invalid_request"]);
  });

  it("is for services: their credentials or their own token; never a user's token", async () => {
    const { access_token } = (await serviceToken()).json() as { access_token: string };
    expect((await read(undefined, `Bearer ${access_token}`)).statusCode).toBe(200);
    const user = await userToken();
    expect((await read(undefined, `Bearer ${user.access_token}`)).statusCode).toBe(401);
    expect((await read(undefined, "")).statusCode).toBe(401);
  });
});
