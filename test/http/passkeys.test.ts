/**
 * Issue 32, passkeys over HTTP, with a software authenticator that can lie as no browser
 * would: a passkey is registered with a recent sign-in (its challenge this session's, once),
 * named, renamed and removed; it signs in alone (discoverable, for a browser through a
 * challenge bound to its cookie, for an API client through `challenge_token`), as the
 * second step after a password, and re-authenticates. Refused: a replayed challenge, one
 * asked for by another browser, another origin or RP id, no user verification, a counter
 * that goes back, another user's credential at a second step, a removed passkey. Under
 * every strategy, through the Fastify plugin and the fetch adapter.
 */
import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { adminCore, Caller, codeOf, type Door, OPERATOR, openDoors, PASSWORD, userWith } from "../helpers/admin.js";
import { ORIGIN } from "../helpers/harness.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const WINDOW = 60;

/** Registers a passkey for a signed-in caller; the answer's body. */
async function registerPasskey(caller: Caller, authenticator: SoftAuthenticator, name?: string) {
  const begun = await caller.send("POST", "/auth/factors/passkeys/options");
  expect(begun.status, begun.text).toBe(200);
  const { options } = begun.json();
  expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
  const done = await caller.send("POST", "/auth/factors/passkeys", {
    json: { response: authenticator.register(options), ...(name === undefined ? {} : { name }) },
  });
  expect(done.status, done.text).toBe(201);
  return done.json();
}

/** A passkey sign-in by a browser: its challenge (and cookie), then the answer. */
async function passkeyLogin(browser: Caller, authenticator: SoftAuthenticator, tamper = {}) {
  const { options } = (await browser.send("POST", "/auth/passkey/options")).json();
  const response = authenticator.assert(options, undefined, tamper);
  return browser.send("POST", "/auth/login/passkey", { json: { response } });
}

