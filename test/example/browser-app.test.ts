/// <reference lib="dom" />
/**
 * Issue 29, examples/browser-app in a real Chromium against a real latchkey: a page on one
 * origin (http://localhost:<app>) signs in with `@latchkey/client` in memory mode and calls
 * a notes API on another (http://localhost:<api>) that verifies the bearer token with
 * `latchkey/verify`. The token is sent to the API, survives a reload through the HttpOnly
 * refresh cookie without ever being stored where a script could read it, and is refused
 * by the API within a second of signing out; a sign-out shows at once in another tab, and
 * signing out everywhere ends another device's session.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../e2e/browser.js";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";

const CHROMIUM = chromiumPath();
const EXAMPLE = fileURLToPath(new URL("../../examples/browser-app/server.mjs", import.meta.url));
const PASSWORD = "correct horse battery staple";
/** Each browser step and each wait on this shared 2-core machine; a whole test gets four. */
const STEP_MS = 60_000;
const TEST_MS = 240_000;

/** A port free right now: latchkey must trust the app's origin before the app listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Example {
  proc: ChildProcess;
  app: string;
  api: string;
  output(): string;
}

/** Starts examples/browser-app and resolves with the origins of its line `{"app":..,"api":..}`. */
function startExample(env: Record<string, string>): Promise<Example> {
  const proc = spawn(process.execPath, [EXAMPLE], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start:\n${output}`)), STEP_MS);
    const collect = (chunk: Buffer) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.startsWith('{"app"'));
      if (!line) return;
      clearTimeout(timer);
      const { app, api } = JSON.parse(line) as { app: string; api: string };
      resolve({ proc, app, api, output: () => output });
    };
    proc.stdout.on("data", collect);
    proc.stderr.on("data", collect);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (${code}):\n${output}`));
    });
  });
}

