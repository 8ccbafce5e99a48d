/**
 * Issue 24: lockouts a stranger cannot cause, through the whole HTTP stack. Only a verified
 * wrong password counts against an account (item 4).
 */
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

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
