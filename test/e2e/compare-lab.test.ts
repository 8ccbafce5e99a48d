/// <reference lib="dom" />
/**
 * Issue 30, "Compare the strategies without restarting" and "The insecure versions,
 * safely", in a real Chromium against a real server (AUTH_STRATEGY=jwt): the compare page
 * lays out the four steps under every strategy; the lab shows a fake token read from
 * localStorage and a document.cookie without the HttpOnly cookies, the fake token leaking
 * through Referer under a leaky policy and not under latchkey's, and the fake token gone
 * from localStorage once the page is left. Both pages are axe-clean in both themes, at
 * phone and desktop width.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, screenshot, seriousAxeViolations, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
// A loaded 2-core machine: a server and a browser start slowly, and a step can take seconds.
const SLOW = 180_000;
/** The lab's own localStorage key (LAB_STORAGE_KEY of packages/server/web/src/pages/lab.tsx). */
const LAB_STORAGE_KEY = "latchkey-lab-fake-token";

let counter = 0;
const uniqueUser = () => `cl${process.pid % 1000}t${++counter}`;

describeWith("Chromium", CHROMIUM !== null)("compare and lab pages (issue 30), in Chromium", () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-compare-lab-"));
    server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "e2e.db")}`, AUTH_STRATEGY: "jwt" });
    browser = await launchChromium(CHROMIUM as string);
  }, SLOW);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  const signedIn = async (viewport: { width: number; height: number } = VIEWPORTS.desktop) => {
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await signUpInPage(page, server.origin, uniqueUser(), PASSWORD);
    return { context, page, errors };
  };
  const storedFake = (page: Page) => page.evaluate((key) => localStorage.getItem(key), LAB_STORAGE_KEY);
  const step = (page: Page, name: string) => page.getByRole("region", { name });
  const flowIn = (page: Page, stepName: string, flow: string) =>
    step(page, stepName).getByRole("article", { name: flow, exact: true });

  it(
    "the compare page shows the four steps under session, jwt and hybrid, the reuse refused under each",
    async () => {
      const { context, page, errors } = await signedIn();
      try {
        await page.goto(`${server.origin}/compare`);
        await page.getByRole("heading", { level: 1, name: "Compare the strategies" }).waitFor();
        const reuse = "4. Reuse the signed-out credential";
        await step(page, reuse).waitFor();
        for (const name of ["1. Sign in", "2. A protected request", "3. Sign out", reuse]) {
          for (const flow of ["session", "jwt", "hybrid"]) await flowIn(page, name, flow).waitFor();
        }
        for (const flow of ["session", "jwt", "hybrid"]) {
          expect(await flowIn(page, reuse, flow).locator(".badge").textContent()).toBe("401 unauthenticated");
        }
        expect(await flowIn(page, reuse, "jwt, REVOCATION=expiry").locator(".badge").textContent()).toBe("200");
        // What travels: the session strategy's cookie and its attributes; what is stored.
        const signIn = flowIn(page, "1. Sign in", "session");
        expect(await signIn.textContent()).toContain("__Host-sid");
        expect(await signIn.textContent()).toContain("HttpOnly; Secure; SameSite=Lax");
        expect(await signIn.textContent()).toContain("Session row #");
        expect(await flowIn(page, "1. Sign in", "jwt").textContent()).toContain("Refresh token row #");
        expect(await flowIn(page, "3. Sign out", "session").textContent()).toContain("No session row.");
        // The README's measured costs.
        const costs = await page.getByRole("table").textContent();
        expect(costs).toContain("≈10-15 µs");
        expect(costs).toContain("≈180 µs EdDSA");
        // No value on the page reads as a token or a session cookie.
        expect(await page.locator("main").textContent()).not.toMatch(/[\w-]{16,}\.[\w-]{16,}/);
        await screenshot(page, "jwt-compare-light-desktop");
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
    SLOW,
  );

  it(
    "the lab: an injected script reads the fake token from localStorage and only the non-HttpOnly cookie",
    async () => {
      const { context, page, errors } = await signedIn();
      try {
        await page.goto(`${server.origin}/lab`);
        await page.getByRole("heading", { level: 1, name: "The insecure lab" }).waitFor();
        await expect.poll(() => storedFake(page)).toMatch(/^FAKE-/);
        const fake = await storedFake(page);
        expect(fake).toMatch(/^FAKE-[A-Za-z0-9]{16}$/);
        // The browser holds the HttpOnly cookies: their absence below is HttpOnly's doing.
        const held = (await context.cookies()).map((cookie) => [cookie.name, cookie.httpOnly]);
        expect(held).toEqual(
          expect.arrayContaining([
            ["__Host-at", true],
            ["__Host-rt", true],
            ["__Host-csrf", false],
          ]),
        );
        await page.getByRole("button", { name: "Run the injected script" }).click();
        await expect.poll(() => page.locator(".lab-stolen").textContent()).toBe(fake);
        const read = await page.locator(".lab-cookies").textContent();
        expect(read).toContain("__Host-csrf");
        expect(read).not.toContain("__Host-at");
        expect(read).not.toContain("__Host-rt");
        expect(await page.locator(".lab-result").textContent()).toMatch(
          /Not there: __Host-at, __Host-rt, __Host-device/,
        );
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
    SLOW,
  );

  it(
    "the lab: a token in a URL leaks through Referer under unsafe-url, not under latchkey's no-referrer, and stays in the history",
    async () => {
      const { context, page, errors } = await signedIn();
      try {
        await page.goto(`${server.origin}/lab`);
        await expect.poll(() => storedFake(page)).toMatch(/^FAKE-/);
        const fake = (await storedFake(page)) as string;
        const frame = page.frameLocator("iframe.lab-frame");
        const entries = async () => Number(await page.locator("p[aria-live] strong").textContent());
        // unsafe-url, the default: the leaky page shows its address, the third party gets it whole.
        await expect.poll(() => frame.locator("#address").textContent()).toContain(`token=${fake}`);
        const before = await entries();
        await frame.getByRole("link", { name: "Follow a link to a “third-party” page" }).click();
        await expect
          .poll(() => frame.locator("#referer").textContent())
          .toContain(`/lab/leaky?policy=unsafe-url&token=${fake}`);
        expect(await frame.locator("#verdict").textContent()).toContain("The token leaked");
        // The address with the token is now an entry of this tab's history.
        await expect.poll(entries).toBe(before + 1);
        await screenshot(page, "jwt-lab-leak-light-desktop");

        // latchkey's own policy: nothing arrives.
        await page.getByRole("radio", { name: "no-referrer (what latchkey sends)" }).check();
        await expect.poll(() => frame.locator("#address").textContent()).toContain("policy=no-referrer");
        await frame.getByRole("link", { name: "Follow a link to a “third-party” page" }).click();
        await expect.poll(() => frame.locator("#verdict").textContent()).toContain("No Referer header arrived");
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
    SLOW,
  );

  it(
    "the lab removes its fake token from localStorage when the page is left, within the app or not",
    async () => {
      const { context, page } = await signedIn();
      try {
        await page.goto(`${server.origin}/lab`);
        await expect.poll(() => storedFake(page)).toMatch(/^FAKE-/);
        // Within the app: the page unmounts.
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "To-dos" }).click();
        await page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
        expect(await storedFake(page)).toBeNull();
        // A full navigation away (pagehide).
        await page.goto(`${server.origin}/lab`);
        await expect.poll(() => storedFake(page)).toMatch(/^FAKE-/);
        await page.goto(`${server.origin}/todos`);
        await page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
        expect(await storedFake(page)).toBeNull();
      } finally {
        await context.close();
      }
    },
    SLOW,
  );

  it(
    "both pages are axe-clean in both themes, at phone and desktop width",
    async () => {
      const failures: string[] = [];
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        const { context, page, errors } = await signedIn(viewport);
        try {
          for (const theme of ["light", "dark"] as const) {
            await page.evaluate((t) => localStorage.setItem("theme", t), theme);
            await page.goto(`${server.origin}/compare`);
            await step(page, "4. Reuse the signed-out credential").waitFor();
            // The bodies' shapes too.
            for (const summary of await page.locator("summary").all()) await summary.click();
            failures.push(...(await seriousAxeViolations(page, `/compare ${theme} ${size}`)));
            await screenshot(page, `jwt-compare-${theme}-${size}`);
            await page.goto(`${server.origin}/lab`);
            await page.getByRole("button", { name: "Run the injected script" }).click();
            await page.locator(".lab-result").waitFor();
            await page.frameLocator("iframe.lab-frame").locator("#address").waitFor();
            failures.push(...(await seriousAxeViolations(page, `/lab ${theme} ${size}`)));
            await screenshot(page, `jwt-lab-${theme}-${size}`);
          }
          expect(errors).toEqual([]);
        } finally {
          await context.close();
        }
      }
      expect(failures).toEqual([]);
    },
    SLOW * 2,
  );
});
