/// <reference lib="dom" />
/**
 * Recent sign-in (issue 32) in the web app, in a real Chromium against a real server with
 * `REAUTH_WINDOW=5` (long enough for the retry after a confirmation to land inside it on a loaded machine): an admin change refused with `403 reauthentication_required` asks
 * "Confirm it's you" (focus on the password field, axe-clean in both themes), refuses a
 * wrong password on the field, shows the throttle's wait, and on the right password runs
 * the change it was asked for; Cancel and Escape leave it undone, quietly.
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
/** The server's `REAUTH_WINDOW`, in seconds: admin changes need a sign-in this recent. */
const WINDOW = 5;

for (const strategy of ["session", "jwt"] as const) {
  describeWith("Chromium", CHROMIUM !== null)(`recent sign-in prompt in Chromium, AUTH_STRATEGY=${strategy}`, () => {
    let dir: string;
    let env: Record<string, string>;
    let server: RunningServer;
    let browser: Browser;
    let context: BrowserContext;
    const tag = `ra${process.pid % 1000}${strategy[0]}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "latchkey-reauth-e2e-"));
      env = { DATABASE_URL: `sqlite:${join(dir, "reauth.db")}`, AUTH_STRATEGY: strategy };
      server = await startServerProcess({ ...env, REAUTH_WINDOW: String(WINDOW) });
      browser = await launchChromium(CHROMIUM as string);
    }, 60_000);
    afterAll(async () => {
      await context?.close().catch(() => {});
      await browser?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });
    /** Waits until the session's sign-in (or last re-authentication) is older than the window. */
    const outsideWindow = (page: Page) => page.waitForTimeout(WINDOW * 1000 + 600);
    /** The user as the API says, asked with the admin's own cookies. */
    const userById = (page: Page, id: string) =>
      page.evaluate(async (userId) => {
        const answer = await fetch(`/admin/users/${userId}`);
        return (await answer.json()) as { user: { disabledAt: string | null; roles: string[] } };
      }, id);
    const confirmIn = async (page: Page, title: string, action: string) => {
      const dialog = page.getByRole("dialog", { name: title });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: action, exact: true }).click();
    };

    it("asks for the password before an admin change, then makes it; Cancel and Escape leave it undone", async () => {
      const victimName = `${tag}victim`;
      const registered = await fetch(`${server.origin}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: victimName, password: PASSWORD }),
      });
      const body = await registered.text();
      expect(registered.status, body).toBe(201);
      const victimId = (JSON.parse(body) as { user: { id: string } }).user.id;

      context = await browser.newContext({ viewport: VIEWPORTS.desktop });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const adminName = `${tag}boss`;
      await signUpInPage(page, server.origin, adminName, PASSWORD);
      const made = await runCli(["users", "role", adminName, "admin", "user"], { ...env, LOG_LEVEL: "silent" });
      expect(made.code, made.stderr).toBe(0);
      // The role reaches the server within a second; under jwt the next refresh carries it.
      const adminLink = nav(page).getByRole("link", { name: "Admin" });
      await expect
        .poll(
          async () => {
            await page.reload();
            return adminLink.waitFor({ timeout: 1000 }).then(
              () => true,
              () => false,
            );
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      await adminLink.click();
      await page.getByLabel("Username contains").fill(victimName);
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("button", { name: victimName, exact: true }).click();
      const detail = page.locator("section.detail");
      await detail.getByRole("heading", { name: victimName }).waitFor();

      // Cancel: the change is not made, and the page says so quietly (a status, not an alert).
      await outsideWindow(page);
      await detail.getByRole("button", { name: "Disable…" }).click();
      await confirmIn(page, `Disable ${victimName}?`, `Disable ${victimName}`);
      const prompt = page.getByRole("dialog", { name: "Confirm it's you" });
      await prompt.waitFor();
      await expect(prompt.textContent()).resolves.toMatch(
        /This action needs a recent sign-in\. Enter your password to continue/,
      );
      // The focus is on the password field, the one thing to do.
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("reauth-password");
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(viewport);
        for (const theme of ["light", "dark"] as const) {
          await page.evaluate((t) => {
            document.documentElement.dataset.theme = t;
          }, theme);
          expect(await seriousAxeViolations(page, `reauth prompt ${theme} ${size}`)).toEqual([]);
          await screenshot(page, `${strategy}-reauth-${theme}-${size}`);
        }
      }
      await prompt.getByRole("button", { name: "Cancel" }).click();
      await prompt.waitFor({ state: "detached" });
      await page.getByRole("dialog").waitFor({ state: "detached" });
      await detail.getByRole("status").filter({ hasText: "Cancelled: nothing was changed." }).waitFor();
      expect(await detail.getByRole("alert").count()).toBe(0);
      expect((await userById(page, victimId)).user.disabledAt).toBeNull();
      // The focus is back on the button that started it all, not lost at the page's start.
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Disable…");

      // A wrong password is refused on the field, the prompt stays; the throttle's wait is
      // said; the right password makes the change asked for, once.
      await detail.getByRole("button", { name: "Disable…" }).click();
      await confirmIn(page, `Disable ${victimName}?`, `Disable ${victimName}`);
      await prompt.waitFor();
      const field = prompt.getByLabel("Password");
      await field.fill("not the password");
      await prompt.getByRole("button", { name: "Confirm" }).click();
      await prompt.getByText("The current password is incorrect.").waitFor();
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      expect(await field.getAttribute("aria-describedby")).toBe("reauth-password-error");
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("reauth-password");
      await page.route("**/auth/reauthenticate", (route) =>
        route.fulfill({
          status: 429,
          contentType: "application/json",
          headers: { "retry-after": "120" },
          body: JSON.stringify({ error: { code: "rate_limited", message: "Too many attempts." } }),
        }),
      );
      await field.fill("another guess");
      await prompt.getByRole("button", { name: "Confirm" }).click();
      await prompt.getByRole("alert").filter({ hasText: "Try again in 2 minutes." }).waitFor();
      await page.unroute("**/auth/reauthenticate");
      expect((await userById(page, victimId)).user.disabledAt).toBeNull();
      await field.fill(PASSWORD);
      await prompt.getByRole("button", { name: "Confirm" }).click();
      await prompt.waitFor({ state: "detached" });
      await detail.getByText(`${victimName} is disabled; their sessions have ended.`).waitFor();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      expect((await userById(page, victimId)).user.disabledAt).not.toBeNull();

      // Later, outside the window again: asked again; Escape cancels like Cancel.
      await outsideWindow(page);
      await detail.getByRole("checkbox", { name: /^admin/ }).check();
      await detail.getByRole("button", { name: "Save roles…" }).click();
      await confirmIn(page, `Change ${victimName}'s roles?`, "Save roles");
      await prompt.waitFor();
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("reauth-password");
      await page.keyboard.press("Escape");
      await prompt.waitFor({ state: "detached" });
      await detail.getByRole("status").filter({ hasText: "Cancelled: nothing was changed." }).waitFor();
      expect((await userById(page, victimId)).user.roles).toEqual(["user"]);
      expect(errors).toEqual([]);
    });
  });
}
