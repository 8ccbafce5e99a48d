/**
 * The explain routes the web app's "How it works" page reads (issue 30): `GET /auth/cookies`
 * lists the cookies a login sets under each strategy with the attributes the login really
 * sends (the passkey challenge's cookie too), and which of them the request carried, by name only; `GET /auth/access-token`
 * gives the token's header and payload as encoded but never its signature; and every
 * answer that sets cookies names them in `Latchkey-Set-Cookie-Names`, without a value.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, PASSWORD, setCookieLines, startHarness, uniqueName } from "../helpers/harness.js";

type Listed = {
  role: string;
  name: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: string;
  paths: string[];
  mode: string;
  carried: boolean;
};

/** A `Set-Cookie` line's attributes in the shape `GET /auth/cookies` lists them. */
function attributesOf(line: string) {
  const parts = line.split(";").map((p) => p.trim());
  const has = (name: string) => parts.some((p) => p.toLowerCase() === name.toLowerCase());
  const value = (name: string) =>
    parts.find((p) => p.toLowerCase().startsWith(`${name.toLowerCase()}=`))?.split("=")[1] ?? null;
  return {
    name: (parts[0] as string).split("=")[0],
    httpOnly: has("HttpOnly"),
    secure: has("Secure"),
    sameSite: value("SameSite")?.toLowerCase(),
    path: value("Path"),
  };
}

describe.each(["session", "jwt", "hybrid"] as const)("AUTH_STRATEGY=%s", (strategy) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: strategy });
  });
  afterAll(() => h.close());

  it("GET /auth/cookies lists what a login sets, with the attributes it sends, and what the request carried, by name only", async () => {
    const c = h.client();
    const signedOut = await c.get("/auth/cookies");
    expect(signedOut.statusCode).toBe(200);
    const listed = signedOut.json().cookies as Listed[];
    expect(signedOut.json().strategy).toBe(strategy);
    expect(listed.every((cookie) => !cookie.carried)).toBe(true);

    const name = uniqueName("expc");
    await c.register(name);
    const login = await c.login(name, PASSWORD);
    const sent = setCookieLines(login).map(attributesOf);
    // Every cookie of a cookie login is listed with exactly the attributes it was sent with.
    const cookieMode = listed.filter((cookie) => cookie.mode === "cookie");
    expect(cookieMode.map((cookie) => cookie.name).sort()).toEqual(sent.map((cookie) => cookie.name).sort());
    for (const cookie of cookieMode) {
      const line = sent.find((s) => s.name === cookie.name);
      expect({ name: cookie.name, ...line }).toEqual({
        name: cookie.name,
        httpOnly: cookie.httpOnly,
        secure: cookie.secure,
        sameSite: cookie.sameSite,
        path: cookie.paths[0],
      });
    }
    expect(listed.find((cookie) => cookie.role === "csrf")?.httpOnly).toBe(false);
    const roles = cookieMode.map((cookie) => cookie.role).sort();
    const credentials = { session: ["session"], jwt: ["access", "refresh"], hybrid: ["access", "session"] }[strategy];
    expect(roles).toEqual([...credentials, "csrf", "device"].sort());
    // The pending sign-in's cookie: only for a sign-in that waits for its second factor.
    expect(listed.find((cookie) => cookie.role === "pending")).toMatchObject({ mode: "second-factor", httpOnly: true });

    // The in-memory mode's refresh cookie is listed with its two paths, as its login sends it.
    const memory = listed.find((cookie) => cookie.mode === "memory") as Listed;
    const memoryLogin = await h.client().post("/auth/login", { username: name, password: PASSWORD, mode: "memory" });
    const memoryLines = setCookieLines(memoryLogin)
      .map(attributesOf)
      .filter((line) => line.name === memory.name);
    expect(memoryLines.map((line) => line.path)).toEqual(memory.paths);
    expect(memoryLines.every((line) => line.httpOnly === memory.httpOnly && line.secure === memory.secure)).toBe(true);

    // Signed in: the cookies the browser holds are carried, and no value appears anywhere.
    const signedIn = await c.get("/auth/cookies");
    const carried = (signedIn.json().cookies as Listed[])
      .filter((cookie) => cookie.carried)
      .map((cookie) => cookie.name);
    expect(carried.sort()).toEqual([...c.cookies.keys()].sort());
    for (const value of c.cookies.values()) expect(signedIn.body).not.toContain(value);
  });

  it("GET /auth/cookies lists the passkey challenge's cookie as POST /auth/passkey/options sets it, carried once set", async () => {
    const c = h.client();
    const listed = (await c.get("/auth/cookies")).json().cookies as Listed[];
    const passkey = listed.find((cookie) => cookie.role === "passkey") as Listed;
    expect(passkey).toMatchObject({ mode: "passkey", httpOnly: true, carried: false });
    expect(listed.filter((cookie) => cookie.mode === "passkey")).toEqual([passkey]);
    const options = await c.post("/auth/passkey/options");
    expect(options.statusCode).toBe(200);
    const sent = setCookieLines(options).map(attributesOf);
    expect(sent).toEqual([
      {
        name: passkey.name,
        httpOnly: passkey.httpOnly,
        secure: passkey.secure,
        sameSite: passkey.sameSite,
        path: passkey.paths[0],
      },
    ]);
    const after = await c.get("/auth/cookies");
    const carried = (after.json().cookies as Listed[]).filter((cookie) => cookie.carried).map((cookie) => cookie.name);
    expect(carried).toEqual([passkey.name]);
    expect(after.body).not.toContain(c.cookies.get(passkey.name) as string);
  });

  it("Latchkey-Set-Cookie-Names names the cookies an answer sets, and those it clears, never a value", async () => {
    const c = h.client();
    const name = uniqueName("expn");
    await c.register(name);
    const login = await c.login(name, PASSWORD);
    const names = setCookieLines(login).map((line) => line.split("=")[0]);
    expect(login.headers["latchkey-set-cookie-names"]).toBe(names.join(", "));
    for (const value of c.cookies.values()) {
      expect(String(login.headers["latchkey-set-cookie-names"])).not.toContain(value);
    }
    // An answer that sets nothing has no such header.
    const me = await c.get("/auth/me");
    expect(me.headers["set-cookie"]).toBeUndefined();
    expect(me.headers["latchkey-set-cookie-names"]).toBeUndefined();
    // Sign-out clears the strategy's cookies: each named once, marked cleared.
    const logout = await c.post("/auth/logout");
    expect(logout.statusCode).toBe(204);
    const cleared = String(logout.headers["latchkey-set-cookie-names"]).split(", ");
    expect(cleared.length).toBeGreaterThan(0);
    expect(cleared.every((entry) => entry.endsWith(";cleared"))).toBe(true);
    expect(new Set(cleared).size).toBe(cleared.length);
  });

  it("GET /auth/access-token gives the header and payload as encoded, and only the signature's length", async () => {
    const c = h.client();
    await c.signUpAndLogIn(uniqueName("expt"));
    const answer = await c.get("/auth/access-token");
    if (strategy === "session") {
      expect(answer.statusCode).toBe(404);
      return;
    }
    expect(answer.statusCode).toBe(200);
    const token = c.cookies.get("__Host-at") as string;
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const body = answer.json();
    expect(body.encoded).toEqual({ header, payload, signatureLength: signature.length });
    expect(JSON.parse(Buffer.from(payload, "base64url").toString())).toEqual(body.claims);
    expect(answer.body).not.toContain(signature);
    // Existing fields stay.
    expect(Object.keys(body).sort()).toEqual(["claims", "encoded", "expiresIn", "header"]);
  });
});