describe.each(["session", "jwt", "hybrid"] as const)("STRATEGY=%s", (strategy: Strategy) => {
  let clock: ManualClock;
  let doors: Awaited<ReturnType<typeof openDoors>>;
  beforeAll(async () => {
    clock = manualClock(START);
    doors = await openDoors(strategy, {
      auth: () =>
        adminCore(createMemoryStores(), { clock, reauthWindow: WINDOW, factors: { keys: [randomBytes(32)] } }),
    });
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it.each(["fastify", "fetch"] as const)(
    "through %s: registered, it signs in alone, names, and is removed",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const user = await userWith(auth, `${name}pk`);
      const owner = await new Caller(door).login(user.username);
      const other = await new Caller(door).login(user.username);
      const authenticator = new SoftAuthenticator(ORIGIN);
      const added = await registerPasskey(owner, authenticator);
      expect(added.passkey).toMatchObject({ name: "Passkey", lastUsedAt: null });
      expect(added.recoveryCodes).toHaveLength(10);
      // The other session signed in with the password alone: it ends.
      expect(added.endedSessions).toBe(1);
      expect((await other.send("GET", "/auth/me")).status).toBe(401);
      clock.advance(1000);
      const second = await registerPasskey(owner, new SoftAuthenticator(ORIGIN), "YubiKey");
      expect(second.recoveryCodes).toEqual([]);
      expect(second.endedSessions).toBe(0);

      const listed = (await owner.send("GET", "/auth/factors")).json();
      expect(listed.passkeys.map((p: { name: string }) => p.name)).toEqual(["Passkey", "YubiKey"]);
      expect(listed.passkeysAvailable).toBe(true);
      expect(JSON.stringify(listed)).not.toContain(authenticator.credentials[0]?.userHandle ?? "?");

      // Alone, in a new browser: no password.
      const browser = new Caller(door);
      const signedIn = await passkeyLogin(browser, authenticator);
      expect(signedIn.status, signedIn.text).toBe(200);
      expect(signedIn.json().user.username).toBe(user.username);
      browser.csrf = signedIn.json().csrfToken;
      const me = await browser.send("GET", "/auth/me");
      expect(me.status).toBe(200);
      const live = await auth.sessions.listLive(user.id);
      expect(live.some((s) => s.amr.join() === "hwk,mfa")).toBe(true);

      // A password sign-in now needs a second step, which a passkey passes.
      const withPassword = new Caller(door);
      const first = await withPassword.send("POST", "/auth/login", {
        json: { username: user.username, password: PASSWORD },
      });
      expect(first.status).toBe(202);
      expect(first.json().secondFactor.methods).toEqual(["passkey", "recovery_code"]);
      const { options } = (await withPassword.send("POST", "/auth/passkey/options")).json();
      const stepped = await withPassword.send("POST", "/auth/login/second-factor", {
        json: { passkey: authenticator.assert(options) },
      });
      expect(stepped.status, stepped.text).toBe(200);
      withPassword.csrf = stepped.json().csrfToken;

      // Renamed; removed with a recent sign-in.
      const id = listed.passkeys[1].id as string;
      const renamed = await owner.send("PATCH", `/auth/factors/passkeys/${id}`, { json: { name: "  Work key " } });
      expect(renamed.status, renamed.text).toBe(200);
      expect(renamed.json().passkey.name).toBe("Work key");
      expect(codeOf(await owner.send("PATCH", `/auth/factors/passkeys/${id}`, { json: { name: "   " } }))).toBe(
        "invalid_request",
      );
      clock.advance((WINDOW + 1) * 1000);
      const stale = await owner.send("DELETE", `/auth/factors/passkeys/${id}`);
      expect(codeOf(stale)).toBe("reauthentication_required");
      // A re-authentication with a passkey alone.
      const { options: again } = (await owner.send("POST", "/auth/passkey/options")).json();
      const reauth = await owner.send("POST", "/auth/reauthenticate", {
        json: { passkey: authenticator.assert(again) },
      });
      expect(reauth.status, reauth.text).toBe(200);
      expect(reauth.json().amr).toEqual(expect.arrayContaining(["hwk", "mfa"]));
      expect((await owner.send("DELETE", `/auth/factors/passkeys/${id}`)).status).toBe(204);
      expect(codeOf(await owner.send("DELETE", `/auth/factors/passkeys/${id}`))).toBe("not_found");
      const firstId = listed.passkeys[0].id as string;
      expect((await owner.send("DELETE", `/auth/factors/passkeys/${firstId}`)).status).toBe(204);
      // No factor left: the recovery codes went too, and the password alone signs in.
      expect((await owner.send("GET", "/auth/factors")).json()).toMatchObject({ passkeys: [], recoveryCodes: 0 });
      const removed = await passkeyLogin(new Caller(door), authenticator);
      expect(codeOf(removed)).toBe("invalid_passkey");
      expect((await new Caller(door).login(user.username)).csrf).not.toBe("");
      const types = (await auth.stores.events.listByUser(user.id, 50)).map((e) => e.type);
      expect(types.filter((t) => t === "passkey_added")).toHaveLength(2);
      expect(types.filter((t) => t === "passkey_removed")).toHaveLength(2);
    },
  );

  it("refuses a replayed challenge, another browser's, a forged origin, RP id or counter, and no user verification", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkbad");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(owner, authenticator);

    // Replayed: the same answer twice; the second finds its challenge used.
    const browser = new Caller(door);
    const { options } = (await browser.send("POST", "/auth/passkey/options")).json();
    const response = authenticator.assert(options);
    expect((await browser.send("POST", "/auth/login/passkey", { json: { response } })).status).toBe(200);
    const replay = new Caller(door);
    for (const [key, value] of browser.jar) replay.jar.set(key, value);
    expect(codeOf(await browser.send("POST", "/auth/login/passkey", { json: { response } }))).toBe("invalid_passkey");

    // Another browser, without the challenge's cookie, cannot use an answer made for it.
    const asker = new Caller(door);
    const asked = (await asker.send("POST", "/auth/passkey/options")).json();
    const thief = new Caller(door);
    await thief.send("POST", "/auth/passkey/options");
    const stolen = authenticator.assert(asked.options);
    expect(codeOf(await thief.send("POST", "/auth/login/passkey", { json: { response: stolen } }))).toBe(
      "invalid_passkey",
    );

    for (const tamper of [
      { origin: "https://evil.example" },
      { rpId: "evil.example" },
      { userVerified: false },
      { counter: 1 },
      { type: "webauthn.create" },
    ]) {
      const refused = await passkeyLogin(new Caller(door), authenticator, tamper);
      expect(codeOf(refused), JSON.stringify(tamper)).toBe("invalid_passkey");
    }
    // The challenge expires after five minutes.
    const late = new Caller(door);
    const lateOptions = (await late.send("POST", "/auth/passkey/options")).json().options;
    clock.advance(301_000);
    expect(
      codeOf(await late.send("POST", "/auth/login/passkey", { json: { response: authenticator.assert(lateOptions) } })),
    ).toBe("invalid_passkey");
    // Malformed answers are 400s, never 500s.
    for (const body of [{ response: {} }, { response: { ...response, response: { clientDataJSON: "!!" } } }, {}]) {
      const bad = await new Caller(door).send("POST", "/auth/login/passkey", { json: body });
      expect(bad.status, bad.text).toBe(400);
    }
    const garbled = new Caller(door);
    const garbledOptions = (await garbled.send("POST", "/auth/passkey/options")).json().options;
    const junk = authenticator.assert(garbledOptions);
    junk.response.signature = "AAAA";
    expect(codeOf(await garbled.send("POST", "/auth/login/passkey", { json: { response: junk } }))).toBe(
      "invalid_passkey",
    );
  });

  it("refuses another user's passkey at a second step, and a registration's challenge from another session", async () => {
    const { auth, door } = doors[1] as { auth: Auth; door: Door };
    const alice = await userWith(auth, "pkalice");
    const mallory = await userWith(auth, "pkmallory");
    const aliceOwner = await new Caller(door).login(alice.username);
    const malloryOwner = await new Caller(door).login(mallory.username);
    const aliceKey = new SoftAuthenticator(ORIGIN);
    const malloryKey = new SoftAuthenticator(ORIGIN);
    await registerPasskey(aliceOwner, aliceKey);
    await registerPasskey(malloryOwner, malloryKey);

    const browser = new Caller(door);
    expect(
      (await browser.send("POST", "/auth/login", { json: { username: alice.username, password: PASSWORD } })).status,
    ).toBe(202);
    const { options } = (await browser.send("POST", "/auth/passkey/options")).json();
    const wrong = await browser.send("POST", "/auth/login/second-factor", {
      json: { passkey: malloryKey.assert(options) },
    });
    expect(codeOf(wrong)).toBe("invalid_passkey");
    const again = (await browser.send("POST", "/auth/passkey/options")).json().options;
    const right = await browser.send("POST", "/auth/login/second-factor", {
      json: { passkey: aliceKey.assert(again) },
    });
    expect(right.status, right.text).toBe(200);

    // A registration challenge made for Alice's session does not register from Mallory's.
    const begun = (await aliceOwner.send("POST", "/auth/factors/passkeys/options")).json();
    const hijack = await malloryOwner.send("POST", "/auth/factors/passkeys", {
      json: { response: new SoftAuthenticator(ORIGIN).register(begun.options) },
    });
    expect(codeOf(hijack)).toBe("invalid_passkey");
    // The same credential twice is refused.
    const twice = (await aliceOwner.send("POST", "/auth/factors/passkeys/options")).json();
    const made = aliceKey.register(twice.options);
    expect((await aliceOwner.send("POST", "/auth/factors/passkeys", { json: { response: made } })).status).toBe(201);
    const thrice = (await aliceOwner.send("POST", "/auth/factors/passkeys/options")).json();
    const dup = aliceKey.register(thrice.options, { reuse: aliceKey.credentials.at(-1) });
    expect(dup.id).toBe(made.id);
    const refused = await aliceOwner.send("POST", "/auth/factors/passkeys", { json: { response: dup } });
    expect(codeOf(refused), refused.text).toBe("factor_exists");
    // Nor Mallory's credential into Alice's account.
    const taken = (await aliceOwner.send("POST", "/auth/factors/passkeys/options")).json();
    const stolen = malloryKey.register(taken.options, { reuse: malloryKey.credentials[0] });
    expect(codeOf(await aliceOwner.send("POST", "/auth/factors/passkeys", { json: { response: stolen } }))).toBe(
      "factor_exists",
    );
  });

  it("gives an API client tokens for a passkey alone, or after its password", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkapi");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(owner, authenticator);
    const client = new Caller(door);
    const asked = (await client.send("POST", "/auth/token/passkey/options")).json();
    expect(asked.challenge_token).toMatch(/\./);
    const tokens = await client.send("POST", "/auth/token/passkey", {
      json: { challenge_token: asked.challenge_token, response: authenticator.assert(asked.options) },
    });
    expect(tokens.status, tokens.text).toBe(200);
    expect(decodeJwt(tokens.json().access_token).amr).toEqual(["hwk", "mfa"]);

    const first = await client.send("POST", "/auth/token", {
      json: { username: user.username, password: PASSWORD },
    });
    expect(first.status, first.text).toBe(202);
    const challenge = (await client.send("POST", "/auth/token/passkey/options")).json();
    const second = await client.send("POST", "/auth/token/second-factor", {
      json: {
        pending_token: first.json().pending_token,
        challenge_token: challenge.challenge_token,
        passkey: authenticator.assert(challenge.options),
      },
    });
    expect(second.status, second.text).toBe(200);
    expect(decodeJwt(second.json().access_token).amr).toEqual(["hwk", "mfa", "pwd"]);
  });
});

