/// <reference lib="dom" />
/**
 * Second factors (issue 32) in the web app, in a real Chromium against a real server, under
 * each strategy: a person sets up an authenticator app on the Security page (the QR code,
 * the key as text, a first code, the recovery codes shown once), then signs in with the
 * password and a code (focus on the code field, axe-clean in both themes), with a recovery
 * code, and sees a wrong code refused on the field; later, outside `REAUTH_WINDOW`, removing
 * the app asks "Confirm it's you" with the password and a code. The codes are computed here
 * from the key the page shows, as the app would; each 30-second step is accepted once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
/** The server's `REAUTH_WINDOW`, in seconds: removing the app needs a sign-in this recent. */
const WINDOW = 5;
const STEP_MS = 30_000;

/**
 * The codes of an authenticator app holding `secret`, each of a later step than the last
 * (the server refuses a step, or an earlier one, once used). The server accepts the step
 * before and after the current one: the one before while enough of the step is left for
 * the code to arrive in time, else the current or the next, else it waits for a new step.
 */
function authenticator(secret: string): { next: () => Promise<string>; wrong: () => string } {
  const key = totpKey(secret);
  let last = Number.NEGATIVE_INFINITY;
  return {
    async next() {
      for (;;) {
        const now = Date.now();
        const current = totpStep(now);
        const earliest = now % STEP_MS < STEP_MS - 10_000 ? current - 1 : current;
        const step = Math.max(last + 1, earliest);
        if (step <= current + 1) {
          last = step;
          return totpCode(key, step);
        }
        await new Promise((resolve) => setTimeout(resolve, STEP_MS - (now % STEP_MS) + 200));
      }
    },
    /** A code no step the server accepts now has. */
    wrong() {
      const current = totpStep(Date.now());
      const valid = new Set([-1, 0, 1, 2].map((d) => totpCode(key, current + d)));
      let code = "000000";
      for (let n = 1; valid.has(code); n++)
        code = String(n * 137_731)
          .padStart(6, "0")
          .slice(-6);
      return code;
    },
  };
}

