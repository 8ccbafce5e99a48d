/**
 * Issue 24: lockouts a stranger cannot cause, through the whole HTTP stack. A signed-in
 * owner re-entering the password is counted per session and device, not per account
 * (item 3); only a verified wrong password counts against an account (item 4).
 */
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const statuses = (answers: LightMyRequestResponse[]) => answers.map((r) => r.statusCode);

describe("security: refusals for overload are not failed logins (issue 24, item 4)", () => {
  it("a flood that fills the hashing queue sheds the owner's right-password logins with 503 but never locks the account", async () => {
    // A real queue of one (no mocked hasher): past it, a hash is refused with 503.
    const harness = await startHarness({ HASH_QUEUE: "1" });
    h = harness;
    const name = uniqueName("victim");
    const owner = harness.client({ ip: "192.0.2.200" });
    await owner.signUpAndLogIn(name); // a browser with a device cookie
    const api = harness.client({ ip: "192.0.2.201" }); // an API client: counted per account
    const victim: number[] = [];
    for (let round = 0; round < 4; round++) {
      const flood = Array.from({ length: 40 }, (_, i) =>
        harness.client({ ip: `198.51.100.${i + 1}` }).token(uniqueName("ghost"), "wrong-guess-xx"),
      );
      const mine = [api.token(name), api.token(name), owner.login(name), owner.login(name)];
      victim.push(...statuses((await Promise.all([...flood, ...mine])).slice(flood.length)));
    }
    // Shed (503) or served, never throttled (429)...
    expect(victim.filter((s) => s !== 503 && s !== 200)).toEqual([]);
    // ...and the overload was real: more of the owner's right-password logins were shed
    // than the account (or the device) may fail.
    expect(victim.filter((s) => s === 503).length).toBeGreaterThan(2 * 5);
    // After the flood, the owner signs in at once, by browser and by API.
    expect((await api.token(name)).statusCode).toBe(200);
    expect((await owner.login(name)).statusCode).toBe(200);
  });

  it("logins refused by the per-address in-flight cap are given back: a neighbour behind one address cannot lock the owner out", async () => {
    const harness = await startHarness({ LOGIN_ADDRESS_MAX_IN_FLIGHT: "1" });
    h = harness;
    const name = uniqueName("victim");
    await harness.client().register(name);
    const shared = "203.0.113.77"; // one NAT: a neighbour's script and the owner
    const refused: LightMyRequestResponse[] = [];
    for (let round = 0; round < 7; round++) {
      const neighbour = harness.client({ ip: shared }).token(uniqueName("ghost"), "wrong-guess-xx");
      const owner = harness.client({ ip: shared }).token(name);
      const [, answer] = await Promise.all([neighbour, owner]);
      refused.push(answer as LightMyRequestResponse);
    }
    expect(statuses(refused)).toEqual(Array(7).fill(429));
    for (const r of refused) expect(r.headers["retry-after"]).toBe("1");
    expect((await harness.client({ ip: "192.0.2.99" }).token(name)).statusCode).toBe(200);
  });
});

const NEW_PASSWORD = "a new long passphrase 24";
const changePassword = (c: Client, current: string) =>
  c.post("/auth/password", { currentPassword: current, newPassword: NEW_PASSWORD });
const deleteAccount = (c: Client, password: string) =>
  c.request({ method: "DELETE", url: "/auth/account", body: { password } });

/** Five wrong guesses by a stranger at both logins, then the account is locked to strangers. */
async function lockOut(harness: Harness, name: string): Promise<void> {
  const stranger = harness.client({ ip: "203.0.113.66" });
  for (let i = 0; i < 3; i++) expect((await stranger.token(name, `wrong-${i}-guess`)).statusCode).toBe(401);
  for (let i = 3; i < 5; i++) expect((await stranger.login(name, `wrong-${i}-guess`)).statusCode).toBe(401);
  expect((await stranger.token(name)).statusCode).toBe(429);
}

