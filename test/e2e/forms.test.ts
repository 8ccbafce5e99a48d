/// <reference lib="dom" />
/**
 * Issue 30, defects 6 (web part) and 8, in a real Chromium against a real server: the
 * security log names each entry's device ("Chrome on Linux · 127.0.0.1") and the new event
 * types; change password and sign-in/sign-up share one form system (field-level errors,
 * rule hints, a strength meter, errors cleared on input, no browser bubble); a username
 * typed with a trailing space signs in; a warning comes before the login throttle locks;
 * the devices list follows other devices without a reload. Axe-clean in both themes, at
 * phone and desktop width.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
const SLOW = 120_000;
/** What the security log shows for a local Chromium: the device, then the address. */
const LOCAL_CHROME = /Chrome on Linux · (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;

let counter = 0;
const uniqueUser = () => `fm${process.pid % 1000}u${++counter}`;

describeWith("Chromium", CHROMIUM !== null)(
  "forms, security log and devices (issue 30, defects 6 and 8), in Chromium",
  () => {
    let dir: string;
    let server: RunningServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-forms-"));
      server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "forms.db")}`, AUTH_STRATEGY: "session" });
      browser = await launchChromium(CHROMIUM as string);
    }, SLOW);
    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }, SLOW);

    const url = (path: string) => `${server.origin}${path}`;
    const newDevice = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      return { context, page, errors: watchErrors(page) };
    };
    const signIn = async (page: Page, username: string, password = PASSWORD) => {
      await page.goto(url("/signin"));
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL("**/todos");
    };
    /** The person comes back to the tab (brought to the front, the window's focus), no click in it. */
    const comeBack = async (page: Page) => {
      await page.bringToFront();
      await page.evaluate(() => window.dispatchEvent(new FocusEvent("focus")));
    };
    const axeEverywhere = async (page: Page, name: string) => {
      for (const theme of ["light", "dark"] as const) {
        await page.evaluate((t) => {
          localStorage.setItem("theme", t);
          document.documentElement.dataset.theme = t;
        }, theme);
        for (const [size, viewport] of Object.entries(VIEWPORTS)) {
          await page.setViewportSize(viewport);
          expect(await seriousAxeViolations(page, `${name} ${theme} ${size}`)).toEqual([]);
          await screenshot(page, `forms-${name}-${theme}-${size}`);
        }
      }
      await page.setViewportSize(VIEWPORTS.desktop);
    };
    /** The browser's own validation bubble would say something here; the app's forms never let it. */
    const nativeInvalid = (page: Page) =>
      page.evaluate(() => Array.from(document.querySelectorAll("form")).some((f) => !f.noValidate));

    it(
      "the security log shows each entry's device and address, and names the new event types",
      async () => {
        const username = uniqueUser();
        const one = await newDevice();
        await signUpInPage(one.page, server.origin, username, PASSWORD);
        const two = await newDevice();
        await signIn(two.page, username);
        await one.page.goto(url("/devices"));
        await one.page.getByRole("button", { name: "Sign out all other devices" }).click();
        await one.page.getByText("Every other device has been signed out.").waitFor();

        await one.page.goto(url("/security"));
        // A wrong current password is logged (password_change_failed).
        await one.page.getByLabel("Current password").fill("not the password at all");
        await one.page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
        await one.page.getByLabel("New password, again").fill("a brand new passphrase");
        await one.page.getByRole("button", { name: "Change password" }).click();
        await one.page.locator("#current-password-error").waitFor();
        await one.page.reload();
        const events = one.page.locator(".timeline .event");
        await events.first().waitFor();
        const clients = await one.page.locator(".timeline .event .event-client").allTextContents();
        expect(clients.length).toBeGreaterThanOrEqual(3);
        for (const client of clients) expect(client).toMatch(LOCAL_CHROME);
        const labels = await one.page.locator(".timeline .event strong").allTextContents();
        expect(labels).toContain("Signed out all other devices");
        expect(labels).toContain("Failed password change: wrong current password");
        expect(labels).not.toContain("logout_others");
        await axeEverywhere(one.page, "security-log");
        expect(one.errors).toEqual([]);
      },
      SLOW,
    );

    it(
      "change password: field-level errors, no browser bubble, errors cleared on input, a strength meter",
      async () => {
        const { page, errors } = await newDevice();
        await signUpInPage(page, server.origin, uniqueUser(), PASSWORD);
        await page.goto(url("/security"));
        expect(await nativeInvalid(page)).toBe(false);
        const current = page.getByLabel("Current password");
        const next = page.getByLabel("New password", { exact: true });
        const again = page.getByLabel("New password, again");

        // A rule broken before asking the server: said on its field, with aria wiring.
        await current.fill(PASSWORD);
        await next.fill("short");
        await page.locator("#new-password-strength").getByText("Too short").waitFor();
        await page.getByRole("button", { name: "Change password" }).click();
        await expect(page.locator("#new-password-error").textContent()).resolves.toBe("Use at least 8 characters.");
        await expect(next.getAttribute("aria-invalid")).resolves.toBe("true");
        await expect(next.getAttribute("aria-describedby")).resolves.toContain("new-password-error");
        expect(await page.evaluate(() => document.activeElement?.id)).toBe("new-password");
        // Typing clears it.
        await next.fill("a brand new passphrase");
        await page.locator("#new-password-error").waitFor({ state: "detached" });
        await page.locator("#new-password-strength").getByText("Very strong").waitFor();

        // The two new passwords differ: said on the second one.
        await again.fill("a brand new passphrasE");
        await page.getByRole("button", { name: "Change password" }).click();
        await page
          .locator("#confirm-password-error")
          .getByText(/differ/)
          .waitFor();
        await again.fill("a brand new passphrase");
        await page.locator("#confirm-password-error").waitFor({ state: "detached" });

        // The server's refusal lands on the field it concerns, and goes when that field is edited.
        await current.fill("not the password at all");
        await page.getByRole("button", { name: "Change password" }).click();
        await expect(page.locator("#current-password-error").textContent()).resolves.toBe(
          "The current password is incorrect.",
        );
        await axeEverywhere(page, "change-password-error");
        await current.fill(PASSWORD);
        await page.locator("#current-password-error").waitFor({ state: "detached" });

        await page.getByRole("button", { name: "Change password" }).click();
        await page
          .locator(".toast")
          .getByText(/Password changed/)
          .waitFor();
        await expect(current.inputValue()).resolves.toBe("");
        expect(errors).toEqual([]);
      },
      SLOW,
    );

    it(
      "sign-up and sign-in: a trailing space is trimmed, not a failed attempt; a warning before the throttle",
      async () => {
        const { page, errors } = await newDevice(VIEWPORTS.phone);
        const username = uniqueUser();
        // Sign-up shows its rules and the meter, and takes a name with a phone's trailing space.
        await page.goto(url("/signup"));
        await expect(page.locator("#username-hint").textContent()).resolves.toMatch(/3 to 32/);
        await page.getByLabel("Username").fill(`${username} `);
        await page.getByLabel("Password", { exact: true }).fill("password");
        await page.locator("#password-strength").getByText("Weak").waitFor();
        await axeEverywhere(page, "signup-strength");
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Create account" }).click();
        await page.waitForURL("**/todos");
        await page.getByRole("button", { name: "Sign out", exact: true }).click();
        await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();

        // Sign-in with the trailing space: signed in.
        await page.getByLabel("Username").fill(`${username} `);
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.waitForURL("**/todos");
        await page.getByRole("button", { name: "Sign out", exact: true }).click();
        await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();

        // One wrong password: the message, no warning yet. The second: the warning.
        await page.getByLabel("Username").fill(username);
        for (const attempt of [1, 2]) {
          await page.getByLabel("Password", { exact: true }).fill(`not the password ${attempt}`);
          await page.getByRole("button", { name: "Sign in", exact: true }).click();
          await page.getByText("The username or password is incorrect.").waitFor();
          if (attempt === 1) expect(await page.locator("#throttle-warning").count()).toBe(0);
          // The stale error goes as soon as the password is edited.
          await page.getByLabel("Password", { exact: true }).fill("x");
          await page.locator("#form-error").waitFor({ state: "detached" });
        }
        await page.getByLabel("Password", { exact: true }).fill("not the password 3");
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        const warning = page.locator("#throttle-warning");
        await warning.waitFor();
        await expect(warning.textContent()).resolves.toMatch(/failed attempts in a row.*5 within 15 minutes/);
        await axeEverywhere(page, "signin-throttle-warning");
        expect(errors).toEqual([]);
      },
      SLOW,
    );

    it(
      "the devices list follows other devices: a later sign-in appears when the person comes back, and the button wakes",
      async () => {
        const username = uniqueUser();
        const one = await newDevice();
        await signUpInPage(one.page, server.origin, username, PASSWORD);
        await one.page.goto(url("/devices"));
        await one.page.locator(".devices > li").first().waitFor();
        const others = one.page.getByRole("button", { name: "Sign out all other devices" });
        expect(await others.isDisabled()).toBe(true);

        const two = await newDevice(VIEWPORTS.phone);
        await signIn(two.page, username);
        await comeBack(one.page);
        await expect.poll(() => one.page.locator(".devices > li").count(), { timeout: 10_000 }).toBe(2);
        expect(await others.isDisabled()).toBe(false);

        // The other device signs itself out: gone from the list on the next return, button asleep.
        await two.page.getByRole("button", { name: "Sign out", exact: true }).click();
        await two.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
        await comeBack(one.page);
        await expect.poll(() => one.page.locator(".devices > li").count(), { timeout: 10_000 }).toBe(1);
        expect(await others.isDisabled()).toBe(true);
        await axeEverywhere(one.page, "devices");
        expect(one.errors).toEqual([]);
      },
      SLOW,
    );
  },
);
