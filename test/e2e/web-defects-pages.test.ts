/// <reference lib="dom" />
/**
 * Issue 30, defects 3 and 4, in a real Chromium against a real server: an unknown address
 * shows the app's own not-found page (status 404, no quiet redirect, a way on, axe-clean)
 * instead of the API's JSON; and at 390 px the header keeps to two rows and shows who is
 * signed in with the strategy badge, while the desktop header stays one row. Both are the
 * web app's own behaviour, the same under every strategy: one server is enough.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
const STRATEGY = "session";
// A loaded 2-core machine: a server and a browser start slowly, and a step can take seconds.
const SLOW = 90_000;
/** The examples, each with the page it was probably meant to be (signed out). */
const EXAMPLES: Array<[path: string, meant: { href: string; title: string } | null]> = [
  ["/settings", null],
  ["/todos/123", null],
  ["/signin/", { href: "/signin", title: "Sign in" }],
  ["/TODOS", { href: "/todos", title: "To-dos" }],
];

let counter = 0;
const uniqueUser = () => `wp${process.pid % 1000}t${++counter}`;

/**
 * The header's layout, measured: how many rows its controls take (a control starts a row
 * when it begins below the bottom of the row above), and the boxes of the user's name and
 * the strategy badge.
 */
const headerLayout = (page: Page) =>
  page.evaluate(() => {
    const header = document.querySelector("header.topbar") as HTMLElement;
    const boxes = Array.from(header.querySelectorAll<HTMLElement>(".brand, .who, .account button, nav a"))
      .map((element) => element.getBoundingClientRect())
      .filter((box) => box.width > 0 && box.height > 0)
      .sort((a, b) => a.top - b.top);
    let rows = 0;
    let bottom = Number.NEGATIVE_INFINITY;
    for (const box of boxes) {
      if (box.top >= bottom - 1) {
        rows += 1;
        bottom = box.bottom;
      } else bottom = Math.max(bottom, box.bottom);
    }
    const shown = (selector: string) => {
      const element = header.querySelector<HTMLElement>(selector);
      if (!element?.checkVisibility()) return null;
      const box = element.getBoundingClientRect();
      return {
        text: element.textContent,
        left: Math.round(box.left),
        right: Math.round(box.right),
        width: Math.round(box.width),
        cut: element.scrollWidth > element.clientWidth,
      };
    };
    return {
      rows,
      current: shown('nav a[aria-current="page"]'),
      name: shown(".who .name"),
      badge: shown(".who .badge"),
      links: Array.from(header.querySelectorAll<HTMLElement>("nav a")).map((a) => a.getBoundingClientRect().width > 0),
      viewport: innerWidth,
      pageWidth: document.documentElement.scrollWidth,
    };
  });

