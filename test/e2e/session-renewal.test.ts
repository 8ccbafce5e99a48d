/// <reference lib="dom" />
/**
 * Issue 28 in a real Chromium, against a real server: a cookie session's secret renews as
 * it is used (SESSION_ROTATE_INTERVAL=2, SESSION_ROTATE_GRACE=1, and SESSION_IDLE_TIMEOUT=10
 * so the write of use is due every second). Two tabs of one browser ride through the
 * renewals; a copied cookie used after the owner's renewal (or before it) ends the session,
 * the person is told why on the sign-in page, and the security log shows both clients.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SESSION_REUSE_MESSAGE } from "../../packages/latchkey/src/core/session-manager.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
/** SESSION_ROTATE_INTERVAL and SESSION_ROTATE_GRACE of this server, in ms. */
const INTERVAL_MS = 2000;
const GRACE_MS = 1000;
const REUSE_LABEL = "A session's cookie was used from two places; that session was ended";

describeWith("Chromium", CHROMIUM !== null)("session secrets that renew, in Chromium (AUTH_STRATEGY=session)", () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let counter = 0;
  const uniqueUser = () => `rn${process.pid % 1000}u${++counter}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-renewal-e2e-"));
    // Neither needs the other to start: both at once.
    [server, browser] = await Promise.all([
      startServerProcess({
        DATABASE_URL: `sqlite:${join(dir, "renewal.db")}`,
        AUTH_STRATEGY: "session",
        SESSION_ROTATE_INTERVAL: String(INTERVAL_MS / 1000),
        SESSION_ROTATE_GRACE: String(GRACE_MS / 1000),
        // The write of use is due every tenth of the idle timeout: every second.
        SESSION_IDLE_TIMEOUT: "10",
      }),
      launchChromium(CHROMIUM as string),
    ]);
  }, 60_000);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (path: string) => `${server.origin}${path}`;
  const newDevice = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    return { context, page, errors: watchErrors(page) };
  };
  const signUp = async (page: Page, username: string) => {
    await signUpInPage(page, server.origin, username, PASSWORD);
    await page.getByRole("heading", { name: "To-dos" }).waitFor();
  };
  const signIn = async (page: Page, username: string) => {
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/todos");
    await page.getByRole("heading", { name: "To-dos" }).waitFor();
  };
  const addTodo = async (page: Page, title: string) => {
    await page.getByLabel("New to-do").fill(title);
    await page.keyboard.press("Enter");
    await page.locator(".todos .title", { hasText: title }).waitFor();
  };
  const sid = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === "__Host-sid");
  const sidValue = async (context: BrowserContext) => (await sid(context))?.value ?? "";
  const notice = (page: Page) => page.locator(".signed-out-notice");
  const axe = async (page: Page, name: string) => {
    expect(await seriousAxeViolations(page, name)).toEqual([]);
  };
  /** axe at phone and desktop width, in both themes, with a screenshot of each. */
  const axeEverywhere = async (page: Page, name: string) => {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      for (const theme of ["light", "dark"] as const) {
        await page.evaluate((t) => {
          localStorage.setItem("theme", t);
          document.documentElement.dataset.theme = t;
        }, theme);
        await axe(page, `${name} ${theme} ${size}`);
        await screenshot(page, `session-renewal-${name}-${theme}-${size}`);
      }
    }
  };
  /** The reuse event on the Security page, with both clients. */
  const expectReuseEvent = async (page: Page, check: "axe" | "no-axe" = "no-axe") => {
    await page.goto(url("/security"));
    const event = page.locator(".timeline .event", { hasText: REUSE_LABEL });
    await event.waitFor();
    expect(await event.count()).toBe(1);
    const clients = await event.locator(".clients").textContent();
    expect(clients).toMatch(/^Old cookie presented byChrome on Linux · 127\.0\.0\.1/);
    expect(clients).toMatch(/The session's own browserChrome on Linux · 127\.0\.0\.1/);
    expect(await event.evaluate((el) => el.classList.contains("alert"))).toBe(true);
    if (check === "axe") await axeEverywhere(page, "security-reuse");
  };

  it("two tabs of one browser use the session across renewals: neither is signed out, the cookie changes", async () => {
    const { context, page: one, errors } = await newDevice();
    await signUp(one, uniqueUser());
    const two = await context.newPage();
    const twoErrors = watchErrors(two);
    await two.goto(url("/todos"));
    await two.getByRole("heading", { name: "To-dos" }).waitFor();

    const seen = new Set([await sidValue(context)]);
    const added: string[] = [];
    const started = Date.now();
    for (let round = 0; Date.now() - started < 5500; round++) {
      // Both tabs at once: a reload in one, an add in the other, then the other way round.
      const [reloading, adding] = round % 2 === 0 ? [one, two] : [two, one];
      const title = `round ${round}`;
      added.push(title);
      await Promise.all([
        reloading.reload().then(() => reloading.getByRole("heading", { name: "To-dos" }).waitFor()),
        addTodo(adding, title),
      ]);
      seen.add(await sidValue(context));
      await one.waitForTimeout(400);
    }
    // Every to-do reached the server, and both tabs are still signed in.
    for (const page of [one, two]) {
      await page.reload();
      await page
        .locator(".todos .title")
        .nth(added.length - 1)
        .waitFor();
      expect(await page.locator(".todos .title").allTextContents()).toEqual(added);
      expect(page.url()).toMatch(/\/todos$/);
    }
    // About 5.5 s at a 2 s interval: two renewals or more; at least one, whatever the timing.
    expect(seen.size, [...seen].join(" ")).toBeGreaterThanOrEqual(2);

    // "How it works" shows the schedule, and a renewal moves it.
    await two.goto(url("/how-it-works"));
    const card = two.locator("section", {
      has: two.getByRole("heading", { name: "A secret that renews as you use it" }),
    });
    await card.waitFor();
    await expect(card.locator(".eyebrow").textContent()).resolves.toBe(
      "SESSION_ROTATE_INTERVAL=2 · SESSION_ROTATE_GRACE=1",
    );
    await expect(card.textContent()).resolves.toMatch(/keeps working for 1 s after a renewal/);
    const renewedLabel = () => card.locator(".bar-labels span").first().textContent();
    const before = await renewedLabel();
    await two.waitForTimeout(INTERVAL_MS + 200);
    await two.reload();
    await card.waitFor();
    await expect.poll(renewedLabel).not.toBe(before);
    await axeEverywhere(two, "how-it-works");

    // No reuse was seen: one device, no alarm in the log.
    await one.goto(url("/devices"));
    await one.locator(".devices > li").first().waitFor();
    expect(await one.locator(".devices > li").count()).toBe(1);
    await one.goto(url("/security"));
    await one.locator(".timeline .event").first().waitFor();
    await expect(one.locator(".timeline").textContent()).resolves.not.toMatch(/two places/);
    expect([...errors, ...twoErrors]).toEqual([]);
  }, 60_000);

  it("a copy used after the owner's renewal and its grace: the copy gets the reuse 401, the owner is signed out too, the log shows both", async () => {
    const username = uniqueUser();
    const owner = await newDevice();
    await signUp(owner.page, username);
    const copied = await sid(owner.context);
    if (!copied) throw new Error("no session cookie after sign-up");
    const thief = await newDevice();
    await thief.context.addCookies([copied]);

    // The owner comes back once the interval has passed: that request renews the secret.
    await owner.page.waitForTimeout(INTERVAL_MS + 200);
    await owner.page.reload();
    await owner.page.getByRole("heading", { name: "To-dos" }).waitFor();
    await expect.poll(() => sidValue(owner.context)).not.toBe(copied.value);

    // Past the grace, the copy's first request is the alarm.
    await owner.page.waitForTimeout(GRACE_MS + 500);
    const me = thief.page.waitForResponse((r) => new URL(r.url()).pathname === "/auth/me");
    await thief.page.goto(url("/todos"));
    const answer = await me;
    expect([answer.status(), ((await answer.json()) as { error: { message: string } }).error.message]).toEqual([
      401,
      SESSION_REUSE_MESSAGE,
    ]);
    await thief.page.waitForURL("**/signin");
    await expect(notice(thief.page).locator("p").nth(1).textContent()).resolves.toBe(SESSION_REUSE_MESSAGE);

    // The session has ended for the owner too. Their request carries the current secret
    // of a session ended by reuse, which latchkey remembers for a day: they are told why.
    await owner.page.reload();
    await owner.page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(owner.page.url()).toMatch(/\/signin$/);
    await expect(notice(owner.page).locator("p").nth(1).textContent()).resolves.toBe(SESSION_REUSE_MESSAGE);

    await signIn(owner.page, username);
    await expectReuseEvent(owner.page);
    expect(owner.errors).toEqual([]);
  });

  it("a copy used first makes the owner's cookie the old one: the owner is signed out with the explanation, in every tab; axe-clean", async () => {
    const username = uniqueUser();
    const owner = await newDevice();
    await signUp(owner.page, username);
    const otherTab = await owner.context.newPage();
    await otherTab.goto(url("/todos"));
    await otherTab.getByRole("heading", { name: "To-dos" }).waitFor();
    const copied = await sid(owner.context);
    if (!copied) throw new Error("no session cookie after sign-up");
    const thief = await newDevice();
    await thief.context.addCookies([copied]);

    // The thief uses the copy once the interval has passed, and so renews the secret.
    await thief.page.waitForTimeout(INTERVAL_MS + 200);
    await thief.page.goto(url("/todos"));
    await thief.page.getByRole("heading", { name: "To-dos" }).waitFor();
    await expect.poll(() => sidValue(thief.context)).not.toBe(copied.value);
    expect(await sidValue(owner.context)).toBe(copied.value);

    // Past the grace, the owner's next action presents the superseded secret.
    await owner.page.waitForTimeout(GRACE_MS + 500);
    const refused = owner.page.waitForResponse(
      (r) => new URL(r.url()).pathname === "/api/todos" && r.request().method() === "POST",
    );
    await owner.page.getByLabel("New to-do").fill("after the theft");
    await owner.page.keyboard.press("Enter");
    const answer = await refused;
    expect([answer.status(), ((await answer.json()) as { error: { message: string } }).error.message]).toEqual([
      401,
      SESSION_REUSE_MESSAGE,
    ]);
    // This tab, and the other tab of the same browser (told over the BroadcastChannel).
    for (const page of [owner.page, otherTab]) {
      await page.waitForURL("**/signin");
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      await expect(alert.textContent()).resolves.toContain(SESSION_REUSE_MESSAGE);
      await expect(alert.textContent()).resolves.toMatch(/^You were signed out to protect your account\./);
    }
    // The explanation stays while the person gets on with signing in.
    await owner.page.getByLabel("Username").fill(username);
    await owner.page.getByLabel("Password", { exact: true }).fill("not the password");
    await owner.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await owner.page.getByText("The username or password is incorrect.").waitFor();
    expect(await notice(owner.page).count()).toBe(1);
    await axeEverywhere(owner.page, "signin-reuse");

    // The thief's renewed cookie belongs to the session ended by reuse: told so too.
    await thief.page.reload();
    await thief.page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expect(notice(thief.page).locator("p").nth(1).textContent()).resolves.toBe(SESSION_REUSE_MESSAGE);

    // Signed in again: no explanation any more, and the log shows the event.
    await signIn(owner.page, username);
    await owner.page.getByRole("button", { name: "Sign out" }).click();
    await owner.page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await notice(owner.page).count()).toBe(0);
    await signIn(owner.page, username);
    await expectReuseEvent(owner.page, "axe");
    expect(owner.errors).toEqual([]);
  }, 60_000);
});
