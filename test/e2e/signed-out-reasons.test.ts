/// <reference lib="dom" />
/**
 * Issue 30, defect 2, in a real Chromium against real servers: every forced sign-out is
 * explained on the sign-in page from the reason latchkey gives (`Latchkey-Session-Ended`),
 * noticed as soon as the person comes back to the tab (focus, no click in it), and what
 * they were typing comes back when the same user signs in again (never for another user).
 * Each ending is caused from a second browser (or the operator's CLI), as it happens in
 * life. The person's own "sign out everywhere" and account deletion end with a confirmation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase";
const DRAFT = "call the plumber about the";
// A loaded 2-core machine: a server and a browser start slowly, and a step can take seconds.
const SLOW = 120_000;
/** How soon the first tab must show the notice once focused (the check is one request). */
const NOTICED_WITHIN = 10_000;

let counter = 0;
const uniqueUser = () => `so${process.pid % 1000}r${++counter}`;

describeWith("Chromium", CHROMIUM !== null)("forced sign-outs explained (issue 30, defect 2), in Chromium", () => {
  let dir: string;
  /** The usual server, under the session strategy. */
  let main: { server: RunningServer; env: Record<string, string> };
  /** A session ends after 3 s without use. */
  let idle: { server: RunningServer; env: Record<string, string> };
  /** A session's secret is renewed every 2 s, with 1 s of grace: a copy's use shows. */
  let rotating: { server: RunningServer; env: Record<string, string> };
  /** jwt, access tokens of 2 s and no leeway for an old refresh token. */
  let jwt: { server: RunningServer; env: Record<string, string> };
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const start = async (name: string, extra: Record<string, string>) => {
    const env = { DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`, AUTH_STRATEGY: "session", ...extra };
    return { server: await startServerProcess(env), env };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-reasons-"));
    [main, idle, rotating, jwt, browser] = await Promise.all([
      start("main", {}),
      start("idle", { SESSION_IDLE_TIMEOUT: "3" }),
      // A short idle timeout makes every request a write of use, which renews when due.
      start("rotating", { SESSION_ROTATE_INTERVAL: "2", SESSION_ROTATE_GRACE: "1", SESSION_IDLE_TIMEOUT: "10" }),
      start("jwt", { AUTH_STRATEGY: "jwt", ACCESS_TOKEN_TTL: "2", CLOCK_TOLERANCE: "0", REFRESH_REUSE_LEEWAY: "0" }),
      launchChromium(CHROMIUM as string),
    ]);
  }, SLOW);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await Promise.all([main, idle, rotating, jwt].map((s) => s?.server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  const newDevice = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    return { context, page, errors: watchErrors(page) };
  };
  const signIn = async (page: Page, origin: string, username: string, password = PASSWORD) => {
    await page.goto(`${origin}/signin`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/todos");
  };
  /** The first device: signed up, a to-do being typed in its field, not sent. */
  const typingDevice = async (origin: string, username: string) => {
    const device = await newDevice();
    await signUpInPage(device.page, origin, username, PASSWORD);
    await device.page.getByLabel("New to-do").fill(DRAFT);
    return device;
  };
  /**
   * The person comes back to the tab: it is brought to the front and takes the focus
   * (the window's `focus` event, as when they click its title bar or switch to it); no
   * click inside the page.
   */
  const comeBack = async (page: Page) => {
    await page.bringToFront();
    await page.evaluate(() => window.dispatchEvent(new FocusEvent("focus")));
  };
  const notice = (page: Page) => page.locator(".signed-out-notice");
  /** The first tab shows the sign-in page with the notice for `reason`, once the person is back. */
  const expectNotice = async (page: Page, reason: string, text: RegExp) => {
    await comeBack(page);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor({ timeout: NOTICED_WITHIN });
    expect(new URL(page.url()).pathname).toBe("/signin");
    await expect(notice(page).getAttribute("data-reason")).resolves.toBe(reason);
    await expect(notice(page).textContent()).resolves.toMatch(text);
  };
  /** Signs back in from the notice (the username is filled in) and finds the draft in its field. */
  const expectDraftBack = async (page: Page, username: string, password = PASSWORD) => {
    await expect(page.getByLabel("Username").inputValue()).resolves.toBe(username);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/todos");
    await expect(page.getByLabel("New to-do").inputValue()).resolves.toBe(DRAFT);
    await page.getByText("What you were typing before you were signed out is back.").waitFor();
  };
  const axe = async (page: Page, name: string) => {
    expect(await seriousAxeViolations(page, name)).toEqual([]);
  };

  it(
    "session_revoked: the device is signed out from another device; the draft comes back",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const second = await newDevice();
      await signIn(second.page, main.server.origin, username);
      await second.page.goto(`${main.server.origin}/devices`);
      await second.page.getByRole("button", { name: /^Sign out Chrome/ }).click();
      await second.page.getByText("That device has been signed out.").waitFor();

      await expectNotice(first.page, "session_revoked", /signed out from another device/);
      // An alert: announced at once, and axe-clean in both themes at both widths.
      await expect(notice(first.page).getAttribute("role")).resolves.toBe("alert");
      for (const theme of ["light", "dark"] as const) {
        await first.page.evaluate((t) => {
          localStorage.setItem("theme", t);
          document.documentElement.dataset.theme = t;
        }, theme);
        for (const [size, viewport] of Object.entries(VIEWPORTS)) {
          await first.page.setViewportSize(viewport);
          await axe(first.page, `signed-out notice ${theme} ${size}`);
          await screenshot(first.page, `signed-out-session-revoked-${theme}-${size}`);
        }
      }
      await first.page.setViewportSize(VIEWPORTS.desktop);
      await expectDraftBack(first.page, username);
      expect(first.errors).toEqual([]);
    },
    SLOW,
  );

  it(
    "signed_out_everywhere: another device signed out everywhere; that device is told it did",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const second = await newDevice();
      await signIn(second.page, main.server.origin, username);
      await second.page.goto(`${main.server.origin}/devices`);
      await second.page.getByRole("button", { name: "Sign out everywhere" }).click();
      // The person's own action is confirmed, as a status rather than an alarm.
      await second.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      await expect(notice(second.page).getAttribute("data-reason")).resolves.toBe("you_signed_out_everywhere");
      await expect(notice(second.page).textContent()).resolves.toMatch(/You signed out of every device/);
      await expect(notice(second.page).getAttribute("role")).resolves.toBe("status");

      await expectNotice(first.page, "signed_out_everywhere", /signed out on every device/);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "signed_out: another browser holding this same session signed it out",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const copy = await newDevice();
      await copy.context.addCookies(await first.context.cookies());
      await copy.page.goto(`${main.server.origin}/todos`);
      await copy.page.getByRole("heading", { name: "To-dos" }).waitFor();
      await copy.page.getByRole("button", { name: "Sign out", exact: true }).click();
      await copy.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();

      await expectNotice(first.page, "signed_out", /signed out elsewhere/);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "password_changed: the password was changed on another device; sign back in with the new one",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const second = await newDevice();
      await signIn(second.page, main.server.origin, username);
      await second.page.goto(`${main.server.origin}/security`);
      await second.page.getByLabel("Current password").fill(PASSWORD);
      await second.page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await second.page.getByLabel("New password, again").fill(NEW_PASSWORD);
      await second.page.getByRole("button", { name: "Change password" }).click();
      await second.page.getByText(/Your other devices have been signed out/).waitFor();

      await expectNotice(first.page, "password_changed", /password was changed on another device/);
      await expectDraftBack(first.page, username, NEW_PASSWORD);
    },
    SLOW,
  );

  it(
    "account_deleted: the account was deleted on another device, which is told it was",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const second = await newDevice();
      await signIn(second.page, main.server.origin, username);
      await second.page.goto(`${main.server.origin}/security`);
      await second.page.getByRole("button", { name: "Delete account…" }).click();
      await second.page
        .getByRole("region", { name: "Delete account" })
        .getByLabel("Your password, to confirm")
        .fill(PASSWORD);
      await second.page.getByRole("button", { name: "Delete my account" }).click();
      await second.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      await expect(notice(second.page).getAttribute("data-reason")).resolves.toBe("you_deleted_account");
      await expect(notice(second.page).textContent()).resolves.toMatch(/Your account was deleted/);

      await expectNotice(first.page, "account_deleted", /no longer exists/);
      // Nothing to sign back in to: the name is not filled in.
      await expect(first.page.getByLabel("Username").inputValue()).resolves.toBe("");
    },
    SLOW,
  );

  it(
    "account_disabled: the operator disabled the account; once enabled, the draft comes back",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(main.server.origin, username);
      const cli = (...args: string[]) => runCli(["users", ...args, username], { ...main.env, LOG_LEVEL: "silent" });
      expect((await cli("disable")).code).toBe(0);

      await expectNotice(first.page, "account_disabled", /disabled/);
      expect((await cli("enable")).code).toBe(0);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "session_expired: the session ended after its idle timeout (SESSION_IDLE_TIMEOUT=3)",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(idle.server.origin, username);
      await first.page.waitForTimeout(4_500);

      await expectNotice(first.page, "session_expired", /session expired/);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "session_reuse_detected: a copy of the cookie renewed the session; the owner keeps the explanation",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(rotating.server.origin, username);
      const copy = await newDevice();
      await copy.context.addCookies(await first.context.cookies());
      // The copy comes after the renewal interval: its request renews the secret, and the
      // owner's cookie is now the old one.
      await copy.page.waitForTimeout(2_500);
      await copy.page.goto(`${rotating.server.origin}/todos`);
      await copy.page.getByRole("heading", { name: "To-dos" }).waitFor();
      await first.page.waitForTimeout(1_500);

      await expectNotice(first.page, "session_reuse_detected", /used from two places/);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "refresh_reuse_detected: a copy of the refresh token refreshed first; the owner's next refresh is the reuse",
    async () => {
      const username = uniqueUser();
      const first = await typingDevice(jwt.server.origin, username);
      // The tab refreshes once, a second after its sign-in's requests (it was used), then sits
      // idle (an unused tab does not refresh). Its cookies are copied after that, and once the
      // 2 s access token has expired the copy refreshes with the shared refresh token and gets
      // the new one; the owner's is retired.
      await first.page.waitForTimeout(3_000);
      const copy = await newDevice();
      await copy.context.addCookies(await first.context.cookies());
      const refreshed = copy.page.waitForResponse((r) => new URL(r.url()).pathname === "/auth/refresh");
      await copy.page.goto(`${jwt.server.origin}/todos`);
      expect((await refreshed).status()).toBe(200);
      await copy.page.getByRole("heading", { name: "To-dos" }).waitFor();

      // The owner comes back: its refresh presents the retired token, and the session ends.
      await expectNotice(first.page, "refresh_reuse_detected", /refresh token/);
      await expectDraftBack(first.page, username);
    },
    SLOW,
  );

  it(
    "an edit in progress comes back too; another user signing in drops every draft",
    async () => {
      const username = uniqueUser();
      const first = await newDevice();
      await signUpInPage(first.page, main.server.origin, username, PASSWORD);
      // The edit starts while the add is on its way (its row holds a temporary id), as a
      // quick hand or a slow network makes it: the draft must still find the to-do after.
      let answerAdd = () => {};
      const held = new Promise<void>((resolve) => {
        answerAdd = resolve;
      });
      await first.page.route("**/api/todos", async (route) => {
        if (route.request().method() === "POST") await held;
        await route.continue();
      });
      const added = first.page.waitForResponse(
        (r) => new URL(r.url()).pathname === "/api/todos" && r.request().method() === "POST",
      );
      await first.page.getByLabel("New to-do").fill("water the plants");
      await first.page.getByLabel("New to-do").press("Enter");
      await first.page.getByRole("button", { name: "Edit: water the plants" }).click();
      await first.page.getByLabel(/Edit the title/).fill("water the plants and the");
      answerAdd();
      expect((await added).status()).toBe(201);
      await first.page.unroute("**/api/todos");
      const cli = (...args: string[]) => runCli(["users", ...args, username], { ...main.env, LOG_LEVEL: "silent" });
      expect((await cli("disable")).code).toBe(0);
      await expectNotice(first.page, "account_disabled", /disabled/);
      expect((await cli("enable")).code).toBe(0);
      await first.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await first.page.getByRole("button", { name: "Sign in", exact: true }).click();
      await first.page.waitForURL("**/todos");
      // The editor reopens with the text typed, and its blur on the way out saved nothing.
      await expect(first.page.getByLabel(/Edit the title/).inputValue()).resolves.toBe("water the plants and the");
      await first.page.getByLabel(/Edit the title/).press("Escape");
      await expect(first.page.locator(".todos .title").allTextContents()).resolves.toEqual(["water the plants"]);

      // Typing again, then a forced sign-out, then someone else signs in: nothing of it shows.
      await first.page.getByLabel("New to-do").fill(DRAFT);
      expect((await cli("disable")).code).toBe(0);
      await expectNotice(first.page, "account_disabled", /disabled/);
      expect((await cli("enable")).code).toBe(0);
      const other = uniqueUser();
      await first.page.getByRole("link", { name: "Create an account" }).click();
      await first.page.getByLabel("Username").fill(other);
      await first.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await first.page.getByRole("button", { name: "Create account" }).click();
      await first.page.waitForURL("**/todos");
      await expect(first.page.getByLabel("New to-do").inputValue()).resolves.toBe("");
      // And it is gone, not waiting for the first user: the other user is signed out by
      // force too (the page stays loaded, memory and all), and the first signs back in.
      const otherCli = runCli(["users", "disable", other], { ...main.env, LOG_LEVEL: "silent" });
      expect((await otherCli).code).toBe(0);
      await expectNotice(first.page, "account_disabled", /disabled/);
      await first.page.getByLabel("Username").fill(username);
      await first.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await first.page.getByRole("button", { name: "Sign in", exact: true }).click();
      await first.page.waitForURL("**/todos");
      await expect(first.page.getByLabel("New to-do").inputValue()).resolves.toBe("");
    },
    SLOW,
  );
});