describeWith("Chromium", CHROMIUM !== null)("web app defects 3 and 4 (issue 30), in Chromium", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-pages-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "e2e.db")}`, AUTH_STRATEGY: STRATEGY };
    server = await startServerProcess(env);
    browser = await launchChromium(CHROMIUM as string);
  }, SLOW);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  const url = (path: string) => `${server.origin}${path}`;
  const newDevice = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    return { context, page, errors: watchErrors(page) };
  };
  const signUp = async (page: Page, username = uniqueUser()) => {
    await signUpInPage(page, server.origin, username, PASSWORD);
    await page.getByRole("heading", { name: "To-dos" }).waitFor();
    return username;
  };
  const axe = async (page: Page, name: string) => {
    expect(await seriousAxeViolations(page, name)).toEqual([]);
  };
  /** Opens `path` as a person would (typed in the address bar) and waits for the not-found page. */
  const openMissing = async (page: Page, path: string) => {
    const response = await page.goto(url(path));
    expect([path, response?.status()]).toEqual([path, 404]);
    const heading = page.getByRole("heading", { level: 1, name: "Page not found" });
    await heading.waitFor();
    // The page stays: no quiet redirect to the sign-in or the to-dos once the app has loaded.
    await page.waitForTimeout(300);
    expect([path, new URL(page.url()).pathname, await heading.count()]).toEqual([path, path, 1]);
    expect(await page.title()).toBe("Page not found · latchkey");
    await expect(page.locator("main").textContent()).resolves.toContain(`There is no page at ${path}.`);
    return page.locator("main");
  };

  it(
    "signed out: each unknown address is the app's not-found page, 404, with links to sign in",
    async () => {
      const { page, errors } = await newDevice();
      for (const [path, meant] of EXAMPLES) {
        const main = await openMissing(page, path);
        const ways = main.getByRole("navigation", { name: "Where to go" });
        await expect(ways.getByRole("link").allTextContents()).resolves.toEqual([
          "Sign in",
          "Create an account",
          "The HTTP API's reference",
        ]);
        const suggestion = main.locator(".suggestion");
        if (meant) {
          const link = suggestion.getByRole("link", { name: meant.title, exact: true });
          await expect(link.getAttribute("href")).resolves.toBe(meant.href);
        } else {
          expect(await suggestion.count()).toBe(0);
        }
      }
      // The same address asked for by a script (fetch sends Accept: */*): the API's JSON.
      const fromScript = await page.evaluate(async () => {
        const answer = await fetch("/settings");
        return [answer.status, answer.headers.get("content-type"), await answer.json()];
      });
      expect(fromScript).toEqual([
        404,
        "application/json; charset=utf-8",
        { error: { code: "not_found", message: "Not found." } },
      ]);

      // By keyboard alone: Tab reaches "Sign in" with a visible focus, Enter follows it.
      await openMissing(page, "/settings");
      let focused: { text: string; outline: string } | null = null;
      for (let i = 0; i < 10 && focused?.text !== "Sign in"; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => {
          const element = document.activeElement as HTMLElement;
          return { text: element.textContent ?? "", outline: getComputedStyle(element).outlineStyle };
        });
      }
      expect(focused).toEqual({ text: "Sign in", outline: "solid" });
      await page.keyboard.press("Enter");
      await page.waitForURL("**/signin");
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      expect(errors).toEqual([]);
    },
    SLOW,
  );

  it(
    "signed in: the not-found page sits in the app with its header, and leads back to the to-dos",
    async () => {
      const { page, errors } = await newDevice();
      await signUp(page);
      for (const [path] of EXAMPLES) {
        const main = await openMissing(page, path);
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "To-dos" }).waitFor();
        await expect(
          main.getByRole("navigation", { name: "Where to go" }).getByRole("link").allTextContents(),
        ).resolves.toEqual(["Go to your to-dos", "See how sign-in works", "The HTTP API's reference"]);
        // Signed in, the sign-in form is no page to suggest; a page in the wrong case is.
        const suggestion = main.locator(".suggestion");
        if (path === "/TODOS") {
          await expect(suggestion.getByRole("link", { name: "To-dos" }).getAttribute("href")).resolves.toBe("/todos");
        } else {
          expect([path, await suggestion.count()]).toEqual([path, 0]);
        }
      }
      await page.getByRole("link", { name: "Go to your to-dos" }).click();
      await page.waitForURL("**/todos");
      await page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
      expect(errors).toEqual([]);
    },
    SLOW,
  );

  it(
    "the not-found page passes axe in both themes at phone and desktop width, signed out and in",
    async () => {
      const { page, errors } = await newDevice();
      await page.goto(url("/signin")); // the origin's storage, for the theme
      for (const who of ["signed-out", "signed-in"] as const) {
        if (who === "signed-in") await signUp(page);
        for (const theme of ["light", "dark"] as const) {
          await page.evaluate((t) => localStorage.setItem("theme", t), theme);
          for (const [size, viewport] of Object.entries(VIEWPORTS)) {
            await page.setViewportSize(viewport);
            await openMissing(page, "/TODOS");
            expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
            await axe(page, `not found ${who} ${theme} ${size}`);
            await screenshot(page, `${STRATEGY}-not-found-${who}-${theme}-${size}`);
          }
        }
      }
      expect(errors).toEqual([]);
    },
    SLOW * 2,
  );

  it(
    "at 390 px the header takes two rows and shows the user and the strategy; the desktop header one row",
    async () => {
      const { page, errors } = await newDevice(VIEWPORTS.phone);
      const username = await signUp(page);
      // The longest name the API takes, too: it shortens, the badge stays.
      const longName = `${uniqueUser()}-${"x".repeat(32)}`.slice(0, 32);
      const other = await newDevice(VIEWPORTS.phone);
      await signUp(other.page, longName);

      for (const [who, tab] of [
        [username, page],
        [longName, other.page],
      ] as const) {
        const phone = await headerLayout(tab);
        expect(phone.rows, `${who}: rows at 390 px`).toBeLessThanOrEqual(2);
        expect(phone.pageWidth, `${who}: no sideways scroll of the page`).toBeLessThanOrEqual(phone.viewport);
        expect(phone.name?.text, `${who}: the name is shown`).toBe(who);
        expect(phone.name?.width, `${who}: the name has room`).toBeGreaterThanOrEqual(40);
        expect(phone.badge?.text, `${who}: the strategy is shown`).toBe(STRATEGY);
        expect(phone.badge?.cut, `${who}: the badge is whole`).toBe(false);
        expect(phone.badge?.right, `${who}: the badge is on screen`).toBeLessThanOrEqual(phone.viewport);
        expect(phone.links, `${who}: every page link is there`).toEqual([true, true, true, true]);
        await screenshot(tab, `${STRATEGY}-header-${who === username ? "name" : "long-name"}-phone`);
      }
      // A name of an ordinary length is not shortened, and four links fit the row.
      const ordinary = await headerLayout(page);
      expect(ordinary.name?.cut).toBe(false);
      expect(ordinary.current?.text).toBe("To-dos");

      // An admin's five links do not fit: they scroll sideways, and the current page's link
      // is brought into view.
      const made = await runCli(["users", "role", longName, "admin", "user"], { ...env, LOG_LEVEL: "silent" });
      expect(made.code, made.stderr).toBe(0);
      const adminLink = other.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" });
      await expect
        .poll(
          async () => {
            await other.page.reload();
            await other.page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
            return adminLink.count();
          },
          { timeout: 20_000 },
        )
        .toBe(1);
      await other.page.goto(url("/admin"));
      await other.page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
      const admin = await headerLayout(other.page);
      expect(admin.rows, "admin: rows at 390 px").toBeLessThanOrEqual(2);
      expect(admin.links).toEqual([true, true, true, true, true]);
      expect(admin.current?.text).toBe("Admin");
      expect(admin.current?.left, "the current link is on screen").toBeGreaterThanOrEqual(0);
      expect(admin.current?.right, "the current link is on screen").toBeLessThanOrEqual(admin.viewport);
      expect(admin.badge?.right).toBeLessThanOrEqual(admin.viewport);
      await screenshot(other.page, `${STRATEGY}-header-admin-phone`);

      for (const theme of ["light", "dark"] as const) {
        await page.evaluate((t) => localStorage.setItem("theme", t), theme);
        for (const [size, viewport] of Object.entries(VIEWPORTS)) {
          await page.setViewportSize(viewport);
          await page.reload();
          await page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
          await axe(page, `/todos header ${theme} ${size}`);
        }
      }
      // Desktop: as before, one row, the name and the badge whole.
      const desktop = await headerLayout(page);
      expect(desktop.rows).toBe(1);
      expect([desktop.name?.text, desktop.name?.cut, desktop.badge?.text]).toEqual([username, false, STRATEGY]);
      expect(errors).toEqual([]);
      expect(other.errors).toEqual([]);
    },
    SLOW * 2,
  );
});