describe("security: a stranger's wrong guesses do not lock the owner out of password change and account deletion (issue 24, item 3)", () => {
  it("the owner's browser session, with its device cookie, changes the password and deletes the account", async () => {
    h = await startHarness();
    const name = uniqueName("owner");
    const owner = h.client({ ip: "192.0.2.10" });
    await owner.signUpAndLogIn(name);
    await lockOut(h, name);
    expect((await changePassword(owner, PASSWORD)).statusCode).toBe(204);
    expect((await deleteAccount(owner, NEW_PASSWORD)).statusCode).toBe(204);
  });

  it("the owner's API client session (no cookies) changes the password, and another deletes the account", async () => {
    h = await startHarness();
    const api = h.client({ ip: "192.0.2.11" });
    const [changer, deleter] = [uniqueName("owner"), uniqueName("owner")];
    const tokens = new Map<string, string>();
    for (const name of [changer, deleter]) {
      await api.register(name);
      tokens.set(name, (await api.token(name)).json().access_token);
      await lockOut(h, name);
    }
    const change = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD };
    expect((await api.bearer("POST", "/auth/password", tokens.get(changer) as string, change)).statusCode).toBe(204);
    const remove = { password: PASSWORD };
    expect((await api.bearer("DELETE", "/auth/account", tokens.get(deleter) as string, remove)).statusCode).toBe(204);
  });

  it("guesses through one session are still limited, and only that session (and its device) is locked", async () => {
    h = await startHarness();
    const name = uniqueName("owner");
    const stolen = h.client({ ip: "192.0.2.12" });
    await stolen.signUpAndLogIn(name);
    for (let i = 0; i < 5; i++) expect((await changePassword(stolen, `wrong-${i}-guess`)).statusCode).toBe(401);
    const locked = [await changePassword(stolen, PASSWORD), await deleteAccount(stolen, PASSWORD)];
    expect(statuses(locked)).toEqual([429, 429]);
    expect(Number(locked[0]?.headers["retry-after"])).toBeGreaterThan(0);
    // The device that guessed is spent for logins too; the account is not.
    expect((await stolen.login(name)).statusCode).toBe(429);
    const elsewhere = h.client({ ip: "192.0.2.13" });
    await elsewhere.login(name);
    expect((await changePassword(elsewhere, PASSWORD)).statusCode).toBe(204);
  });
});

describe("security: device cookies are bound to the account, not its name (issue 24, item 9)", () => {
  it("a device cookie minted for a deleted account does not count as a device for the next owner of its name", async () => {
    h = await startHarness();
    const name = uniqueName("reused");
    // Someone holds the name first and mints device cookies for it, then deletes the account.
    const first = h.client({ ip: "203.0.113.80" });
    await first.signUpAndLogIn(name);
    const minted = [first.cookies.get("__Host-device") as string];
    const second = h.client({ ip: "203.0.113.81" });
    await second.login(name);
    minted.push(second.cookies.get("__Host-device") as string);
    expect(new Set(minted).size).toBe(2);
    expect((await deleteAccount(first, PASSWORD)).statusCode).toBe(204);
    // The name's next owner.
    expect((await h.client().register(name)).statusCode).toBe(201);
    // Guesses through the old cookies count against the account, like any browser's: five
    // in all, not five per cookie.
    const guesser = (cookie: string) => {
      const c = h?.client({ ip: "203.0.113.82" }) as Client;
      c.cookies.set("__Host-device", cookie);
      return c;
    };
    for (let i = 0; i < 5; i++)
      expect((await guesser(minted[0] as string).login(name, `guess-${i}-xx`)).statusCode).toBe(401);
    expect((await guesser(minted[1] as string).login(name, "guess-5-xx")).statusCode).toBe(429);
    expect((await guesser(minted[0] as string).login(name, PASSWORD)).statusCode).toBe(429);
  });
});
