/// <reference lib="dom" />
/**
 * Issue 29: the browser client `@latchkey/client` in a real Chromium, against real servers.
 * The page under test (test/e2e/client-page/index.html) is served by this file from another
 * origin of latchkey's site (`http://localhost:<another port>`, in latchkey's
 * TRUSTED_ORIGINS), the more demanding case for cookies: every call is credentialed CORS.
 * One browser context is one browser profile; its tabs share cookies, the BroadcastChannel
 * and the Web Locks. The tests hold that five tabs make ONE refresh for all of them (jwt and
 * hybrid cookies, the in-memory mode), that a sign-out, asked for or forced, reaches every
 * tab within a second, that a script injected into the page finds no token, and that a
 * replayed or foreign refresh is refused.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page, Request, Response } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LatchkeyClient, Mode, SessionInfo } from "../../packages/client/src/index.js";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
/**
 * ACCESS_TOKEN_TTL of the servers, in seconds, and the page's refreshMargin. The TTL's
 * minimum is 1; these keep the one-refresh test unambiguous on a loaded 2-core machine.
 * The refresh is due REFRESH_MARGIN_S before expiry, about 14 s after the sign-in (up to
 * 1.5 s sooner: `expires_in` and `accessExpiresIn` are whole seconds), time enough for
 * five tabs to open (about 1.5 s here, unloaded); the next one is due a TTL later, at least
 * 2.5 s after the first token's expiry, so the tabs' requests just past that expiry cannot
 * meet it, and a tab opening as late as 28 s after the sign-in still finds one refresh.
 */
const TTL_S = 16;
/** At most half the TTL, or the client clamps it. */
const REFRESH_MARGIN_S = 2;
/** REFRESH_REUSE_LEEWAY of the servers, in seconds: a replay later than this is theft. */
const LEEWAY_S = 1;
const PAGE_FILE = fileURLToPath(new URL("./client-page/index.html", import.meta.url));
const CLIENT_DIST = fileURLToPath(new URL("../../packages/client/dist/", import.meta.url));
/** The two shapes a token has: a JWT, and latchkey's opaque `id.secret` refresh token. */
const JWT_SHAPE = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
const REFRESH_SHAPE = /[\w-]{22}\.[\w-]{43}/;

/** A change the page's onChange listener recorded, with the page's clock. */
interface PageChange {
  reason: string;
  fromOtherTab: boolean;
  session: SessionInfo | null;
  at: number;
}

/** What the test page puts on window for the test (the page's doing, not the client's). */
interface TestWindow {
  client: LatchkeyClient;
  changes: PageChange[];
  xssScan: () => Promise<ScanResult>;
}

/** What the injected script found. */
interface ScanResult {
  found: { where: string; shape: string }[];
  localStorage: string[];
  sessionStorage: string[];
  cookies: string[];
  databases: string[];
}

/**
 * The payload an XSS would run in the page: it looks for a token wherever a script could
 * reach one (Web Storage, readable cookies, the IndexedDB databases, the DOM, and what hangs
 * off window to depth 3). A plain script in a string, as an attacker would inject it, and
 * so that nothing the test's compiler adds runs in the page.
 */
const XSS_PAYLOAD = `
window.xssScan = async function () {
  var shapes = { jwt: ${JWT_SHAPE}, refresh: ${REFRESH_SHAPE} };
  var found = [];
  function look(where, text) {
    for (var shape in shapes) if (shapes[shape].test(String(text))) found.push({ where: where, shape: shape });
  }
  function stored(area, label) {
    var keys = [];
    for (var i = 0; i < area.length; i++) {
      var key = area.key(i);
      keys.push(key);
      look(label + "." + key, key + "=" + area.getItem(key));
    }
    return keys;
  }
  // The shallowest depth each object was walked from: one met again nearer window (window.leak
  // after window.window.leak) is walked again, deeper.
  var seen = new Map([[window, 0], [window.xssScan, 0]]);
  function walk(value, path, depth) {
    if (typeof value === "string") return look(path, value);
    if (value === null || (typeof value !== "object" && typeof value !== "function")) return;
    if (depth >= 3 || seen.get(value) <= depth) return;
    seen.set(value, depth);
    var keys;
    try { keys = Object.keys(value); } catch (e) { return; }
    for (var key of keys.slice(0, 5000)) {
      var child;
      try { child = value[key]; } catch (e) { continue; }
      walk(child, path + "." + key, depth + 1);
    }
  }
  for (var key of Object.keys(window)) {
    var value;
    try { value = window[key]; } catch (e) { continue; }
    walk(value, "window." + key, 1);
  }
  look("document", document.documentElement.outerHTML);
  look("document.cookie", document.cookie);
  var databases = (await indexedDB.databases()).map(function (d) { return d.name; });
  return {
    found: found,
    localStorage: stored(localStorage, "localStorage"),
    sessionStorage: stored(sessionStorage, "sessionStorage"),
    cookies: document.cookie.split("; ").filter(Boolean).map(function (c) { return c.split("=")[0]; }),
    databases: databases,
  };
};`;

