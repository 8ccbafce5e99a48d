/// <reference lib="dom" />
/**
 * The web app in a real Chromium, against a real server, under each strategy.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it, onTestFailed } from "vitest";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PASSWORD = "correct horse battery staple";
/**
 * The signed-in pages axe checks and shoots here. "How it works" is not among them:
 * how-it-works.test.ts checks and shoots it signed in, under each strategy, in both themes
 * at both widths (and for overflow), a superset of what a pass here would add.
 */
const PAGES = ["/todos", "/devices", "/security"] as const;

let counter = 0;
const uniqueUser = () => `e2e${process.pid % 1000}u${++counter}`;

for (const strategy of ["session", "jwt", "hybrid"] as const) {
  describeWith("Chromium", CHROMIUM !== null)(`web app in Chromium, AUTH_STRATEGY=${strategy}`, () => {
    let dir: string;
    let server: RunningServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-"));
      // Neither needs the other to start: both at once.
      [server, browser] = await Promise.all([
        startServerProcess({
          DATABASE_URL: `sqlite:${join(dir, "e2e.db")}`,
          AUTH_STRATEGY: strategy,
          // Under jwt, access tokens expire every 2 s (no tolerance) so refresh runs constantly.
          ...(strategy === "jwt" && { ACCESS_TOKEN_TTL: "2", CLOCK_TOLERANCE: "0" }),
        }),
        launchChromium(CHROMIUM as string),
      ]);
    }, 60_000);
    // Each test's browsers go with it: pages left open keep refreshing (every second under
    // jwt here) and load the machine the next test runs on.
    afterEach(async () => {
      for (const context of contexts.splice(0)) await context.close().catch(() => {});
    });
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const newDevice = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      // A step that cannot happen fails in 10 s with the locator it waited for.
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      // A failed step says what the page showed, not only which locator it waited for.
      onTestFailed(async () => {
        const text = await page
          .locator("body")
          .textContent({ timeout: 2000 })
          .catch(() => "(unreadable)");
        console.log(`page at ${page.url()} showed:\n${(text ?? "").slice(0, 2000)}`);
      });
      return { context, page, errors: watchErrors(page) };
    };
    const url = (path: string) => `${server.origin}${path}`;

    const signUp = async (page: Page, username: string) => {
      await page.goto(url("/signup"));
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL("**/todos");
      await expect(page.getByRole("heading", { name: "To-dos" }).count()).resolves.toBe(1);
    };
    const signIn = async (page: Page, username: string, password = PASSWORD) => {
      await page.goto(url("/signin"));
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL("**/todos");
    };
    const todoTitles = (page: Page) => page.locator(".todos .title").allTextContents();
    const addTodo = async (page: Page, title: string) => {
      await page.getByLabel("New to-do").fill(title);
      await page.keyboard.press("Enter");
      await page.locator(".todos .title", { hasText: title }).waitFor();
    };
    const isSignedOut = async (page: Page) => {
      await page.reload();
      await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });
      return true;
    };

    it("signs up with inline errors, signs in, adds and edits to-dos, stays signed in across reloads", async () => {
      const { page, errors } = await newDevice();
      const username = uniqueUser();
      await page.goto(url("/signup"));
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password", { exact: true }).fill("password1234");
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page.getByRole("alert").textContent()).resolves.toMatch(/commonly used/);
      expect(page.url()).toMatch(/\/signup$/); // no reload, no navigation
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL("**/todos");

      await addTodo(page, "Buy oat milk");
      await addTodo(page, "Walk the dog");
      await page.getByRole("button", { name: "Edit: Buy oat milk" }).click();
      const editor = page.getByLabel(/Edit the title/);
      await editor.fill("Buy oat milk and bread");
      await editor.press("Enter");
      await page.locator(".todos .title", { hasText: "and bread" }).waitFor();
      // The reload below must find the change saved: wait for the server's answer to it.
      const done = page.waitForResponse(
        (r) => /\/api\/todos\/[^/]+$/.test(new URL(r.url()).pathname) && r.request().method() === "PATCH",
      );
      await page.getByLabel("Done: Walk the dog").check();
      expect((await done).ok()).toBe(true);

      await page.reload();
      await page.locator(".todos .title").first().waitFor();
      expect(await todoTitles(page)).toEqual(["Buy oat milk and bread", "Walk the dog"]);
      expect(await page.getByLabel("Done: Walk the dog").isChecked()).toBe(true);
      await page.getByRole("button", { name: "Done", exact: true }).click();
      expect(await todoTitles(page)).toEqual(["Walk the dog"]);
      expect(errors).toEqual([]);

      // A taken name is explained on the username field.
      const other = await newDevice();
      await other.page.goto(url("/signup"));
      await other.page.getByLabel("Username").fill(username.toUpperCase());
      await other.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await other.page.getByRole("button", { name: "Create account" }).click();
      await expect(other.page.locator("#username-error").textContent()).resolves.toMatch(/taken/);
    });

    if (strategy === "session") {
      it("explains wrong passwords and throttling inline, with the retry time, without a reload", async () => {
        const { page } = await newDevice();
        const username = uniqueUser();
        await signUp(page, username);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("heading", { name: "Sign in" }).waitFor();
        for (let i = 0; i < 5; i++) {
          await page.getByLabel("Username").fill(username);
          await page.getByLabel("Password", { exact: true }).fill(`not the password ${i}`);
          await page.getByRole("button", { name: "Sign in", exact: true }).click();
          await page.getByText("The username or password is incorrect.").waitFor();
        }
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByText(/Too many failed attempts\. Try again in 15 minutes\./).waitFor();
        expect(page.url()).toMatch(/\/signin$/);
      });
    }

    it("rolls an optimistic change back, with a message, when the server refuses it", async () => {
      const { page } = await newDevice();
      await signUp(page, uniqueUser());
      await addTodo(page, "stays undone");
      await page.route("**/api/todos/*", (route) =>
        route.fulfill({
          status: 503,
          contentType: "application/json",
          body: JSON.stringify({ error: { code: "service_unavailable", message: "The store is unavailable." } }),
        }),
      );
      // A click, not check(): the box flips and flips back before check() could look.
      await page.getByLabel("Done: stays undone").click();
      await page.getByText("Not saved: The store is unavailable.").waitFor();
      expect(await page.getByLabel("Done: stays undone").isChecked()).toBe(false);
      await page.getByRole("button", { name: "Delete: stays undone" }).click();
      await page.locator(".todos .title", { hasText: "stays undone" }).waitFor();
      await page.unroute("**/api/todos/*");
      await page.reload();
      await page.locator(".todos .title", { hasText: "stays undone" }).waitFor();
    });

    it("keeps an editor open while an earlier add is still on its way to the server", async () => {
      const { page } = await newDevice();
      await signUp(page, uniqueUser());
      await addTodo(page, "first");
      // Hold the next add's POST until the editor is open: when the answer arrives, the
      // add must not take the focus back (the editor would close on blur).
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route("**/api/todos", async (route) => {
        if (route.request().method() === "POST") await held;
        await route.continue();
      });
      await addTodo(page, "second");
      await page.getByRole("button", { name: "Edit: first" }).click();
      const editor = page.getByLabel(/Edit the title/);
      await editor.waitFor();
      const saved = page.waitForResponse((r) => r.url().endsWith("/api/todos") && r.request().method() === "POST");
      release();
      await saved;
      await page.waitForTimeout(100); // the add's last step runs after its answer
      await page.unroute("**/api/todos");
      await editor.fill("first, edited");
      await editor.press("Enter");
      await page.locator(".todos .title", { hasText: "first, edited" }).waitFor();
    });

    it("keeps an editor open on a to-do whose add is still on its way, when the server's copy replaces it", async () => {
      const { page } = await newDevice();
      await signUp(page, uniqueUser());
      // Hold the add's POST until the editor of its (not yet saved) row is open.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route("**/api/todos", async (route) => {
        if (route.request().method() === "POST") await held;
        await route.continue();
      });
      await addTodo(page, "pending");
      await page.getByRole("button", { name: "Edit: pending" }).click();
      const editor = page.getByLabel(/Edit the title/);
      await editor.waitFor();
      const saved = page.waitForResponse((r) => r.url().endsWith("/api/todos") && r.request().method() === "POST");
      release();
      await saved;
      await page.waitForTimeout(100); // the swap to the server's copy runs after its answer
      await page.unroute("**/api/todos");
      await editor.fill("pending, edited");
      await editor.press("Enter");
      await page.locator(".todos .title", { hasText: "pending, edited" }).waitFor();
    });

    it("exposes no session, access or refresh cookie to scripts, and nothing auth-related in localStorage", async () => {
      const { page, context } = await newDevice();
      await signUp(page, uniqueUser());
      const visible = await page.evaluate(() => document.cookie);
      expect(visible).not.toMatch(/__Host-(sid|at|rt)=/);
      expect(visible).toMatch(/__Host-csrf=/);
      const names = (await context.cookies()).map((c) => c.name).sort();
      const expected = {
        session: ["__Host-sid"],
        jwt: ["__Host-at", "__Host-rt"],
        hybrid: ["__Host-at", "__Host-sid"],
      }[strategy];
      for (const name of expected) expect(names).toContain(name);
      for (const cookie of await context.cookies()) {
        expect(cookie.httpOnly, cookie.name).toBe(cookie.name !== "__Host-csrf");
        expect(cookie.secure).toBe(true);
        expect(cookie.sameSite).toBe("Lax");
      }
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
      expect(stored).not.toMatch(/token|sid|csrf|session/i);
    });

    it("shows a second browser as a second device, and signs it out when revoked", async () => {
      const username = uniqueUser();
      const laptop = await newDevice();
      await signUp(laptop.page, username);
      const phone = await newDevice(VIEWPORTS.phone);
      await signIn(phone.page, username);
      await laptop.page.goto(url("/devices"));
      const devices = laptop.page.locator(".devices > li");
      await devices.nth(1).waitFor();
      expect(await devices.count()).toBe(2);
      await expect(laptop.page.locator(".badge.current").count()).resolves.toBe(1);
      await expect(laptop.page.locator(".devices").textContent()).resolves.toMatch(/Chrome/);
      await laptop.page.getByRole("button", { name: /^Sign out Chrome/ }).click();
      await laptop.page.getByText("That device has been signed out.").waitFor();
      expect(await devices.count()).toBe(1);
      expect(await isSignedOut(phone.page)).toBe(true);
      await laptop.page.reload();
      await laptop.page.getByRole("heading", { name: "Devices", exact: true }).waitFor();
    });

    it("signs out all other devices, then everywhere", async () => {
      const username = uniqueUser();
      const one = await newDevice();
      await signUp(one.page, username);
      const two = await newDevice();
      await signIn(two.page, username);
      const three = await newDevice();
      await signIn(three.page, username);
      await one.page.goto(url("/devices"));
      await one.page.locator(".devices > li").nth(2).waitFor();
      await one.page.getByRole("button", { name: "Sign out all other devices" }).click();
      await one.page.getByText("Every other device has been signed out.").waitFor();
      expect(await isSignedOut(two.page)).toBe(true);
      await signIn(two.page, username);
      await one.page.getByRole("button", { name: "Sign out everywhere" }).click();
      await one.page.getByRole("heading", { name: "Sign in" }).waitFor();
      expect(await isSignedOut(two.page)).toBe(true);
      expect(await isSignedOut(three.page)).toBe(true);
    });

    it("changes the password: the other device is signed out, this one stays; the event log shows it", async () => {
      const username = uniqueUser();
      const here = await newDevice();
      await signUp(here.page, username);
      const there = await newDevice();
      await signIn(there.page, username);
      await here.page.goto(url("/security"));
      await here.page.getByLabel("Current password").fill(PASSWORD);
      await here.page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
      await here.page.getByLabel("New password, again").fill("a brand new passphrase");
      await here.page.getByRole("button", { name: "Change password" }).click();
      await here.page.getByText(/Your other devices have been signed out/).waitFor();
      await here.page.locator(".timeline").getByText("Password changed", { exact: true }).waitFor();
      expect(await isSignedOut(there.page)).toBe(true);
      await here.page.reload();
      await here.page.getByRole("heading", { name: "Security", exact: true }).waitFor();
      await signIn(there.page, username, "a brand new passphrase");
    });

    if (strategy === "jwt") {
      it("keeps working across access-token expiry (ACCESS_TOKEN_TTL=2), and two tabs refreshing at once stay signed in", async () => {
        const { page, context, errors } = await newDevice();
        const username = uniqueUser();
        await signUp(page, username);
        await addTodo(page, "before expiry");
        await page.waitForTimeout(2500);
        await addTodo(page, "after expiry");
        await page.waitForTimeout(2500);
        await page.reload();
        await page.locator(".todos .title").nth(1).waitFor();
        expect(await todoTitles(page)).toEqual(["before expiry", "after expiry"]);

        const second = await context.newPage();
        await second.goto(url("/todos"));
        await second.locator(".todos .title").nth(1).waitFor();
        for (let round = 0; round < 3; round++) {
          await page.waitForTimeout(2500);
          await Promise.all([page.reload(), second.reload()]);
          await Promise.all([
            page.locator(".todos .title").nth(1).waitFor(),
            second.locator(".todos .title").nth(1).waitFor(),
          ]);
        }
        const events = await page.evaluate(async () => (await fetch("/auth/events")).status);
        expect([200, 401]).toContain(events);
        await page.goto(url("/security"));
        await page.locator(".timeline").waitFor();
        await expect(page.locator(".timeline").textContent()).resolves.not.toMatch(/reused refresh token/);
        await page.goto(url("/devices"));
        await page.locator(".devices > li").first().waitFor();
        expect(await page.locator(".devices > li").count()).toBe(1);
        expect(errors).toEqual([]);
      });
    }

    it("every page passes axe-core with no serious violation, at phone and desktop width (screenshots kept)", async () => {
      const { page, errors } = await newDevice();
      const check = async (name: string) => {
        await page.evaluate(AXE_SOURCE);
        const result = (await page.evaluate(() =>
          (window as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe.run({
            resultTypes: ["violations"],
          }),
        )) as { violations: Array<{ id: string; impact: string; help: string; nodes: unknown[] }> };
        const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
        expect(serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}`)).toEqual([]);
      };
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(viewport);
        for (const path of ["/signin", "/signup"]) {
          await page.goto(url(path));
          await page.getByLabel("Username").waitFor();
          await check(path);
          await screenshot(page, `${strategy}-${path.slice(1)}-${size}`);
        }
      }
      await signUp(page, uniqueUser());
      await addTodo(page, "Try latchkey");
      await addTodo(page, "Read docs/tokens.md");
      // "How it works" explains what renews: the session secret on a schedule, or the refresh token.
      await page.goto(url("/how-it-works"));
      const renewal = page.locator("section", { has: page.locator("#secret-heading") });
      await expect(renewal.locator("h2").textContent()).resolves.toBe(
        strategy === "jwt" ? "No session cookie to renew" : "A secret that renews as you use it",
      );
      if (strategy !== "jwt") {
        await expect(renewal.locator(".eyebrow").textContent()).resolves.toBe(
          "SESSION_ROTATE_INTERVAL=900 · SESSION_ROTATE_GRACE=30",
        );
      }
      // Every theme at every width once, under session; the other strategies' pages differ
      // in what they say, not in layout: both themes at desktop width.
      const sizes = strategy === "session" ? Object.entries(VIEWPORTS) : [["desktop", VIEWPORTS.desktop] as const];
      for (const theme of ["light", "dark"] as const) {
        await page.evaluate((t) => localStorage.setItem("theme", t), theme);
        for (const [size, viewport] of sizes) {
          await page.setViewportSize(viewport);
          for (const path of PAGES) {
            await page.goto(url(path));
            await page.locator("main h1").waitFor();
            // What the page loads after its heading: checked and shot once it has arrived.
            await expect.poll(() => page.locator('[aria-busy="true"], p.muted:text-is("Loading…")').count()).toBe(0);
            await check(`${path} ${theme} ${size}`);
            await screenshot(page, `${strategy}-${path.slice(1)}-${theme}-${size}`);
          }
        }
      }
      expect(errors).toEqual([]);
    }, 180_000);

    it("the keyboard reaches every control with a visible focus", async () => {
      const { page } = await newDevice();
      await signUp(page, uniqueUser());
      await addTodo(page, "focus me");
      const seen = new Set<string>();
      for (let i = 0; i < 25; i++) {
        await page.keyboard.press("Tab");
        const focused = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const style = getComputedStyle(el);
          return {
            label: el.getAttribute("aria-label") ?? el.textContent?.trim() ?? el.id,
            outline: style.outlineStyle,
          };
        });
        if (focused) {
          expect(focused.outline, focused.label).not.toBe("none");
          seen.add(focused.label);
        }
      }
      for (const label of ["To-dos", "Devices", "Security", "How it works", "Sign out", "Add", "Delete: focus me"]) {
        expect([...seen], [...seen].join(" | ")).toContain(label);
      }
    });
  });
}