describeWith("Chromium", CHROMIUM !== null)("examples/browser-app in Chromium", () => {
  let dir: string;
  let latchkey: RunningServer;
  let example: Example;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-browser-app-"));
    const env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    const appPort = await freePort();
    // localhost, not 127.0.0.1: the page must be the same site as latchkey's origin.
    latchkey = await startServerProcess({ ...env, TRUSTED_ORIGINS: `http://localhost:${appPort}` });
    const created = await runCli(["services", "create", "notes", "--json"], env);
    expect(created.code, created.stderr).toBe(0);
    const service = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    for (const name of ["alice", "bob"]) {
      const user = await runCli(["users", "create", name], env, PASSWORD);
      expect(user.code, user.stderr).toBe(0);
    }
    example = await startExample({
      LATCHKEY_ORIGIN: latchkey.origin,
      APP_PORT: String(appPort),
      API_PORT: "0",
      CLIENT_ID: service.client_id,
      CLIENT_SECRET: service.client_secret,
    });
    expect(example.app).toBe(`http://localhost:${appPort}`);
    browser = await launchChromium(CHROMIUM as string);
  }, TEST_MS);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    if (example && example.proc.exitCode === null) {
      const exited = new Promise((resolve) => example.proc.once("exit", resolve));
      example.proc.kill("SIGTERM");
      await exited;
    }
    await latchkey?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, STEP_MS);

  /** A browser profile of its own (a device), with the failures a broken page would show. */
  const newDevice = async () => {
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(STEP_MS);
    return context;
  };
  /** Opens the app in a tab and waits until it shows either the sign-in form or the user. */
  const openApp = async (context: BrowserContext) => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) {
        errors.push(message.text());
      }
    });
    // Every bearer token the page sent to the API, as the browser sent it.
    const tokens: string[] = [];
    page.on("request", (request) => {
      const authorization = request.headers().authorization;
      if (request.url().startsWith(`${example.api}/`) && authorization) {
        tokens.push(authorization.replace(/^Bearer /, ""));
      }
    });
    await page.goto(`${example.app}/`);
    await loaded(page);
    return { page, errors, tokens };
  };
  const loaded = (page: Page) => page.locator("#sign-in:visible, #signed-in:visible").first().waitFor();
  const signIn = async (page: Page, username: string) => {
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await signedInAs(page, username);
  };
  const signedInAs = (page: Page, username: string) =>
    page.locator("#who").getByText(username, { exact: true }).waitFor();
  const signedOut = (page: Page) => page.getByRole("heading", { name: "Sign in" }).waitFor();
  const addNote = async (page: Page, text: string) => {
    await page.getByLabel("New note").fill(text);
    await page.getByRole("button", { name: "Add", exact: true }).click();
  };
  const note = (page: Page, text: string) => page.getByRole("listitem").getByText(text, { exact: true });
  /** The API, called from Node with a token the browser sent. */
  const notesWith = (token: string) => fetch(`${example.api}/notes`, { headers: { authorization: `Bearer ${token}` } });

  it(
    "signs in, sends the bearer token to the API, stays signed in across a reload with nothing stored, and the token is refused within a second of signing out",
    async () => {
      const context = await newDevice();
      const { page, errors, tokens } = await openApp(context);
      await signedOut(page);
      await signIn(page, "alice");
      await addNote(page, "buy milk");
      await note(page, "buy milk").waitFor();
      expect(tokens.length).toBeGreaterThan(0);
      const first = tokens.at(-1) as string;
      const accepted = await notesWith(first);
      expect(accepted.status).toBe(200);
      expect(((await accepted.json()) as { notes: { text: string }[] }).notes.map((n) => n.text)).toEqual(["buy milk"]);

      // A reload forgets the token; the HttpOnly refresh cookie gets a new one.
      const before = tokens.length;
      await page.reload();
      await signedInAs(page, "alice");
      await note(page, "buy milk").waitFor();
      const second = tokens.at(-1) as string;
      expect(tokens.length).toBeGreaterThan(before);
      expect(second).not.toBe(first);
      const held = await page.evaluate((token) => {
        const globals = Object.getOwnPropertyNames(window).filter((name) => {
          try {
            const value = (window as unknown as Record<string, unknown>)[name];
            return typeof value === "string" && value.includes(token);
          } catch {
            return false;
          }
        });
        const inStorage = (storage: Storage) => Object.keys(storage).length;
        return {
          localStorage: inStorage(localStorage),
          sessionStorage: inStorage(sessionStorage),
          cookie: document.cookie,
          globals,
          inPage: document.documentElement.outerHTML.includes(token),
        };
      }, second);
      expect(held).toEqual({ localStorage: 0, sessionStorage: 0, cookie: "", globals: [], inPage: false });
      // The refresh token is where the page cannot read it: HttpOnly, for two paths of latchkey.
      const paths = ["/auth/refresh", "/auth/logout"].map((path) => `${latchkey.origin}${path}`);
      const refreshCookies = (await context.cookies(paths)).filter((c) => c.name === "__Secure-mrt");
      expect(refreshCookies.map((c) => [c.path, c.httpOnly]).sort()).toEqual([
        ["/auth/logout", true],
        ["/auth/refresh", true],
      ]);

      // Another tab of the same browser: signed in by the cookie, and told of the sign-out.
      const other = await openApp(context);
      await signedInAs(other.page, "alice");
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await signedOut(page);
      await signedOut(other.page);
      await other.page.getByText("Signed out. (in another tab)").waitFor();

      // The API follows latchkey's revocation feed: the token is refused long before its exp.
      const started = Date.now();
      await within(1000, async () => (await notesWith(second)).status === 401);
      expect(Date.now() - started).toBeLessThan(1000);
      const refused = await notesWith(second);
      expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
      expect((await notesWith(first)).status).toBe(401);
      await page.reload();
      await signedOut(page);
      expect([...errors, ...other.errors]).toEqual([]);
    },
    TEST_MS,
  );

  it(
    "sign out everywhere ends the session of another device, whose page then asks to sign in again",
    async () => {
      const laptop = await openApp(await newDevice());
      const phone = await openApp(await newDevice());
      await signIn(laptop.page, "bob");
      await signIn(phone.page, "bob");
      await addNote(laptop.page, "from the laptop");
      await note(laptop.page, "from the laptop").waitFor();
      const laptopToken = laptop.tokens.at(-1) as string;

      await phone.page.getByRole("button", { name: "Sign out everywhere" }).click();
      await signedOut(phone.page);
      await phone.page.getByText("Signed out on every device.").waitFor();
      await within(STEP_MS, async () => (await notesWith(laptopToken)).status === 401);
      // The laptop's next call is refused, its refresh too: the page says the session ended.
      await addNote(laptop.page, "too late");
      await signedOut(laptop.page);
      await laptop.page.getByText("Your session has ended: sign in again.").waitFor();
      expect([...laptop.errors, ...phone.errors]).toEqual([]);
    },
    TEST_MS,
  );

  it("answers CORS to the app's origin only, without credentials, and 401 with a challenge without a token", async () => {
    const preflight = (origin: string) =>
      fetch(`${example.api}/notes`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const app = await preflight(example.app);
    expect(app.headers.get("access-control-allow-origin")).toBe(example.app);
    expect(app.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
    expect(app.headers.get("access-control-allow-credentials")).toBeNull();
    expect(app.headers.get("vary")).toMatch(/Origin/);
    for (const origin of [latchkey.origin, "https://evil.example", example.api]) {
      expect((await preflight(origin)).headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    const anonymous = await fetch(`${example.api}/notes`, { headers: { origin: example.app } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="notes"');
    expect(anonymous.headers.get("access-control-allow-origin")).toBe(example.app);
    const forged = await notesWith("e30.e30.e30");
    expect(forged.status).toBe(401);
    expect(forged.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });
});