/** The control: what a careless page would leave where the payload looks. */
const PLANT = `
window.plant = function (jwt, refresh) {
  window.leak = { a: { b: jwt } };
  localStorage.setItem("planted", jwt);
  sessionStorage.setItem("planted", refresh);
  document.cookie = "planted=" + refresh + "; path=/";
  return new Promise(function (resolve, reject) {
    var open = indexedDB.open("planted");
    open.onsuccess = function () { open.result.close(); resolve(); };
    open.onerror = function () { reject(open.error); };
  });
};`;

/** A request to latchkey the browser sent, with the tab (1-based) that sent it. */
interface Sent {
  at: number;
  tab: number;
  method: string;
  path: string;
  bearer: boolean;
}

/** latchkey's answer to one, as the browser got it. */
interface Answered extends Omit<Sent, "bearer"> {
  status: number;
  code: string | null;
  setsAccessCookie: boolean;
}

/** One browser profile, its tabs, and what it sent to latchkey and got back. */
interface Profile {
  context: BrowserContext;
  server: RunningServer;
  tabs: Page[];
  sent: Sent[];
  answered: Answered[];
}

/** The one item of `items`, failing the test (with `message`) when there is not exactly one. */
function theOne<T>(items: T[], message?: string): T {
  expect(items, message).toHaveLength(1);
  return items[0] as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Serves the test page at / and the client's build under /client/. */
async function startPageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://page.invalid").pathname;
    const name = /^\/client\/([\w-]+\.js)$/.exec(path)?.[1];
    // Read at each request: the client's build may be newer than this process.
    const file = path === "/" ? PAGE_FILE : name ? join(CLIENT_DIST, name) : null;
    if (!file || !existsSync(file)) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    response
      .writeHead(200, {
        "content-type": file.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8",
        "cache-control": "no-store",
      })
      .end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

describeWith("Chromium", CHROMIUM !== null)("@latchkey/client in Chromium, from a trusted origin", () => {
  let dir: string;
  let page: { server: Server; origin: string };
  const servers = {} as Record<"jwt" | "hybrid", RunningServer>;
  const envs = {} as Record<"jwt" | "hybrid", Record<string, string>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let counter = 0;
  const uniqueUser = () => `cl${process.pid % 1000}u${++counter}`;

  beforeAll(async () => {
    if (!existsSync(join(CLIENT_DIST, "index.js"))) {
      throw new Error("packages/client/dist/index.js is missing: build the client with `npm run -s build:server`");
    }
    dir = mkdtempSync(join(tmpdir(), "latchkey-client-e2e-"));
    page = await startPageServer();
    for (const strategy of ["jwt", "hybrid"] as const) {
      envs[strategy] = { DATABASE_URL: `sqlite:${join(dir, `${strategy}.db`)}`, LOG_LEVEL: "silent" };
    }
    const start = (strategy: "jwt" | "hybrid") =>
      startServerProcess({
        ...envs[strategy],
        LOG_LEVEL: "info",
        AUTH_STRATEGY: strategy,
        ACCESS_TOKEN_TTL: String(TTL_S),
        // No grace on exp: an access token used after its expiry is refused, so a 200 after
        // the expiry means the client did refresh.
        CLOCK_TOLERANCE: "0",
        REFRESH_REUSE_LEEWAY: String(LEEWAY_S),
        TRUSTED_ORIGINS: page.origin,
      });
    [servers.jwt, servers.hybrid, browser] = await Promise.all([
      start("jwt"),
      start("hybrid"),
      launchChromium(CHROMIUM as string),
    ]);
  }, 120_000);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    await new Promise((resolve) => page?.server.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** An account made over the API, as a script would. */
  const register = async (server: RunningServer) => {
    const username = uniqueUser();
    const answer = await fetch(`${server.origin}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(answer.status, await answer.text()).toBe(201);
    return username;
  };

  /** A new browser profile, logging every request it sends to `server` and each answer. */
  const newProfile = async (server: RunningServer): Promise<Profile> => {
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(15_000);
    const profile: Profile = { context, server, tabs: [], sent: [], answered: [] };
    const tabOf = (request: Request) => {
      try {
        return profile.tabs.indexOf(request.frame().page()) + 1;
      } catch {
        return 0;
      }
    };
    const toServer = (url: string) => new URL(url).origin === server.origin;
    context.on("request", (request) => {
      if (!toServer(request.url()) || request.method() === "OPTIONS") return;
      profile.sent.push({
        at: Date.now(),
        tab: tabOf(request),
        method: request.method(),
        path: new URL(request.url()).pathname,
        bearer: /^Bearer eyJ/.test(request.headers().authorization ?? ""),
      });
    });
    context.on("response", async (response: Response) => {
      const request = response.request();
      if (!toServer(response.url()) || request.method() === "OPTIONS") return;
      const at = Date.now();
      try {
        // headers() leaves Set-Cookie out; headersArray() has it, one line per cookie or joined by \n.
        const setCookies = (await response.headersArray())
          .filter((header) => header.name.toLowerCase() === "set-cookie")
          .flatMap((header) => header.value.split("\n"));
        const code =
          response.status() >= 400
            ? (((await response.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code ?? null)
            : null;
        profile.answered.push({
          at,
          tab: tabOf(request),
          method: request.method(),
          path: new URL(response.url()).pathname,
          status: response.status(),
          code,
          setsAccessCookie: setCookies.some((line) => /^__Host-at=[^;]/.test(line)),
        });
      } catch {
        // The context closed while the answer was read.
      }
    });
    return profile;
  };

  /** Opens the test page in a new tab of `profile`, its client in `mode`. */
  const openTab = async (profile: Profile, mode: Mode) => {
    const tab = await profile.context.newPage();
    profile.tabs.push(tab);
    tabErrors.set(tab, watchErrors(tab));
    serverOf.set(tab, profile.server);
    const query = new URLSearchParams({ server: profile.server.origin, mode, margin: String(REFRESH_MARGIN_S) });
    await tab.goto(`${page.origin}/?${query}`);
    await tab.waitForFunction(() => "client" in window);
    return tab;
  };
  const tabErrors = new Map<Page, string[]>();
  const serverOf = new Map<Page, RunningServer>();
  const allErrors = (profile: Profile) => profile.tabs.flatMap((tab) => tabErrors.get(tab) ?? []);

  const signIn = (tab: Page, username: string) =>
    tab.evaluate(([u, p]) => (window as unknown as TestWindow).client.signIn(u, p), [username, PASSWORD] as const);
  const sessionOf = (tab: Page) => tab.evaluate(() => (window as unknown as TestWindow).client.session());
  const changesOf = (tab: Page) => tab.evaluate(() => (window as unknown as TestWindow).changes);
  /** `client.fetch` of a latchkey route in `tab`: the status the page got. */
  const fetchIn = (tab: Page, path: string) =>
    tab.evaluate(
      async (url) => (await (window as unknown as TestWindow).client.fetch(url)).status,
      `${serverOf.get(tab)?.origin}${path}`,
    );
  const refreshesOf = (profile: Profile) =>
    profile.sent.filter((sent) => sent.method === "POST" && sent.path === "/auth/refresh");
  /** The log, with times from `since`, for an assertion's message. */
  const logOf = (profile: Profile, since: number) =>
    JSON.stringify(
      {
        sent: profile.sent.map((s) => ({ ...s, at: s.at - since })),
        answered: profile.answered.map((a) => ({ ...a, at: a.at - since })),
      },
      null,
      1,
    );
  /** The `__Secure-mrt` cookie as the refresh path receives it. */
  const refreshCookie = async (profile: Profile) =>
    (await profile.context.cookies(`${profile.server.origin}/auth/refresh`)).find((c) => c.name === "__Secure-mrt")
      ?.value ?? "";
  /** Opens `count` more tabs; each asks for the session and finds it. */
  const openMore = async (profile: Profile, mode: Mode, count: number, username: string) => {
    for (let i = 0; i < count; i++) {
      const tab = await openTab(profile, mode);
      expect((await sessionOf(tab))?.user.username).toBe(username);
    }
  };
  /** The changes that signed a tab out. */
  const signOuts = async (tab: Page) => (await changesOf(tab)).filter((change) => change.session === null);

  const ONE_REFRESH_CASES = [
    { label: "jwt cookies", server: "jwt", mode: "cookie", strategy: "jwt" },
    { label: "hybrid cookies", server: "hybrid", mode: "cookie", strategy: "hybrid" },
    { label: "the in-memory mode (jwt server)", server: "jwt", mode: "memory", strategy: "memory" },
  ] as const;

  for (const { label, server: which, mode, strategy } of ONE_REFRESH_CASES) {
    it(`${label}: five tabs ride through the access token's expiry with ONE refresh between them`, async () => {
      const server = servers[which];
      const profile = await newProfile(server);
      const username = await register(server);
      const one = await openTab(profile, mode);
      const signedIn = await signIn(one, username);
      const since = Date.now();
      expect(signedIn.strategy).toBe(strategy);
      const firstExpiry = signedIn.accessExpiresAt as number;
      expect(firstExpiry - since).toBeGreaterThan((TTL_S - 2) * 1000);
      await openMore(profile, mode, 4, username);
      const log = () => logOf(profile, since);

      // In memory mode a new tab has no access token (it lives in memory only) and gets one
      // with the refresh cookie on load: the client makes one refresh per new tab (4 here,
      // seen in every run), one at a time under the Web Lock, each broadcast with its token
      // to the tabs already open. Those are counted apart (at most one per new tab); the
      // expiry the tabs then ride through is that of the last one's token.
      // In cookie mode a new tab reads the session with /auth/me and refreshes nothing.
      const onOpening = refreshesOf(profile).length;
      const expiries = await Promise.all(profile.tabs.map(async (tab) => (await sessionOf(tab))?.accessExpiresAt ?? 0));
      const expiry = mode === "memory" ? Math.max(...expiries) : firstExpiry;
      if (mode === "memory") expect(onOpening, log()).toBeLessThanOrEqual(4);

      await sleep(expiry + 500 - Date.now());
      const statuses = await Promise.all(profile.tabs.map((tab) => fetchIn(tab, "/auth/me")));
      expect(statuses, log()).toEqual([200, 200, 200, 200, 200]);

      const aroundExpiry = theOne(refreshesOf(profile).slice(mode === "memory" ? onOpening : 0), log());
      // Made ahead of the expiry, by the timer: not by a request refused after it.
      expect(aroundExpiry.at, log()).toBeLessThan(expiry);
      const refreshAnswers = profile.answered.filter((a) => a.path === "/auth/refresh");
      expect(
        refreshAnswers.map((a) => a.status),
        log(),
      ).toEqual(refreshesOf(profile).map(() => 200));
      if (strategy === "hybrid") {
        // Only the refresh set a new access cookie: no request reached latchkey with an
        // expired one (the server would have answered it with a fresh cookie of its own).
        const setters = profile.answered.filter((a) => a.setsAccessCookie && a.path !== "/auth/login");
        expect(
          setters.map((a) => `${a.method} ${a.path}`),
          log(),
        ).toEqual(["POST /auth/refresh"]);
      }
      if (mode === "memory") {
        // Every /auth/me of the page carried a bearer token, and no cookie of a strategy exists.
        expect(profile.sent.filter((s) => s.path === "/auth/me" && !s.bearer)).toEqual([]);
        const names = (await profile.context.cookies(server.origin)).map((c) => c.name);
        expect(names.filter((name) => name.startsWith("__Host-") && name !== "__Host-device")).toEqual([]);
      }
      for (const [index, tab] of profile.tabs.entries()) {
        expect(await signOuts(tab), `tab ${index + 1}`).toEqual([]);
        // Every tab knows of the new token's expiry, the ones that did not refresh too.
        expect((await sessionOf(tab))?.accessExpiresAt, `tab ${index + 1}`).toBeGreaterThan(expiry);
      }
      expect(allErrors(profile)).toEqual([]);
    }, 120_000);
  }

  /** Signs in in a first tab and opens `count - 1` more, in jwt cookie mode. */
  const threeTabs = async () => {
    const profile = await newProfile(servers.jwt);
    const username = await register(servers.jwt);
    const one = await openTab(profile, "cookie");
    const session = await signIn(one, username);
    await openMore(profile, "cookie", 2, username);
    return { profile, username, session, tabs: profile.tabs as [Page, Page, Page] };
  };

  /** Waits until each of `tabs` has a sign-out change; checks it and that it came within 1 s of `first`'s. */
  const expectHeard = async (first: PageChange, tabs: Page[]) => {
    await within(5000, async () => (await Promise.all(tabs.map(signOuts))).every((found) => found.length > 0));
    for (const [index, tab] of tabs.entries()) {
      const heard = theOne(await signOuts(tab), `tab ${index}`);
      expect(heard).toMatchObject({ session: null, reason: first.reason, fromOtherTab: true });
      expect(heard.at - first.at, `tab heard ${heard.at - first.at} ms after`).toBeLessThanOrEqual(1000);
      expect(await sessionOf(tab)).toBeNull();
    }
  };

  it("signOut in one tab signs the others out within a second (jwt cookies)", async () => {
    const { profile, tabs } = await threeTabs();
    const [one, ...others] = tabs;
    await one.evaluate(() => (window as unknown as TestWindow).client.signOut());
    const own = theOne(await signOuts(one));
    expect(own).toMatchObject({ session: null, reason: "signed_out", fromOtherTab: false });
    await expectHeard(own, others);
    // Signed out for latchkey too: the cookies no longer open the API.
    expect(await fetchIn(others[0], "/api/todos")).toBe(401);
    expect(allErrors(profile)).toEqual([]);
  }, 120_000);

  it("a session ended from outside (the CLI): one tab's fetch is a forced sign-out, the others hear its reason within a second", async () => {
    const { profile, session, tabs } = await threeTabs();
    const [one, two, three] = tabs;
    const since = Date.now();
    const revoked = await runCli(["sessions", "revoke", session.sessionId], envs.jwt);
    expect(revoked.code, revoked.stderr).toBe(0);
    // The CLI's change reaches the server within a second: until then the API still answers.
    let status = 200;
    await within(5000, async () => {
      status = await fetchIn(two, "/api/todos");
      return status !== 200;
    });
    expect(status, logOf(profile, since)).toBe(401);
    // The reason is latchkey's own code, from the answer that ended it: the refresh refused.
    const refused = profile.answered.filter((a) => a.path === "/auth/refresh" && a.status === 401);
    expect(refused.length, logOf(profile, since)).toBeGreaterThan(0);
    const code = refused.at(-1)?.code as string;
    const forced = theOne(await signOuts(two));
    expect(forced).toMatchObject({ session: null, reason: code, fromOtherTab: false });
    expect(forced.reason).not.toMatch(/^signed_out/);
    await expectHeard(forced, [one, three]);
    expect(allErrors(profile)).toEqual([]);
  }, 120_000);

  it("XSS: a script injected into the page finds no token after a refresh, and finds one a page left out (control)", async () => {
    const server = servers.jwt;
    const profile = await newProfile(server);
    const username = await register(server);
    const one = await openTab(profile, "memory");
    await signIn(one, username);
    // A second tab refreshes on load (memory mode) and hands the new token to the first
    // over the BroadcastChannel: both code paths that receive a token have run.
    const two = await openTab(profile, "memory");
    expect((await sessionOf(two))?.user.username).toBe(username);
    await within(5000, async () =>
      (await changesOf(one)).some((change) => change.reason === "refreshed" && change.fromOtherTab),
    );
    expect(refreshesOf(profile).length).toBeGreaterThanOrEqual(1);

    const scan = async (tab: Page) => {
      await tab.addScriptTag({ content: XSS_PAYLOAD });
      return tab.evaluate(() => (window as unknown as TestWindow).xssScan());
    };
    for (const tab of [one, two]) {
      // The page does hold a live token (sent as a bearer header), out of a script's reach.
      expect(await fetchIn(tab, "/auth/me")).toBe(200);
      const result = await scan(tab);
      expect(result).toEqual({ found: [], localStorage: [], sessionStorage: [], cookies: [], databases: [] });
    }
    expect(profile.sent.filter((s) => s.path === "/auth/me").every((s) => s.bearer)).toBe(true);

    // The control: the same payload finds a real access token and a real refresh token
    // (latchkey's API-client pair for this user) where a careless page would leave them.
    const issued = await fetch(`${server.origin}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    const pair = (await issued.json()) as { access_token: string; refresh_token: string };
    expect(pair.access_token).toMatch(JWT_SHAPE);
    expect(pair.refresh_token).toMatch(REFRESH_SHAPE);
    await one.addScriptTag({ content: PLANT });
    await one.evaluate(
      ([jwt, refresh]) => (window as unknown as { plant: (a: string, b: string) => Promise<void> }).plant(jwt, refresh),
      [pair.access_token, pair.refresh_token] as const,
    );
    const planted = await scan(one);
    const where = (shape: string) => planted.found.filter((f) => f.shape === shape).map((f) => f.where);
    expect(where("jwt")).toEqual(expect.arrayContaining(["window.leak.a.b", "localStorage.planted"]));
    expect(where("refresh")).toEqual(expect.arrayContaining(["sessionStorage.planted", "document.cookie"]));
    expect(planted.databases).toEqual(["planted"]);
    expect(allErrors(profile)).toEqual([]);
  }, 120_000);

  it("a refresh cookie replayed after its rotation ends the session: the page's next fetch is a forced sign-out", async () => {
    const server = servers.jwt;
    const profile = await newProfile(server);
    const username = await register(server);
    const one = await openTab(profile, "memory");
    await signIn(one, username);
    const since = Date.now();
    const copied = await refreshCookie(profile);
    expect(copied).toMatch(REFRESH_SHAPE);

    // The page refreshes by itself, REFRESH_MARGIN before expiry, and the cookie rotates.
    await within(TTL_S * 1000, async () => (await changesOf(one)).some((change) => change.reason === "refreshed"));
    const rotated = await refreshCookie(profile);
    expect(rotated).not.toBe(copied);
    expect(await fetchIn(one, "/auth/me")).toBe(200);

    // Past the leeway, the copy is theft: refused, and the whole session ends.
    await sleep(LEEWAY_S * 1000 + 1200);
    const replay = await fetch(`${server.origin}/auth/refresh`, {
      method: "POST",
      headers: { cookie: `__Secure-mrt=${copied}`, "x-requested-with": "latchkey", origin: page.origin },
    });
    expect([replay.status, ((await replay.json()) as { error: { code: string } }).error.code]).toEqual([
      401,
      "invalid_grant",
    ]);
    expect(await fetchIn(one, "/auth/me"), logOf(profile, since)).toBe(401);
    const refused = profile.answered.filter((a) => a.path === "/auth/refresh" && a.status === 401);
    expect(refused.length, logOf(profile, since)).toBeGreaterThan(0);
    const forced = theOne(await signOuts(one));
    expect(forced).toMatchObject({ session: null, reason: refused.at(-1)?.code, fromOtherTab: false });
    expect(forced.reason).not.toMatch(/^signed_out/);
    expect(await sessionOf(one)).toBeNull();
    expect(allErrors(profile)).toEqual([]);
  }, 120_000);

  it("a refresh with the page's cookie from an untrusted origin is refused, and does not use the cookie up", async () => {
    const server = servers.jwt;
    const profile = await newProfile(server);
    const username = await register(server);
    const one = await openTab(profile, "memory");
    await signIn(one, username);
    const cookie = await refreshCookie(profile);
    const refreshFrom = (origin: string) =>
      fetch(`${server.origin}/auth/refresh`, {
        method: "POST",
        headers: { cookie: `__Secure-mrt=${cookie}`, "x-requested-with": "latchkey", origin },
      });
    const refused = await refreshFrom("http://evil.example");
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([
      403,
      "forbidden_origin",
    ]);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    // The same cookie from the trusted origin still works: the refusal was the origin's.
    const trusted = await refreshFrom(page.origin);
    expect(trusted.status).toBe(200);
    expect(((await trusted.json()) as { access_token: string }).access_token).toMatch(JWT_SHAPE);
    expect(allErrors(profile)).toEqual([]);
  }, 120_000);
});