describe("challenges asked for by anyone", () => {
  it("are limited per address: past 300 sign-in and 30 registration challenges a window, 429 with Retry-After", async () => {
    const clock = manualClock(START);
    const doors = await openDoors("session", { auth: () => adminCore(createMemoryStores(), { clock }) });
    try {
      const { auth, door } = doors[0] as { auth: Auth; door: Door };
      const caller = new Caller(door);
      for (let i = 0; i < 300; i++) expect((await caller.send("POST", "/auth/passkey/options")).status).toBe(200);
      const over = await caller.send("POST", "/auth/passkey/options");
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await caller.send("POST", "/auth/token/passkey/options")).status).toBe(429);
      // Registrations have their own, smaller bucket: the sign-ins' flood does not stop them.
      const owner = await new Caller(door).login((await userWith(auth, "pkbucket")).username);
      for (let i = 0; i < 30; i++) {
        expect((await owner.send("POST", "/auth/factors/passkeys/options")).status).toBe(200);
      }
      expect((await owner.send("POST", "/auth/factors/passkeys/options")).status).toBe(429);
    } finally {
      for (const door of doors) await door.close();
    }
  });
});

describe("a review's findings (each fails without its fix)", () => {
  let clock: ManualClock;
  let doors: Awaited<ReturnType<typeof openDoors>>;
  let stores: ReturnType<typeof createMemoryStores>;
  beforeAll(async () => {
    clock = manualClock(START);
    stores = createMemoryStores();
    doors = await openDoors("jwt", {
      auth: () => adminCore(stores, { clock, reauthWindow: WINDOW, factors: { keys: [randomBytes(32)] } }),
    });
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it("a bearer caller re-authenticates with the browser's challenge cookie or its challengeToken", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkbearer");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(owner, authenticator);
    const tokens = await passkeyTokens(door, authenticator);
    // The in-memory mode's page: its bearer token, and the challenge in its cookie.
    const page = new Caller(door);
    const { options } = (await page.send("POST", "/auth/passkey/options")).json();
    const withCookie = await page.send("POST", "/auth/reauthenticate", {
      json: { passkey: authenticator.assert(options) },
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(withCookie.status, withCookie.text).toBe(200);
    expect(withCookie.json().access_token).toEqual(expect.any(String));
    const api = new Caller(door);
    const asked = (await api.send("POST", "/auth/token/passkey/options")).json();
    const withToken = await api.send("POST", "/auth/reauthenticate", {
      json: { passkey: authenticator.assert(asked.options), challengeToken: asked.challenge_token },
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(withToken.status, withToken.text).toBe(200);
  });

  it("never lets the password alone through when passkeys cannot be checked: the step answers 409", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkoff");
    const owner = await new Caller(door).login(user.username);
    await registerPasskey(owner, new SoftAuthenticator(ORIGIN));
    // Its recovery codes used up, and the same data served by a deployment without passkeys.
    await stores.factors.replaceRecoveryCodes(user.id, [], clock.now());
    const off = await openDoors("jwt", { auth: () => adminCore(stores, { clock, passkeys: false }) });
    try {
      const browser = new Caller((off[0] as { door: Door }).door);
      const first = await browser.send("POST", "/auth/login", {
        json: { username: user.username, password: PASSWORD },
      });
      expect(first.status, first.text).toBe(202);
      expect(first.json().secondFactor.methods).toEqual(["passkey"]);
      expect(codeOf(await browser.send("POST", "/auth/passkey/options"))).toBe("factor_unavailable");
    } finally {
      for (const door of off) await door.close();
    }
  });

  it("keeps the challenge route with the second step when a host turns factors off", async () => {
    const off = await openDoors("session", { routes: { factors: false } });
    try {
      const caller = new Caller((off[0] as { door: Door }).door);
      expect((await caller.send("POST", "/auth/passkey/options")).status).toBe(200);
      expect((await caller.send("POST", "/auth/login/passkey", { json: {} })).status).toBe(404);
    } finally {
      for (const door of off) await door.close();
    }
  });

  it("refuses a bad name before the challenge is spent, and ids that are not base64url before any store", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkname");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    const { options } = (await owner.send("POST", "/auth/factors/passkeys/options")).json();
    const response = authenticator.register(options);
    const bad = await owner.send("POST", "/auth/factors/passkeys", { json: { response, name: "tab\there" } });
    expect(codeOf(bad)).toBe("invalid_request");
    const good = await owner.send("POST", "/auth/factors/passkeys", { json: { response, name: "Laptop" } });
    expect(good.status, good.text).toBe(201);
    const nul = { ...authenticator.assert({ challenge: "x" }), id: "abc\u0000def" };
    expect((await new Caller(door).send("POST", "/auth/login/passkey", { json: { response: nul } })).status).toBe(400);
    expect((await owner.send("DELETE", "/auth/factors/passkeys/ab%00cd")).status).toBe(400);
  });

  it("says what failed in fixed words, never the expected origins or the stored counter, and logs it for the owner", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkwords");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(owner, authenticator);
    await passkeyTokens(door, authenticator);
    const origin = await passkeyLogin(new Caller(door), authenticator, { origin: "https://evil.example" });
    expect(origin.json().error.message).toMatch(/another site/);
    expect(origin.text).not.toContain(ORIGIN);
    const counter = await passkeyLogin(new Caller(door), authenticator, { counter: 0 });
    expect(codeOf(counter)).toBe("invalid_passkey");
    expect(counter.json().error.message).toMatch(/counter went backwards/);
    expect(counter.text).not.toMatch(/expected \d/);
    const events = await auth.stores.events.listByUser(user.id, 50);
    expect(events.filter((e) => e.type === "passkey_rejected")).toHaveLength(2);
  });

  it("goes with the other factors when an operator removes them (a person who lost every one)", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pklost");
    const owner = await new Caller(door).login(user.username);
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(owner, authenticator);
    expect(await auth.admin.removeFactors(user.id, OPERATOR)).toBe(1);
    expect(codeOf(await passkeyLogin(new Caller(door), authenticator))).toBe("invalid_passkey");
    expect((await new Caller(door).login(user.username)).csrf).not.toBe("");
  });

  it("does not make a session's sign-in recent again by registering a later passkey", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pkrecent");
    const owner = await new Caller(door).login(user.username);
    await registerPasskey(owner, new SoftAuthenticator(ORIGIN));
    const authTime = async () => (await auth.sessions.listLive(user.id))[0]?.authTime;
    const before = await authTime();
    clock.advance(30_000);
    await registerPasskey(owner, new SoftAuthenticator(ORIGIN));
    expect(await authTime()).toBe(before);
  });
});

/** A bearer client's tokens for a passkey alone. */
async function passkeyTokens(door: Door, authenticator: SoftAuthenticator) {
  const client = new Caller(door);
  const asked = (await client.send("POST", "/auth/token/passkey/options")).json();
  const answer = await client.send("POST", "/auth/token/passkey", {
    json: { challenge_token: asked.challenge_token, response: authenticator.assert(asked.options) },
  });
  expect(answer.status, answer.text).toBe(200);
  return answer.json() as { access_token: string; refresh_token: string };
}
