/**
 * Issue 32: when and how the person last proved who they are. A sign-in records
 * `authTime` = now and `amr` = `["pwd"]` on its session; `request.auth` carries both (from
 * the session just read, or from the access token's `auth_time`/`amr`), and so do the
 * session views of `/auth/me` and `/auth/sessions`. A re-authentication
 * (`auth.sessions.reauthenticate`) shows at once where the session is read, and in the
 * access tokens issued after it (a refresh, a hybrid renewal), not in those already out.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { adminCore, Caller, type Door, fetchDoor, ORIGIN, userWith } from "../helpers/admin.js";
import { decode } from "../helpers/tokens.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

interface World {
  auth: Auth;
  clock: ManualClock;
  caller: Caller;
  /** `request.auth`'s `authTime` and `amr`, as the host's own route sees them. */
  who(): Promise<{ authTime: number; amr: string[]; via: string }>;
  sessionId(): Promise<string>;
  handler: FetchLatchkey;
}

let open: World | undefined;
afterEach(() => {
  open?.handler.close();
  open = undefined;
});

/** A core on a frozen clock behind the fetch adapter, a host route `/host/who`, and one user signed in. */
async function world(strategy: Strategy, bearer: boolean): Promise<World> {
  const clock = manualClock(START);
  const auth = await adminCore(undefined, { clock });
  const handler = createFetchHandler({ auth, publicOrigin: ORIGIN, strategy, maintenance: false });
  const latchkeyDoor = fetchDoor(handler);
  const door: Door = async (sent) => {
    if (sent.path !== "/host/who") return latchkeyDoor(sent);
    const request = new Request(`${ORIGIN}${sent.path}`, { method: sent.method, headers: sent.headers });
    const response = await handler.protect(request, { ip: "192.0.2.7" }, (who) =>
      Response.json({ authTime: who.authTime, amr: who.amr, via: who.via }),
    );
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  const alice = await userWith(auth, "alice");
  const caller = new Caller(door);
  await (bearer ? caller.token(alice.username) : caller.login(alice.username));
  open = {
    auth,
    clock,
    caller,
    handler,
    async who() {
      const answer = await caller.send("GET", "/host/who");
      expect(answer.status, answer.text).toBe(200);
      return answer.json();
    },
    async sessionId() {
      return (await auth.sessions.listLive(alice.id))[0]?.id as string;
    },
  };
  return open;
}

const CASES: { name: string; strategy: Strategy; bearer: boolean }[] = [
  { name: "session cookie", strategy: "session", bearer: false },
  { name: "jwt cookies", strategy: "jwt", bearer: false },
  { name: "hybrid cookies", strategy: "hybrid", bearer: false },
  { name: "bearer token", strategy: "session", bearer: true },
];

describe("sign-in time and methods", () => {
  for (const { name, strategy, bearer } of CASES) {
    it(`${name}: the sign-in's time and ["pwd"] in request.auth, /auth/me and /auth/sessions`, async () => {
      const w = await world(strategy, bearer);
      w.clock.advance(30_000);
      expect(await w.who()).toEqual({ authTime: START, amr: ["pwd"], via: bearer ? "bearer" : "cookie" });
      const me = await w.caller.send("GET", "/auth/me");
      expect(me.json().session).toMatchObject({ createdAt: iso(START), authTime: iso(START), amr: ["pwd"] });
      const list = await w.caller.send("GET", "/auth/sessions");
      expect(list.json().sessions).toEqual([expect.objectContaining({ authTime: iso(START), amr: ["pwd"] })]);
      if (strategy !== "session" || bearer) {
        const token = bearer ? w.caller.bearer : w.caller.jar.get("__Host-at");
        expect(token).toBeTruthy();
        expect(decode(token as string).payload).toMatchObject({ auth_time: START / 1000, amr: ["pwd"] });
      }
    });

    it(`${name}: a re-authentication shows where the session is read, and in the tokens issued after it`, async () => {
      const w = await world(strategy, bearer);
      w.clock.advance(120_000);
      const again = START + 120_000;
      const valid = await w.auth.sessions.reauthenticate(await w.sessionId(), ["pwd", "otp", "pwd"]);
      expect(valid?.session).toMatchObject({ authTime: again, amr: ["otp", "pwd"] });
      // `/auth/me` reads the session (under every strategy): at once.
      const me = await w.caller.send("GET", "/auth/me");
      expect(me.json().session).toMatchObject({ createdAt: iso(START), authTime: iso(again), amr: ["otp", "pwd"] });
      if (strategy === "session" && !bearer) {
        expect(await w.who()).toMatchObject({ authTime: again, amr: ["otp", "pwd"] });
        return;
      }
      // A token already out says what was true when it was issued...
      expect(await w.who()).toMatchObject({ authTime: START, amr: ["pwd"] });
      // ...and the next one, the new.
      if (bearer) {
        const refreshed = await w.caller.send("POST", "/auth/refresh", {
          json: { refresh_token: w.caller.refreshToken },
        });
        expect(refreshed.status, refreshed.text).toBe(200);
        w.caller.bearer = refreshed.json().access_token;
      } else if (strategy === "jwt") {
        expect((await w.caller.send("POST", "/auth/refresh")).status).toBe(200);
      } else {
        w.clock.advance(601_000); // the access cookie expires; the session cookie renews it
      }
      expect(await w.who()).toMatchObject({ authTime: again, amr: ["otp", "pwd"] });
    });
  }

  it("reauthenticate answers null for a session that has ended or timed out, and changes nothing", async () => {
    const w = await world("session", false);
    const id = await w.sessionId();
    w.clock.advance(1_800_000); // the idle timeout
    expect(await w.auth.sessions.reauthenticate(id, ["pwd"])).toBeNull();
    expect((await w.auth.stores.sessions.findWithUser(id))?.session).toMatchObject({ authTime: START });
    expect(await w.auth.sessions.reauthenticate("no-such-session", ["pwd"])).toBeNull();
  });
});
