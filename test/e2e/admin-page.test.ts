/// <reference lib="dom" />
/**
 * The admin page (issue 27) in a real Chromium, against a real server: shown only to users
 * whose roles grant `users:read` (the operator makes one an admin with the CLI), with the
 * users table (search, role filter, pages), a user's detail (devices, timeline), the
 * actions confirmed in a dialog, the API's refusals shown, the audit log and the to-do
 * counts; axe-clean at phone and desktop width.
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
/** The page size of the users table (packages/server/web/src/pages/admin/users.tsx). */
const USERS_PAGE = 25;

for (const strategy of ["session", "jwt"] as const) {
  describeWith("Chromium", CHROMIUM !== null)(`admin page in Chromium, AUTH_STRATEGY=${strategy}`, () => {
    let dir: string;
    let env: Record<string, string>;
    let server: RunningServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    // Usernames of this run: unique per process and strategy, so a search finds only them.
    const tag = `ad${process.pid % 1000}${strategy[0]}`;
    let counter = 0;
    const uniqueUser = (kind: string) => `${tag}${kind}${++counter}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "latchkey-admin-e2e-"));
      env = { DATABASE_URL: `sqlite:${join(dir, "admin.db")}`, AUTH_STRATEGY: strategy };
      // Neither needs the other to start: both at once. (This test registers many users
      // from one address.)
      [server, browser] = await Promise.all([
        startServerProcess({ ...env, REGISTER_ADDRESS_MAX: "1000" }),
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
    /** An account made over the API, as a script would. */
    const register = async (username: string) => {
      const answer = await fetch(url("/auth/register"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      expect(answer.status, await answer.text()).toBe(201);
    };
    /** The operator's step: `latchkey users role <name> admin user`, on the server's database. */
    /**
     * Reloads until the page shows the Admin link: the CLI's role change reaches the
     * server within a second (the change feed), and under `jwt` the app's next request
     * then refreshes its access token, which carries the new roles.
     */
    const untilAdminLink = async (page: Page) => {
      const link = nav(page).getByRole("link", { name: "Admin" });
      for (let tries = 0; tries < 10; tries++) {
        const shown = await link.waitFor({ timeout: 1000 }).then(
          () => true,
          () => false,
        );
        if (shown) return;
        await page.reload();
      }
      await link.waitFor();
    };
    const makeAdmin = async (username: string) => {
      const result = await runCli(["users", "role", username, "admin", "user"], { ...env, LOG_LEVEL: "silent" });
      expect(result.code, result.stderr).toBe(0);
    };
    const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });
    const usernamesShown = (page: Page) => page.locator(".users-table tbody th").allTextContents();
    const search = async (page: Page, q: string, role = "") => {
      await page.getByLabel("Username contains").fill(q);
      await page.getByLabel("Role", { exact: true }).selectOption(role);
      await page.getByRole("button", { name: "Search" }).click();
    };
    const confirmIn = async (page: Page, title: string, action: string) => {
      const dialog = page.getByRole("dialog", { name: title });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: action, exact: true }).click();
      await dialog.waitFor({ state: "detached" });
    };
    const axe = async (page: Page, name: string) => {
      expect(await seriousAxeViolations(page, name)).toEqual([]);
    };

    it("a plain user has no admin link, and the admin page says they are not allowed", async () => {
      const { page, errors } = await newDevice();
      await signUp(page, uniqueUser("plain"));
      await expect(nav(page).getByRole("link").allTextContents()).resolves.toEqual([
        "To-dos",
        "Devices",
        "Security",
        "How it works",
      ]);
      await page.goto(url("/admin"));
      await page.getByRole("heading", { name: "Not allowed" }).waitFor();
      await expect(page.locator("main").textContent()).resolves.toMatch(/not allowed to see this page/);
      expect(await page.locator(".users-table").count()).toBe(0);
      // The server refuses the API itself, whatever the page shows.
      expect(await page.evaluate(async () => (await fetch("/admin/users")).status)).toBe(403);
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(viewport);
        await axe(page, `/admin not allowed ${size}`);
      }
      expect(errors).toEqual([]);
    });

    it("an admin searches, pages, opens a user, disables and enables them, sets roles, and reads the audit log", async () => {
      const victimName = uniqueUser("victim");
      const victim = await newDevice(VIEWPORTS.phone);
      await signUp(victim.page, victimName);
      await victim.page.getByLabel("New to-do").fill("a private errand");
      await victim.page.keyboard.press("Enter");
      await victim.page.locator(".todos .title", { hasText: "a private errand" }).waitFor();

      const adminName = uniqueUser("boss");
      const { page, errors } = await newDevice();
      await signUp(page, adminName);
      expect(await nav(page).getByRole("link", { name: "Admin" }).count()).toBe(0);
      await makeAdmin(adminName);
      await untilAdminLink(page);
      await nav(page).getByRole("link", { name: "Admin" }).click();
      await page.waitForURL("**/admin");
      await page.getByRole("heading", { name: "Users" }).waitFor();

      // Search and pages: one more user than a page holds, all sharing a prefix.
      const many = Array.from({ length: USERS_PAGE + 1 }, (_, i) => `${tag}many${String(i).padStart(2, "0")}`);
      for (const name of many) await register(name);
      await search(page, `${tag}many`);
      await expect.poll(() => usernamesShown(page)).toEqual(many.slice(0, USERS_PAGE));
      expect(await page.getByRole("button", { name: "Previous" }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Next" }).click();
      await expect.poll(() => usernamesShown(page)).toEqual(many.slice(USERS_PAGE));
      expect(await page.getByRole("button", { name: "Next" }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Previous" }).click();
      await expect.poll(() => usernamesShown(page)).toEqual(many.slice(0, USERS_PAGE));
      // The role filter: of this run's users, only the admin has `admin`.
      await search(page, tag, "admin");
      await expect.poll(() => usernamesShown(page)).toEqual([adminName]);

      // A user's detail: their device and their timeline.
      await search(page, victimName);
      await expect.poll(() => usernamesShown(page)).toEqual([victimName]);
      await page.getByRole("button", { name: victimName, exact: true }).click();
      const detail = page.locator("section.detail");
      await detail.getByRole("heading", { name: victimName }).waitFor();
      await detail.getByRole("heading", { name: "Devices (1)" }).waitFor();
      await detail.locator(".timeline").getByText("Signed in", { exact: true }).first().waitFor();

      // Disable, after a confirmation; cancelling changes nothing.
      await detail.getByRole("button", { name: "Disable…" }).click();
      const dialog = page.getByRole("dialog", { name: `Disable ${victimName}?` });
      await dialog.waitFor();
      // Cancel has the focus: a stray Enter never confirms.
      await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Cancel");
      await axe(page, "/admin confirmation dialog");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "detached" });
      await victim.page.reload();
      await victim.page.getByRole("heading", { name: "To-dos" }).waitFor();
      await detail.getByRole("button", { name: "Disable…" }).click();
      await confirmIn(page, `Disable ${victimName}?`, `Disable ${victimName}`);
      await detail.getByText(`${victimName} is disabled; their sessions have ended.`).waitFor();
      await detail.getByRole("heading", { name: "Devices (0)" }).waitFor();
      await victim.page.reload();
      await victim.page.getByRole("heading", { name: "Sign in" }).waitFor();
      await detail.getByRole("button", { name: "Enable…" }).click();
      await confirmIn(page, `Enable ${victimName}?`, `Enable ${victimName}`);
      await detail.getByText(`${victimName} is enabled.`).waitFor();

      // Roles, from the checkboxes of the declared roles.
      await detail.getByRole("checkbox", { name: /^admin/ }).check();
      await detail.getByRole("button", { name: "Save roles…" }).click();
      await confirmIn(page, `Change ${victimName}'s roles?`, "Save roles");
      await detail.getByText(`${victimName}'s roles are now admin, user.`).waitFor();

      // The audit log shows who did what to whom.
      const audit = page.locator(".audit-table tbody tr");
      await audit.filter({ hasText: "Set roles" }).filter({ hasText: victimName }).waitFor();
      const rows = await audit.allTextContents();
      const about = rows.filter((row) => row.includes(victimName));
      expect(about).toHaveLength(3);
      expect(about[0]).toMatch(new RegExp(`${adminName}.*Set roles.*user → admin, user.*${victimName}`));
      expect(about[1]).toMatch(/Enabled/);
      expect(about[2]).toMatch(/Disabled/);
      // Made an admin by the CLI: the operator, without an account.
      expect(rows.some((row) => row.includes("CLI (operator)") && row.includes(adminName))).toBe(true);

      // The to-do counts: how many, never what.
      const stats = page.locator(".stats-table tbody tr", { hasText: victimName });
      await stats.waitFor();
      expect(await stats.textContent()).toBe(`${victimName}1`);
      await expect(page.locator("main").textContent()).resolves.not.toMatch(/private errand/);

      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(viewport);
        for (const theme of ["light", "dark"] as const) {
          await page.evaluate((t) => {
            localStorage.setItem("theme", t);
            document.documentElement.dataset.theme = t;
          }, theme);
          await axe(page, `/admin ${theme} ${size}`);
          await screenshot(page, `${strategy}-admin-${theme}-${size}`);
        }
      }
      expect(errors).toEqual([]);
    });

    it("shows the API's refusals: the last admin (409) and a missing permission (403)", async () => {
      const adminName = uniqueUser("solo");
      const { page, errors } = await newDevice(VIEWPORTS.phone);
      await signUp(page, adminName);
      // The only other admins of this server: demote them, so this one is the last.
      await makeAdmin(adminName);
      await untilAdminLink(page);
      const others = await runCli(["users", "list", "--role", "admin", "--json"], { ...env, LOG_LEVEL: "silent" });
      for (const other of JSON.parse(others.stdout) as Array<{ username: string }>) {
        if (other.username !== adminName) {
          const demoted = await runCli(["users", "role", other.username, "user"], { ...env, LOG_LEVEL: "silent" });
          expect(demoted.code, demoted.stderr).toBe(0);
        }
      }
      await page.goto(url("/admin"));
      await search(page, adminName);
      await expect.poll(() => usernamesShown(page)).toEqual([adminName]);
      await page.getByRole("button", { name: adminName, exact: true }).click();
      const detail = page.locator("section.detail");
      await detail.getByRole("heading", { name: adminName }).waitFor();
      await detail.getByRole("checkbox", { name: /^admin/ }).uncheck();
      await detail.getByRole("button", { name: "Save roles…" }).click();
      await confirmIn(page, `Change ${adminName}'s roles?`, "Save roles");
      const alert = detail.getByRole("alert");
      await alert.waitFor();
      await expect(alert.textContent()).resolves.toMatch(/last enabled admin/);
      // Nothing changed: the user is still an admin.
      await page.reload();
      await nav(page).getByRole("link", { name: "Admin" }).waitFor();

      // A permission the server says the caller lacks (another admin took it a moment ago).
      await search(page, adminName);
      await expect.poll(() => usernamesShown(page)).toEqual([adminName]);
      await page.getByRole("button", { name: adminName, exact: true }).click();
      await page.route("**/admin/users/*/sessions", (route) =>
        route.fulfill({
          status: 403,
          contentType: "application/json",
          body: JSON.stringify({ error: { code: "forbidden", message: "This needs the permission sessions:revoke." } }),
        }),
      );
      await detail.getByRole("button", { name: "End sessions…" }).click();
      await confirmIn(page, `End ${adminName}'s sessions?`, "End sessions");
      await expect(detail.getByRole("alert").textContent()).resolves.toBe(
        "Not allowed: This needs the permission sessions:revoke.",
      );
      await page.unroute("**/admin/users/*/sessions");
      expect(errors).toEqual([]);
    });
  });
}
