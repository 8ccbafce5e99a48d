/**
 * What the attack audit found in how requests are answered (issue 13, items 6-9 and 11-13),
 * each proven through the whole HTTP stack.
 */

import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { argon2Hasher } from "../../packages/latchkey/src/core/password-hasher.js";
import { type Client, type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";
import { decode, signWithServerKey } from "../helpers/tokens.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Sends raw bytes on a socket and collects the answer until the server closes it. */
function raw(
  port: number,
  chunks: Array<string | Buffer>,
  delayMs = 0,
): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (d) => {
      text += d.toString("latin1");
    });
    socket.on("close", () => resolve({ text, closedAfterMs: Date.now() - started }));
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      }
    });
  });
}

async function listening(env: Record<string, string> = {}): Promise<{ h: Harness; port: number }> {
  const harness = await startHarness(env);
  await harness.app.listen({ port: 0, host: "127.0.0.1" });
  return { h: harness, port: (harness.app.server.address() as AddressInfo).port };
}

describe("slow bodies hold connections forever (audit item 6)", () => {
  it("closes a connection whose body trickles in past REQUEST_TIMEOUT, answering 408", async () => {
    const started = await listening({ REQUEST_TIMEOUT: "2" });
    h = started.h;
    const head =
      "POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
      `Origin: ${ORIGIN}\r\nContent-Length: 60000\r\n\r\n{`;
    const trickle = Array.from({ length: 40 }, () => " ");
    const answer = await raw(started.port, [head, ...trickle], 250);
    expect(answer.text).toMatch(/^HTTP\/1\.1 408/);
    expect(answer.closedAfterMs).toBeLessThan(6000);
  });

  it("closes a connection that sends its headers too slowly", async () => {
    const started = await listening({ REQUEST_TIMEOUT: "2" });
    h = started.h;
    const answer = await raw(started.port, ["GET /healthz HTTP/1.1\r\n", ..."Host: localhost\r\n".split("")], 300);
    expect(answer.closedAfterMs).toBeLessThan(6500);
    expect(answer.text).not.toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("no-store chosen by request.url (audit item 8)", () => {
  it("an absolute-form or percent-encoded request target still gets Cache-Control: no-store on /auth/*", async () => {
    const started = await listening();
    h = started.h;
    const name = uniqueName();
    await h.client().register(name);
    const body = JSON.stringify({ username: name, password: PASSWORD });
    for (const target of [`http://localhost:${started.port}/auth/token`, "/%61uth/token"]) {
      const answer = await raw(started.port, [
        `POST ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      ]);
      expect(answer.text, target).toMatch(/^HTTP\/1\.1 200/);
      expect(answer.text, target).toMatch(/\r\ncache-control: no-store\r\n/i);
      expect(answer.text, target).toMatch(/access_token/);
      // The API's header set, not the page's.
      expect(answer.text, target).not.toMatch(/content-security-policy/i);
    }
    const notFound = await raw(started.port, [
      "GET http://localhost/auth/nothing-here HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ]);
    expect(notFound.text).toMatch(/^HTTP\/1\.1 404/);
    expect(notFound.text).toMatch(/\r\ncache-control: no-store\r\n/i);
  });
});

describe("logout beside a non-bearer Authorization header (audit item 9)", () => {
  it("ends the cookie's session, not only its cookies", async () => {
    h = await startHarness();
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    const cookies = new Map(c.cookies);
    const out = await c.post("/auth/logout", undefined, { authorization: "Basic YWxpY2U6cHc=" });
    expect(out.statusCode).toBe(204);
    const replay = h.client();
    for (const [k, v] of cookies) replay.cookies.set(k, v);
    expect((await replay.get("/auth/me")).statusCode).toBe(401);
  });

  it("still needs the CSRF token for the cookie (no cross-site logout through a bogus header)", async () => {
    h = await startHarness();
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    const out = await c.request({
      method: "POST",
      url: "/auth/logout",
      csrf: false,
      headers: { authorization: "Bearer broken" },
    });
    expect(out.statusCode).toBe(403);
    expect((await c.get("/auth/me")).statusCode).toBe(200);
  });
});

describe("short idle timeouts (audit item 7)", () => {
  const steadyUse = async (c: Client, bearer?: { access: string; refresh: string }) => {
    for (let second = 0; second < 90; second++) {
      h?.clock.advance(1000);
      let me = bearer ? await c.bearer("GET", "/auth/me", bearer.access) : await c.get("/auth/me");
      if (me.statusCode === 401) {
        // The client renews its access token, as clients do when it expires.
        if (bearer) {
          const refreshed = await c.refresh(bearer.refresh);
          expect(refreshed.statusCode, `refresh at ${second} s`).toBe(200);
          bearer.access = refreshed.json().access_token;
          bearer.refresh = refreshed.json().refresh_token;
          me = await c.bearer("GET", "/auth/me", bearer.access);
        } else {
          expect((await c.post("/auth/refresh")).statusCode, `refresh at ${second} s`).toBe(200);
          me = await c.get("/auth/me");
        }
      }
      expect(me.statusCode, `request at ${second} s`).toBe(200);
    }
  };

  for (const strategy of ["session", "jwt", "hybrid"]) {
    it(`security 14 (${strategy}): with SESSION_IDLE_TIMEOUT=30, a request every second keeps the session alive for 90 s`, async () => {
      h = await startHarness({ AUTH_STRATEGY: strategy, SESSION_IDLE_TIMEOUT: "30" });
      const c = h.client();
      await c.signUpAndLogIn(uniqueName());
      await steadyUse(c);
      // And idleness still ends it.
      h.clock.advance(31_000);
      const after = await c.get("/auth/me");
      if (after.statusCode === 401 && strategy === "jwt") expect((await c.post("/auth/refresh")).statusCode).toBe(401);
      else expect(after.statusCode).toBe(401);
    });
  }

  it("security 14 (bearer): an API client refreshing on 401 keeps a 30 s idle session alive", async () => {
    h = await startHarness({ SESSION_IDLE_TIMEOUT: "30" });
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const tokens = (await c.token(name)).json();
    await steadyUse(c, { access: tokens.access_token, refresh: tokens.refresh_token });
  });
});

describe("a password change made with a bearer token (audit item 11)", () => {
  it("ends that session too: its refresh token and access token stop working", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const tokens = (await c.token(name)).json();
    const changed = await c.bearer("POST", "/auth/password", tokens.access_token, {
      currentPassword: PASSWORD,
      newPassword: "another long passphrase",
    });
    expect(changed.statusCode).toBe(204);
    expect((await c.bearer("GET", "/auth/me", tokens.access_token)).statusCode).toBe(401);
    expect((await c.refresh(tokens.refresh_token)).statusCode).toBe(401);
    expect((await c.token(name, "another long passphrase")).statusCode).toBe(200);
  });
});

describe("token age and signature spellings (audit item 12)", () => {
  it("refuses a token signed with a live key whose exp is ten years ahead, or whose iat is 1", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const valid = (await c.token(name)).json().access_token as string;
    const { payload } = decode(valid);
    const now = Math.floor(h.clock.now() / 1000);
    const tenYears = await signWithServerKey(h, { ...payload, iat: now, exp: now + 10 * 365 * 86_400 });
    const ancient = await signWithServerKey(h, { ...payload, iat: 1, exp: now + 300 });
    for (const token of [tenYears, ancient]) {
      const me = await c.bearer("GET", "/auth/me", token);
      expect(me.statusCode).toBe(401);
      expect(me.json().error.code).toBe("invalid_token");
    }
    expect((await c.bearer("GET", "/auth/me", valid)).statusCode).toBe(200);
  });

  it("accepts only the canonical base64url spelling of a signature", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const valid = (await c.token(name)).json().access_token as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(valid.at(-1) as string);
    const variants = [1, 2, 3, 15].map(
      (bits) => `${valid.slice(0, -1)}${alphabet[(last & ~15) | ((last + bits) & 15)]}`,
    );
    for (const variant of variants) {
      expect(Buffer.from(variant.split(".")[2] as string, "base64url")).toEqual(
        Buffer.from(valid.split(".")[2] as string, "base64url"),
      );
      expect((await c.bearer("GET", "/auth/me", variant)).statusCode).toBe(401);
    }
    expect((await c.bearer("GET", "/auth/me", valid)).statusCode).toBe(200);
  });
});

describe("passwords as bytes and as characters (audit item 13)", () => {
  it("refuses a JSON body with malformed UTF-8 with 400, on every body route", async () => {
    h = await startHarness();
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    const body = Buffer.concat([
      Buffer.from('{"username":"someone","password":"pass'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('word-x"}'),
    ]);
    for (const url of ["/auth/login", "/auth/register", "/auth/token", "/api/todos"]) {
      const answer = await h.app.inject({
        method: "POST",
        url,
        payload: body,
        headers: {
          "content-type": "application/json",
          origin: ORIGIN,
          cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
          "x-csrf-token": c.csrfToken ?? "",
        },
      });
      expect(answer.statusCode, url).toBe(400);
      expect(answer.json().error.code, url).toBe("invalid_request");
    }
  });

  it("one password however it is composed: NFC and NFD spellings log in alike", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    const nfc = "Crème brûlée à la café".normalize("NFC");
    const nfd = nfc.normalize("NFD");
    expect(nfd).not.toBe(nfc);
    expect((await c.register(name, nfd)).statusCode).toBe(201);
    expect((await c.login(name, nfc)).statusCode).toBe(200);
    expect((await c.login(name, nfd)).statusCode).toBe(200);
    expect((await c.login(name, "Creme brulee a la cafe")).statusCode).toBe(401);
  });

  it("a hash made before normalisation (from the password as typed) still verifies, and is upgraded", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    const nfd = "Crème brûlée à la café".normalize("NFD");
    await c.register(name, "placeholder passphrase x");
    const user = await h.stores.users.findByUsername(name);
    // The stored hash as a release before this one made it: of the NFD bytes as typed.
    await h.stores.users.updatePasswordHash(user?.id as string, await argon2Hasher().hash(nfd));
    expect((await c.login(name, nfd.normalize("NFC"))).statusCode).toBe(401);
    expect((await c.login(name, nfd)).statusCode).toBe(200);
    // Upgraded: now the composed spelling works too.
    expect((await c.login(name, nfd.normalize("NFC"))).statusCode).toBe(200);
  });
});