for (const strategy of ["session", "jwt", "hybrid"] as const) {
  describeWith("Chromium", CHROMIUM !== null)(`second factors in Chromium, AUTH_STRATEGY=${strategy}`, () => {
    let dir: string;
    let server: RunningServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    const username = `mfa${process.pid % 1000}${strategy[0]}`;
    // Set by the first test, used by the second: the app's codes, and the recovery codes.
    let app: ReturnType<typeof authenticator> | null = null;
    let recoveryCodes: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "latchkey-mfa-e2e-"));
      server = await startServerProcess({
        DATABASE_URL: `sqlite:${join(dir, "mfa.db")}`,
        AUTH_STRATEGY: strategy,
        REAUTH_WINDOW: String(WINDOW),
      });
      browser = await launchChromium(CHROMIUM as string);
    }, 30_000);
    afterEach(async () => {
      for (const context of contexts.splice(0)) await context.close().catch(() => {});
    });
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const open = async () => {
      const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
      contexts.push(context);
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      return { page, errors: watchErrors(page) };
    };
    const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);
    const card = (page: Page) => page.locator("section.two-step");
    const prompt = (page: Page) => page.getByRole("dialog", { name: "Confirm it's you" });
    /** axe in both themes (and at phone width when `phone`), none serious or critical. */
    const axeClean = async (page: Page, name: string, phone = false) => {
      const sizes = phone ? (["phone", "desktop"] as const) : (["desktop"] as const);
      for (const size of sizes) {
        await page.setViewportSize(VIEWPORTS[size]);
        for (const theme of ["light", "dark"] as const) {
          await page.evaluate((t) => {
            document.documentElement.dataset.theme = t;
          }, theme);
          expect(await seriousAxeViolations(page, `${name} ${theme} ${size}`)).toEqual([]);
          if (strategy === "session") await screenshot(page, `mfa-${name}-${theme}-${size}`);
        }
      }
      await page.setViewportSize(VIEWPORTS.desktop);
    };
    const signOut = async (page: Page) => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
    };
    /** The password step, to the code step: its heading shown, the code field focused. */
    const toCodeStep = async (page: Page) => {
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
      await expect.poll(() => focusedId(page)).toBe("sign-in-code");
    };

    it("sets up an authenticator app, then signs in with a code and with a recovery code", async () => {
      const { page, errors } = await open();
      await signUpInPage(page, server.origin, username, PASSWORD);
      await page.goto(`${server.origin}/security`);
      await card(page).getByRole("button", { name: "Set up an authenticator app" }).click();
      // Set up needs a recent sign-in: the sign-up's, unless the window passed meanwhile.
      await page.locator("#totp-secret, dialog[open]").first().waitFor();
      if (await prompt(page).isVisible()) {
        expect(await prompt(page).getByLabel("Authentication code").count()).toBe(0);
        await prompt(page).getByLabel("Password").fill(PASSWORD);
        await prompt(page).getByRole("button", { name: "Confirm" }).click();
      }
      const secretText = await page.locator("#totp-secret").textContent();
      expect(secretText).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
      app = authenticator((secretText as string).replace(/\s/g, ""));
      const qr = card(page).getByRole("img", { name: /QR code/ });
      expect(await qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
      // The server's SVG is an image, never markup in the page.
      expect(await card(page).locator("svg").count()).toBe(0);
      await expect.poll(() => focusedId(page)).toBe("totp-heading");
      await axeClean(page, "setup");

      await card(page)
        .getByLabel("Enter the 6-digit code the app shows")
        .fill(await app.next());
      await card(page).getByRole("button", { name: "Turn on" }).click();
      await card(page).getByRole("heading", { name: "Save your recovery codes" }).waitFor();
      await expect.poll(() => focusedId(page)).toBe("recovery-heading");
      const codes = await card(page).locator(".recovery-codes code").allTextContents();
      expect(codes).toHaveLength(10);
      recoveryCodes = codes;
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        card(page).getByRole("button", { name: "Download" }).click(),
      ]);
      expect(download.suggestedFilename()).toBe("latchkey-recovery-codes.txt");
      const done = card(page).getByRole("button", { name: "Done" });
      expect(await done.isDisabled()).toBe(true);
      await card(page).getByLabel("I have saved these codes").check();
      await done.click();
      await card(page).getByText("Two-step verification is on.").waitFor();
      await card(page).getByText("Recovery codes left").waitFor();
      expect(await card(page).locator("dd").nth(2).textContent()).toBe("10");
      await axeClean(page, "two-step-on");

      // Password, then a code: the code step in place of the form, its field focused.
      await signOut(page);
      await toCodeStep(page);
      const field = page.getByLabel("Authentication code");
      expect(await field.getAttribute("autocomplete")).toBe("one-time-code");
      expect(await field.getAttribute("inputmode")).toBe("numeric");
      await page.getByText("Enter the 6-digit code from your authenticator app.").waitFor();
      await axeClean(page, "code-step", true);
      // A wrong code is refused on the field, which keeps the focus.
      await field.fill(app.wrong());
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByText(/That code is not valid/).waitFor();
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      expect(await field.getAttribute("aria-describedby")).toBe("sign-in-code-error");
      await expect.poll(() => focusedId(page)).toBe("sign-in-code");
      if (strategy === "session") {
        // The throttle's wait is said; an ended pending sign-in goes back to the password.
        // The same page under every strategy: checked once.
        const answer = (status: number, code: string, headers: Record<string, string> = {}) =>
          page.route("**/auth/login/second-factor", (route) =>
            route.fulfill({
              status,
              headers,
              contentType: "application/json",
              body: JSON.stringify({ error: { code, message: "Refused." } }),
            }),
          );
        await answer(429, "rate_limited", { "retry-after": "120" });
        await field.fill("123456");
        await page.getByRole("button", { name: "Verify" }).click();
        await page.getByRole("alert").filter({ hasText: "Try again in 2 minutes." }).waitFor();
        await page.unroute("**/auth/login/second-factor");
        await answer(401, "sign_in_expired");
        await page.getByRole("button", { name: "Verify" }).click();
        await page.getByRole("heading", { name: "Sign in" }).waitFor();
        await page.getByRole("alert").filter({ hasText: "That sign-in has ended" }).waitFor();
        await expect.poll(() => focusedId(page)).toBe("password");
        await page.unroute("**/auth/login/second-factor");
        await toCodeStep(page);
      }
      await field.fill(await app.next());
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL("**/todos");

      // A recovery code, once.
      await signOut(page);
      await toCodeStep(page);
      await page.getByRole("button", { name: "Use a recovery code instead" }).click();
      const recovery = page.getByLabel("Recovery code");
      await expect.poll(() => focusedId(page)).toBe("sign-in-code");
      await recovery.fill(codes[0] as string);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL("**/todos");
      await page.goto(`${server.origin}/security`);
      expect(await card(page).locator("dd").nth(2).textContent()).toBe("9");
      const log = page.locator(".timeline");
      await log.getByText("A recovery code was used").first().waitFor();
      await log.getByText("Authenticator app added: signing in now asks for a code").waitFor();
      await log.getByText("Wrong authenticator or recovery code").waitFor();
      expect(errors).toEqual([]);
    }, 75_000);

    it("removes the app after a re-authentication with the password and a code", async () => {
      expect(app).not.toBeNull();
      const codes = app as ReturnType<typeof authenticator>;
      const { page, errors } = await open();
      await page.goto(`${server.origin}/signin`);
      await toCodeStep(page);
      // A recovery code here leaves the app's next step for the re-authentication.
      await page.getByRole("button", { name: "Use a recovery code instead" }).click();
      await page.getByLabel("Recovery code").fill(recoveryCodes[1] as string);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL("**/todos");
      await page.goto(`${server.origin}/security`);
      await page.waitForTimeout(WINDOW * 1000 + 600);

      if (strategy === "session") {
        // New recovery codes, after confirming with the password and a recovery code; then
        // outside the window again. The same page under every strategy: checked once.
        await card(page).getByRole("button", { name: "New recovery codes…" }).click();
        await page
          .getByRole("dialog", { name: "Make new recovery codes?" })
          .getByRole("button", { name: "Make new codes" })
          .click();
        await prompt(page).getByLabel("Authentication code").waitFor();
        await prompt(page).getByLabel("Password").fill(PASSWORD);
        await prompt(page).getByRole("button", { name: "Use a recovery code instead" }).click();
        await expect.poll(() => focusedId(page)).toBe("reauth-code");
        await prompt(page)
          .getByLabel("Recovery code")
          .fill(recoveryCodes[2] as string);
        await prompt(page).getByRole("button", { name: "Confirm" }).click();
        await card(page).getByRole("heading", { name: "Save your recovery codes" }).waitFor();
        const fresh = await card(page).locator(".recovery-codes code").allTextContents();
        expect(fresh).toHaveLength(10);
        expect(fresh).not.toContain(recoveryCodes[3]);
        await card(page).getByLabel("I have saved these codes").check();
        await card(page).getByRole("button", { name: "Done" }).click();
        expect(await card(page).locator("dd").nth(2).textContent()).toBe("10");
        await page.waitForTimeout(WINDOW * 1000 + 600);
      }

      await card(page).getByRole("button", { name: "Remove…" }).click();
      const confirm = page.getByRole("dialog", { name: "Remove the authenticator app?" });
      await confirm.getByRole("button", { name: "Remove app" }).click();
      await prompt(page).waitFor();
      const code = prompt(page).getByLabel("Authentication code");
      await code.waitFor();
      await expect.poll(() => focusedId(page)).toBe("reauth-password");
      await prompt(page).getByLabel("Password").fill(PASSWORD);
      await code.fill(codes.wrong());
      await prompt(page).getByRole("button", { name: "Confirm" }).click();
      await prompt(page)
        .getByText(/That code is not valid/)
        .waitFor();
      expect(await code.getAttribute("aria-invalid")).toBe("true");
      await expect.poll(() => focusedId(page)).toBe("reauth-code");
      await code.fill(await codes.next());
      await prompt(page).getByRole("button", { name: "Confirm" }).click();
      await prompt(page).waitFor({ state: "detached" });
      await card(page).getByText("Authenticator app removed.", { exact: false }).waitFor();
      await card(page).getByRole("button", { name: "Set up an authenticator app" }).waitFor();

      // The password alone signs in again.
      await signOut(page);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL("**/todos");
      expect(errors).toEqual([]);
    }, 45_000);
  });
}
