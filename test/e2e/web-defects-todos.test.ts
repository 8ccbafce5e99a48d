/// <reference lib="dom" />
/**
 * Issue 30, defects 1 and 5, in a real Chromium against a real server: where focus goes
 * after each to-do and account action, Escape that cancels, and titles the server would
 * refuse (too long, only spaces) explained on the field instead of cut or dropped.
 * These are the web app's own behaviours, the same under every strategy: one server
 * (`AUTH_STRATEGY=session`) is enough.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { launchChromium, signUpInPage, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
// A loaded 2-core machine: a server and a browser start slowly, and a step can take seconds.
const SLOW = 60_000;

let counter = 0;
const uniqueUser = () => `wd${process.pid % 1000}t${++counter}`;

describeWith("Chromium", CHROMIUM !== null)("web app defects 1 and 5 (issue 30), in Chromium", () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-defects-"));
    server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "e2e.db")}`, AUTH_STRATEGY: "session" });
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
    contexts.push(context);
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    return { context, page, errors: watchErrors(page) };
  };
  const signUp = async (page: Page, username = uniqueUser()) => {
    await signUpInPage(page, server.origin, username, PASSWORD);
    await page.getByText(/Nothing to do yet/).waitFor();
    return username;
  };
  const todoTitles = (page: Page) => page.locator(".todos .title").allTextContents();
  const addTodo = async (page: Page, title: string) => {
    await page.getByLabel("New to-do").fill(title);
    await page.keyboard.press("Enter");
    await page.locator(".todos .title", { hasText: title }).waitFor();
  };
  /** What has the focus, as a test names it: its aria-label, else its id, else "body". */
  const focused = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return "body";
      return el.getAttribute("aria-label") ?? (el.id ? `#${el.id}` : el.tagName.toLowerCase());
    });
  /** The text of what a field's `aria-describedby` points to, and its `aria-invalid`. */
  const described = (page: Page, selector: string) =>
    page.locator(selector).evaluate((field) => ({
      invalid: field.getAttribute("aria-invalid"),
      text: (field.getAttribute("aria-describedby") ?? "")
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent ?? "")
        .join(" "),
    }));
  /** Counts the to-do changes the page sends, to prove one was not sent. */
  const countWrites = (page: Page) => {
    const writes: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/todos") && request.method() !== "GET") writes.push(request.method());
    });
    return writes;
  };

  describe("defect 1: Escape and focus", () => {
    it(
      "Escape while editing a to-do cancels: nothing is saved",
      async () => {
        const { page, errors } = await newDevice();
        await signUp(page);
        await addTodo(page, "keep me");
        const writes = countWrites(page);
        await page.getByRole("button", { name: "Edit: keep me" }).click();
        const editor = page.getByLabel(/Edit the title/);
        await editor.fill("changed by mistake");
        await editor.press("Escape");
        await page.waitForTimeout(500); // a save would have left by now
        expect(writes).toEqual([]);
        expect(await todoTitles(page)).toEqual(["keep me"]);
        await page.reload();
        await page.locator(".todos .title").first().waitFor();
        expect(await todoTitles(page)).toEqual(["keep me"]);
        expect(errors).toEqual([]);
      },
      SLOW,
    );

    it(
      "after an edit is saved with Enter, focus is on the edited to-do",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        await addTodo(page, "first");
        await addTodo(page, "second");
        await page.getByRole("button", { name: "Edit: first" }).click();
        const editor = page.getByLabel(/Edit the title/);
        await editor.fill("first, edited");
        await editor.press("Enter");
        await page.locator(".todos .title", { hasText: "first, edited" }).waitFor();
        await page.waitForTimeout(300); // the server's copy replaces ours
        expect(await focused(page)).toBe("Edit: first, edited");
      },
      SLOW,
    );

    it(
      "after Escape cancels an edit, focus is on the to-do that was being edited",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        await addTodo(page, "first");
        await addTodo(page, "second");
        await page.getByRole("button", { name: "Edit: second" }).click();
        await page.getByLabel(/Edit the title/).press("Escape");
        await page.getByLabel(/Edit the title/).waitFor({ state: "detached" });
        await page.waitForTimeout(300);
        expect(await focused(page)).toBe("Edit: second");
      },
      SLOW,
    );

    it(
      "after a to-do is deleted, focus goes to the next one, else the previous one, else the new to-do field",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        for (const title of ["alpha", "bravo", "charlie"]) await addTodo(page, title);
        await page.waitForTimeout(300); // the adds reach the server before the deletes
        const remove = async (title: string) => {
          await page.getByRole("button", { name: `Delete: ${title}` }).click();
          await page.locator(".todos .title", { hasText: title }).waitFor({ state: "detached" });
          await page.waitForTimeout(200);
          return focused(page);
        };
        expect(await remove("bravo")).toBe("Edit: charlie");
        expect(await remove("charlie")).toBe("Edit: alpha");
        expect(await remove("alpha")).toBe("#new-todo");
      },
      SLOW,
    );

    it(
      'opening "Delete account" focuses its password field; Cancel returns focus to the button that opened it',
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        await page.goto(url("/security"));
        await page.getByRole("button", { name: "Delete account…" }).click();
        await page.locator("#delete-password").waitFor();
        await page.waitForTimeout(100);
        expect(await focused(page)).toBe("#delete-password");
        await page.getByRole("button", { name: "Cancel" }).click();
        await page.locator("#delete-password").waitFor({ state: "detached" });
        await page.waitForTimeout(100);
        await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Delete account…");
      },
      SLOW,
    );

    it(
      "Escape closes the delete-account form and returns focus to its button",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        await page.goto(url("/security"));
        await page.getByRole("button", { name: "Delete account…" }).click();
        await page.locator("#delete-password").fill("half typed");
        await page.locator("#delete-password").press("Escape");
        await page.locator("#delete-password").waitFor({ state: "detached", timeout: 3_000 });
        await page.waitForTimeout(100);
        await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Delete account…");
        // Opened again, it starts empty: a password is not kept behind a closed form.
        await page.getByRole("button", { name: "Delete account…" }).click();
        await expect(page.locator("#delete-password").inputValue()).resolves.toBe("");
      },
      SLOW,
    );

    it(
      "after a failed sign-in by mouse, focus is on the password field or the message, not the page",
      async () => {
        const { page } = await newDevice();
        const username = await signUp(page);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("heading", { name: "Sign in" }).waitFor();
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password", { exact: true }).fill("not the password");
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByText("The username or password is incorrect.").waitFor();
        await page.waitForTimeout(200);
        expect(["#password", "#form-error"]).toContain(await focused(page));
      },
      SLOW,
    );
  });

  describe("defect 5: titles the server would refuse, and a new to-do out of sight", () => {
    it(
      "a title over 500 characters is kept whole and explained on the field, never cut",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        const writes = countWrites(page);
        await page.getByLabel("New to-do").focus();
        // As a paste: the browser enforces a `maxlength` on inserted text.
        await page.keyboard.insertText("x".repeat(520));
        await expect(page.getByLabel("New to-do").inputValue()).resolves.toHaveLength(520);
        await page.keyboard.press("Enter");
        await page.waitForTimeout(300);
        expect(writes).toEqual([]);
        const field = await described(page, "#new-todo");
        expect(field.invalid).toBe("true");
        expect(field.text).toMatch(/500/);
        await expect(page.getByRole("alert").filter({ hasText: /500/ }).count()).resolves.toBe(1);
        expect(await focused(page)).toBe("#new-todo");
        // Shortened to the limit, it is added whole, and the message goes.
        await page.getByLabel("New to-do").fill("y".repeat(500));
        await page.keyboard.press("Enter");
        await page.locator(".todos .title").first().waitFor();
        expect((await todoTitles(page))[0]).toHaveLength(500);
        expect((await described(page, "#new-todo")).invalid).not.toBe("true");
      },
      SLOW,
    );

    it(
      "a title of only spaces is refused with a message on the field",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        const writes = countWrites(page);
        await page.getByLabel("New to-do").fill("    ");
        await page.keyboard.press("Enter");
        await page.waitForTimeout(300);
        expect(writes).toEqual([]);
        const field = await described(page, "#new-todo");
        expect(field.invalid).toBe("true");
        expect(field.text).toMatch(/title/i);
        expect(await focused(page)).toBe("#new-todo");
        // Typing clears the message.
        await page.getByLabel("New to-do").fill("a real one");
        expect((await described(page, "#new-todo")).invalid).not.toBe("true");
      },
      SLOW,
    );

    it(
      "an edit down to spaces is refused with a message, not silently restored",
      async () => {
        const { page } = await newDevice();
        await signUp(page);
        await addTodo(page, "real title");
        const writes = countWrites(page);
        await page.getByRole("button", { name: "Edit: real title" }).click();
        const editor = page.getByLabel(/Edit the title/);
        await editor.fill("   ");
        await editor.press("Enter");
        await page.waitForTimeout(300);
        // The editor stays open, says why, and keeps the focus.
        await expect(editor.count()).resolves.toBe(1);
        const field = await described(page, ".todos .edit");
        expect(field.invalid).toBe("true");
        expect(field.text).toMatch(/title/i);
        expect(await focused(page)).toMatch(/^Edit the title/);
        // Left by a click elsewhere, the refusal is said too, and the old title kept.
        await page.getByRole("heading", { name: "To-dos" }).click();
        await page
          .getByRole("alert")
          .filter({ hasText: /real title/ })
          .waitFor();
        expect(writes).toEqual([]);
        expect(await todoTitles(page)).toEqual(["real title"]);
      },
      SLOW,
    );

    it(
      "with a long list, a new to-do is scrolled into view and announced",
      async () => {
        const { page } = await newDevice({ width: 1280, height: 600 });
        await signUp(page);
        for (let i = 1; i <= 14; i++) await addTodo(page, `chore ${i}`);
        await page.getByLabel("New to-do").fill("the newest one");
        await page.keyboard.press("Enter");
        const row = page.locator(".todos li", { hasText: "the newest one" });
        await row.waitFor();
        await page.waitForTimeout(500); // a smooth scroll ends
        const box = await row.evaluate((li) => {
          const rect = li.getBoundingClientRect();
          return { top: rect.top, bottom: rect.bottom, height: window.innerHeight };
        });
        expect(box.top, JSON.stringify(box)).toBeGreaterThanOrEqual(0);
        expect(box.bottom, JSON.stringify(box)).toBeLessThanOrEqual(box.height);
        const announced = await page
          .locator('[role="status"], [aria-live="polite"], [aria-live="assertive"]')
          .allTextContents();
        expect(announced.join(" | ")).toMatch(/the newest one/);
      },
      SLOW,
    );
  });
});
