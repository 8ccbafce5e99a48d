/// <reference lib="dom" />
/**
 * Issue 31, the web app's side, in a real Chromium against a real server that mails
 * through a real SMTP server on 127.0.0.1: sign up with an address, confirm it from the
 * mailed link, sign out, "Forgot your password?", open the mailed reset link (its token
 * leaves the address bar before any request, and is in no request's URL or Referer), a
 * weak password refused with the link still usable, a new password set: the old one is
 * refused, the new one works, and the same link opened again says it was used. The email
 * card changes the address. Each new page axe-clean in light and dark, phone and desktop.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import { linkIn, startSmtp, type TestSmtp } from "../helpers/smtp.js";
import { launchChromium, screenshot, seriousAxeViolations, VIEWPORTS, watchErrors } from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a fresh passphrase for spring";
const SLOW = 120_000;

describeWith("Chromium", CHROMIUM !== null)("password reset and email confirmation (issue 31), in Chromium", () => {
  let dir: string;
  let smtp: TestSmtp;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-reset-"));
    smtp = await startSmtp();
    server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "reset.db")}`,
      AUTH_STRATEGY: "session",
      SMTP_URL: smtp.url,
    });
    browser = await launchChromium(CHROMIUM as string);
  }, SLOW);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  const url = (path: string) => `${server.origin}${path}`;
  const newDevice = async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    // Every request the page makes, with its Referer: a link's token must be in none.
    const sent: string[] = [];
    page.on("request", (request) => sent.push(`${request.url()} ${request.headers().referer ?? ""}`));
    return { page, errors: watchErrors(page), sent };
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
        await screenshot(page, `reset-${name}-${theme}-${size}`);
      }
    }
    await page.setViewportSize(VIEWPORTS.desktop);
  };
  /** The text of the element that has the focus (`BODY` when nothing has it). */
  const focusedText = (page: Page) =>
    page.evaluate(() => {
      const element = document.activeElement;
      return !element || element === document.body ? "BODY" : (element.textContent ?? "").trim();
    });
  const signIn = async (page: Page, username: string, password: string) => {
    await page.goto(url("/signin"));
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
  };

  it(
    "sign up with an address, confirm it, forget the password, reset it from the mailed link; the link works once",
    async () => {
      const username = `rs${process.pid % 1000}a`;
      const email = `${username}@example.com`;
      const { page, errors, sent } = await newDevice();

      // Sign-up with the optional address: the banner says where the link went.
      await page.goto(url("/signup"));
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Email address (optional)").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await axeEverywhere(page, "signup-email");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL("**/todos");
      await page.getByText(`Confirm your address: we sent a link to ${email}.`).waitFor();
      await axeEverywhere(page, "banner");

      // The confirmation link, opened from the mail: confirmed at once, the token gone.
      const verifyMail = await smtp.next(email);
      const verifyToken = linkIn(verifyMail, "/verify-email");
      expect(verifyMail.text).toContain(url(`/verify-email#token=${verifyToken}`));
      await page.goto(url(`/verify-email#token=${verifyToken}`));
      await page.getByText(`Your address ${email} is confirmed.`).waitFor();
      expect(page.url()).not.toContain(verifyToken);
      await axeEverywhere(page, "verified");
      // A link opened in a tab already on its page changes only the fragment (no page
      // load): it is read, and the address bar cleared, all the same.
      await page.goto(url("/verify-email"));
      await page.getByText("This page needs the link from the mail.").waitFor();
      await page.evaluate((token) => {
        location.hash = `token=${token}`;
      }, verifyToken);
      await page.getByText("This link has already been used.").waitFor();
      expect(page.url()).not.toContain(verifyToken);
      await page.goto(url("/todos"));
      await page.getByRole("heading", { level: 1, name: "To-dos" }).waitFor();
      expect(await page.getByText("Confirm your address").count()).toBe(0);

      // Signed out, "Forgot your password?": the same neutral answer for any address.
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      // By keyboard: the link comes right after the password, with a visible focus.
      await page.getByLabel("Password", { exact: true }).focus();
      await page.keyboard.press("Tab");
      expect(
        await page.evaluate(() => {
          const element = document.activeElement as HTMLElement;
          return { text: element.textContent, outline: getComputedStyle(element).outlineStyle };
        }),
      ).toEqual({ text: "Forgot your password?", outline: "solid" });
      await page.keyboard.press("Enter");
      await page.waitForURL("**/forgot-password");
      await page.getByRole("heading", { level: 1, name: "Forgot your password?" }).waitFor();
      // The link's page went with the link: the new page's title has the focus, not the body.
      await expect.poll(() => focusedText(page)).toBe("Forgot your password?");
      await axeEverywhere(page, "forgot");
      await page.getByLabel("Email address").fill("not an address");
      await page.getByRole("button", { name: "Send the link" }).click();
      await page.locator("#email-error").waitFor();
      await page.getByLabel("Email address").fill(email);
      await page.getByLabel("Email address").press("Enter");
      await page
        .getByText("If an account has this address, we've sent a link to it. It works for 30 minutes.")
        .waitFor();
      // The answer replaced the form: it has the focus, where the button was.
      await expect.poll(() => focusedText(page)).toMatch(/^If an account has this address/);
      await axeEverywhere(page, "forgot-sent");

      // The reset link: the token leaves the address bar before any request.
      const resetMail = await smtp.next(email);
      const resetToken = linkIn(resetMail, "/reset-password");
      const before = sent.length;
      await page.goto(url(`/reset-password#token=${resetToken}`));
      await page.getByRole("heading", { level: 1, name: "Choose a new password" }).waitFor();
      expect(page.url()).toBe(url("/reset-password"));
      expect(sent.slice(before).filter((line) => line.includes(resetToken))).toEqual([]);
      await axeEverywhere(page, "reset-form");

      // A refused password keeps the form, and the link.
      await page.getByLabel("New password", { exact: true }).fill(`${username}${username}`);
      await page.getByLabel("New password, again").fill(`${username}${username}`);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.locator("#new-password-error").waitFor();
      await axeEverywhere(page, "reset-weak");
      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel("New password, again").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("Your password is changed and every device is signed out.").waitFor();
      await expect.poll(() => focusedText(page)).toMatch(/^Your password is changed/);
      // One way on, the page's own: the answer does not repeat the sign-in link.
      expect(await page.getByRole("link", { name: /sign in/i }).count()).toBe(1);
      await axeEverywhere(page, "reset-done");

      // The old password is refused, the new one works.
      await signIn(page, username, PASSWORD);
      await page.getByText("The username or password is incorrect.").waitFor();
      await signIn(page, username, NEW_PASSWORD);
      await page.waitForURL("**/todos");

      // The same link again (signed in now: the page works either way): nothing can check a link
      // without using it, so the refusal comes with the new password, and leads to a new link.
      await page.goto(url(`/reset-password#token=${resetToken}`));
      await page.getByRole("heading", { level: 1, name: "Choose a new password" }).waitFor();
      expect(page.url()).toBe(url("/reset-password"));
      await page.getByLabel("New password", { exact: true }).fill(`${NEW_PASSWORD} again`);
      await page.getByLabel("New password, again").fill(`${NEW_PASSWORD} again`);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("This link has already been used.").waitFor();
      await page.getByRole("link", { name: "Ask for a new reset link" }).waitFor();
      await expect.poll(() => focusedText(page)).toMatch(/^This link has already been used/);
      await axeEverywhere(page, "reset-used");

      // Without a token (a reload), the pages say to open the mail's link again.
      await page.goto(url("/revert-email"));
      await page.getByText("This page needs the link from the mail.").waitFor();
      await axeEverywhere(page, "revert-no-token");

      // The email card: the address, confirmed; a change waits for the new address's link.
      await page.goto(url("/security"));
      const card = page.getByRole("region", { name: "Email address" });
      await card.getByText(email).waitFor();
      await card.getByText("Confirmed").waitFor();
      await card.getByLabel("New email address").fill(`${username}.new@example.com`);
      await card.getByLabel("Your password, to confirm").fill("not the password");
      await card.getByRole("button", { name: "Change address" }).click();
      await page.locator("#email-password-error").waitFor();
      await card.getByLabel("Your password, to confirm").fill(NEW_PASSWORD);
      await card.getByRole("button", { name: "Change address" }).click();
      await card
        .getByText(`We sent a link to ${username}.new@example.com; your address changes when you open it.`)
        .waitFor();
      // The security log on the same page shows the request at once.
      await page.locator(".timeline").getByText("Email address change requested").waitFor();
      await axeEverywhere(page, "email-card");

      // The old address's notice undoes the change, on a button press: every session ends.
      const notice = await smtp.next(email);
      const revertToken = linkIn(notice, "/revert-email");
      await page.goto(url(`/revert-email#token=${revertToken}`));
      await page.getByRole("heading", { level: 1, name: "Undo the address change" }).waitFor();
      expect(page.url()).toBe(url("/revert-email"));
      await axeEverywhere(page, "revert");
      await page.getByRole("button", { name: "Undo the change and sign everyone out" }).click();
      await page.getByText(`Your address is ${email} again, and every device is signed out.`).waitFor();
      await expect.poll(() => focusedText(page)).toMatch(/^Your address is .* again/);
      // This browser's session ended with the others: the page stays, now signed out.
      await page.getByRole("link", { name: "Back to sign in" }).waitFor();
      await axeEverywhere(page, "reverted");
      linkIn(await smtp.next(email), "/reset-password");

      expect(errors).toEqual([]);
    },
    SLOW,
  );

  it(
    "with REQUIRE_VERIFIED_EMAIL, a sign-in refused email_unverified says so and sends the link again",
    async () => {
      const strict = await startServerProcess({
        DATABASE_URL: `sqlite:${join(dir, "strict.db")}`,
        AUTH_STRATEGY: "session",
        SMTP_URL: smtp.url,
        REQUIRE_VERIFIED_EMAIL: "true",
      });
      try {
        const home = strict.origin;
        const username = `rs${process.pid % 1000}b`;
        const email = `${username}@example.com`;
        const { page, errors } = await newDevice();

        // Sign-up: the address is asked for, not optional (the server's /auth/info says so);
        // the account is made, and the sign-in that follows is refused until confirmed.
        await page.goto(`${home}/signup`);
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Email address", { exact: true }).fill(email);
        expect(await page.getByLabel("Email address", { exact: true }).getAttribute("required")).not.toBeNull();
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Create account" }).click();
        await page.getByText("Your account is created. Confirm your address to sign in.").waitFor();
        await page.waitForURL("**/signin");
        await smtp.next(email);
        await page.getByRole("button", { name: "Send the link again" }).click();
        await page.getByText(`We sent a new link to ${email}.`).waitFor();
        await axeEverywhere(page, "unverified-signup");

        // A later sign-in: the page cannot know the address, so the person types it.
        await page.goto(`${home}/signin`);
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByText("Confirm your email address to sign in.").waitFor();
        await page.getByLabel("Your email address").fill(email);
        await page.getByRole("button", { name: "Send the link again" }).click();
        await page
          .getByText(`If an account with an unconfirmed address has ${email}, we've sent a new link to it.`)
          .waitFor();
        await axeEverywhere(page, "unverified-signin");

        // The newest link confirms the address; the sign-in then works.
        await smtp.next(email);
        const token = linkIn(await smtp.next(email), "/verify-email");
        await page.goto(`${home}/verify-email?token=${token}`);
        await page.getByText(`Your address ${email} is confirmed.`).waitFor();
        expect(page.url()).toBe(`${home}/verify-email`);
        await page.goto(`${home}/signin`);
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.waitForURL("**/todos");
        expect(errors).toEqual([]);
      } finally {
        await strict.stop();
      }
    },
    SLOW,
  );

  // The other strategies: the reset opened from the mailed link in one browser signs the
  // person's other browser out, and that browser says why, whatever holds its session.
  for (const strategy of ["jwt", "hybrid"] as const) {
    it(
      `under ${strategy}: a reset from the mailed link in one browser signs the other out, saying why`,
      async () => {
        const other = await startServerProcess({
          DATABASE_URL: `sqlite:${join(dir, `reset-${strategy}.db`)}`,
          AUTH_STRATEGY: strategy,
          SMTP_URL: smtp.url,
        });
        try {
          const home = other.origin;
          const username = `rs${process.pid % 1000}${strategy}`;
          const email = `${username}@example.com`;
          const post = (path: string, body: unknown) =>
            fetch(`${home}${path}`, {
              method: "POST",
              headers: { "content-type": "application/json", origin: home },
              body: JSON.stringify(body),
            });
          expect((await post("/auth/register", { username, password: PASSWORD, email })).status).toBe(201);
          await smtp.next(email);

          // The person's laptop, signed in.
          const laptop = await newDevice();
          await laptop.page.goto(`${home}/signin`);
          await laptop.page.getByLabel("Username").fill(username);
          await laptop.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
          await laptop.page.getByRole("button", { name: "Sign in", exact: true }).click();
          await laptop.page.waitForURL("**/todos");

          // On the phone: forgot, then the mailed link.
          expect((await post("/auth/password/forgot", { email })).status).toBe(202);
          const token = linkIn(await smtp.next(email), "/reset-password");
          const phone = await newDevice();
          await phone.page.goto(`${home}/reset-password#token=${token}`);
          await phone.page.getByRole("heading", { level: 1, name: "Choose a new password" }).waitFor();
          expect(phone.page.url()).toBe(`${home}/reset-password`);
          await phone.page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
          await phone.page.getByLabel("New password, again").fill(NEW_PASSWORD);
          await phone.page.getByRole("button", { name: "Change password" }).click();
          await phone.page.getByText("Your password is changed and every device is signed out.").waitFor();

          // The laptop, used again: signed out, told why.
          await laptop.page.reload();
          await laptop.page.getByText("Your password was reset.").waitFor();
          // A reload forgets who was signed in: the person types the name again.
          await laptop.page.getByLabel("Username").fill(username);
          await laptop.page.getByLabel("Password", { exact: true }).fill(NEW_PASSWORD);
          await laptop.page.getByRole("button", { name: "Sign in", exact: true }).click();
          await laptop.page.waitForURL("**/todos");
          expect(laptop.errors).toEqual([]);
          expect(phone.errors).toEqual([]);
        } finally {
          await other.stop();
        }
      },
      SLOW,
    );
  }
});
