/**
 * Audit item 3: `TRUST_PROXY=true` believed every hop of `X-Forwarded-For`, so behind
 * nginx (which appends the address it sees) a client chose its own address, forging the
 * addresses in `/auth/sessions` and `/auth/events` and resetting per-address limits by
 * rotating the header. Addresses are also canonical, and IPv6 clients count per /64.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** What nginx sends on: the client's own header, then the address nginx saw. */
const throughNginx = (forged: string, real: string) => ({ "x-forwarded-for": `${forged}, ${real}` });

describe("security 8: proxy trust", () => {
  for (const trust of ["true", "1", "127.0.0.1", "127.0.0.0/8,::1"]) {
    it(`TRUST_PROXY=${trust}: the address is the one the proxy appended, never one the client wrote`, async () => {
      h = await startHarness({ TRUST_PROXY: trust });
      const c = h.client({ ip: "127.0.0.1" }); // nginx, on this host
      await c.register(uniqueName());
      const name = uniqueName();
      await c.register(name);
      expect(
        (
          await c.post(
            "/auth/login",
            { username: name, password: "correct horse battery staple" },
            throughNginx("6.6.6.6", "198.51.100.7"),
          )
        ).statusCode,
      ).toBe(200);
      const sessions = (await c.get("/auth/sessions")).json().sessions;
      expect(sessions[0].ip).toBe("198.51.100.7");
      const events = (await c.get("/auth/events")).json().events;
      expect(events[0].ip).toBe("198.51.100.7");
    });
  }

  it("rotating a forged X-Forwarded-For does not reset the per-address limit", async () => {
    h = await startHarness({ TRUST_PROXY: "true", LOGIN_ADDRESS_MAX_FAILURES: "3" });
    const c = h.client({ ip: "127.0.0.1" });
    for (let i = 0; i < 3; i++) {
      const answer = await c.post(
        "/auth/login",
        { username: uniqueName(), password: "wrong-pass-1" },
        throughNginx(`10.9.9.${i}`, "198.51.100.8"),
      );
      expect(answer.statusCode).toBe(401);
    }
    const blocked = await c.post(
      "/auth/login",
      { username: uniqueName(), password: "wrong-pass-1" },
      throughNginx("10.9.9.99", "198.51.100.8"),
    );
    expect(blocked.statusCode).toBe(429);
    // Another real client behind the same proxy is not blocked.
    const other = await c.post(
      "/auth/login",
      { username: uniqueName(), password: "wrong-pass-1" },
      throughNginx("10.9.9.99", "198.51.100.9"),
    );
    expect(other.statusCode).toBe(401);
  });

  it("TRUST_PROXY=2 believes two proxies: a CDN's entry, then nginx's", async () => {
    h = await startHarness({ TRUST_PROXY: "2" });
    const c = h.client({ ip: "127.0.0.1" });
    const name = uniqueName();
    await c.register(name);
    await c.post(
      "/auth/login",
      { username: name, password: "correct horse battery staple" },
      {
        "x-forwarded-for": "6.6.6.6, 203.0.113.5, 192.0.2.1",
      },
    );
    expect((await c.get("/auth/sessions")).json().sessions[0].ip).toBe("203.0.113.5");
  });

  it("an address is shown in one canonical spelling (IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6)", async () => {
    h = await startHarness();
    for (const [seen, shown] of [
      ["::ffff:192.0.2.5", "192.0.2.5"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ]) {
      const c = h.client({ ip: seen });
      await c.signUpAndLogIn(uniqueName());
      expect((await c.get("/auth/sessions")).json().sessions[0].ip).toBe(shown);
    }
  });

  it("IPv6 clients count per /64: rotating addresses and spellings inside one /64 does not reset the limit", async () => {
    h = await startHarness({ LOGIN_ADDRESS_MAX_FAILURES: "3" });
    const spellings = ["2001:db8:5:5::1", "2001:DB8:5:5:0:0:0:2", "2001:db8:5:5:abcd::3"];
    for (const ip of spellings) {
      expect((await h.client({ ip }).login(uniqueName(), "wrong-pass-1")).statusCode).toBe(401);
    }
    expect(
      (await h.client({ ip: "2001:db8:5:5:ffff:ffff:ffff:ffff" }).login(uniqueName(), "wrong-pass-1")).statusCode,
    ).toBe(429);
    expect((await h.client({ ip: "2001:db8:5:6::1" }).login(uniqueName(), "wrong-pass-1")).statusCode).toBe(401);
  });
});
