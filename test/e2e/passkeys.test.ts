/// <reference lib="dom" />
/**
 * Passkeys (issue 32) in the web app, in a real Chromium against a real server, under each
 * strategy, with Chromium's virtual authenticator (the DevTools protocol) in the place of a
 * phone or a security key: a person adds a passkey on the Security page (the recovery codes
 * shown once, as it is the account's first second factor), renames it, signs in with it
 * alone (no username, no password, "Remember me" kept), with the password and the passkey
 * as the second step, and later, outside `REAUTH_WINDOW`, removes it after confirming with
 * the passkey. Then, once: the Security page with a passkey listed and the sign-in page are
 * axe-clean, a refused ceremony ("cancelled") or a refused passkey is said on the page and
 * breaks nothing, and with an authenticator app too the code step offers "Use a passkey".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { chromiumPath, describeWith } from "../helpers/services.js";
import {
  addVirtualAuthenticator,
  launchChromium,
  screenshot,
  seriousAxeViolations,
  signUpInPage,
  VIEWPORTS,
  watchErrors,
} from "./browser.js";

const CHROMIUM = chromiumPath();
const PASSWORD = "correct horse battery staple";
/** The servers' `REAUTH_WINDOW`, in seconds: removing a passkey needs a sign-in this recent. */
const WINDOW = 5;
const STRATEGIES = ["session", "jwt", "hybrid"] as const;

describeWith("Chromium", CHROMIUM !== null)("passkeys in Chromium", () => {
  let dir: string;
  let browser: Browser;
  // One server per strategy, started together; one browser for them all.
  const servers = new Map<string, RunningServer>();
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-passkeys-e2e-"));
    const started = STRATEGIES.map(async (strategy) => {
      const server = await startServerProcess({
        DATABASE_URL: `sqlite:${join(dir, `${strategy}.db`)}`,
        AUTH_STRATEGY: strategy,
        REAUTH_WINDOW: String(WINDOW),
      });
      servers.set(strategy, server);
    });
    const [launched] = await Promise.all([launchChromium(CHROMIUM as string), ...started]);
    browser = launched;
  }, 60_000);
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
  });
  afterAll(async () => {
    await browser?.close();
    for (const server of servers.values()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new browser profile's page, with its own authenticator. */
  const open = async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    contexts.push(context);
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const authenticator = await addVirtualAuthenticator(page);
    return { page, context, authenticator, errors: watchErrors(page) };
  };
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);
  const card = (page: Page) => page.locator("section.passkeys");
  const prompt = (page: Page) => page.getByRole("dialog", { name: "Confirm it's you" });
  const signOut = async (page: Page) => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  };
  /** Adds a passkey named `name` on the Security page (the page open), past a prompt if one comes. */
  const addPasskey = async (page: Page, name: string) => {
    await card(page).getByLabel("Name").fill(name);
    await card(page).getByRole("button", { name: "Add a passkey" }).click();
    await page.locator("section.passkeys .recovery, section.passkeys .alert, dialog[open]").first().waitFor();
    if (await prompt(page).isVisible()) {
      // The sign-up's sign-in was no longer recent (a loaded machine): the password confirms it.
      await prompt(page).getByLabel("Password").fill(PASSWORD);
      await prompt(page).getByRole("button", { name: "Confirm" }).click();
    }
  };
  /** axe in both themes, none serious or critical. */
  const axeClean = async (page: Page, name: string) => {
    for (const theme of ["light", "dark"] as const) {
      await page.evaluate((t) => {
        document.documentElement.dataset.theme = t;
      }, theme);
      expect(await seriousAxeViolations(page, `${name} ${theme}`)).toEqual([]);
      await screenshot(page, `passkeys-${name}-${theme}`);
    }
  };

  for (const strategy of STRATEGIES) {
    describe(`AUTH_STRATEGY=${strategy}`, () => {
      it("adds a passkey, signs in with it alone and as the second step, and removes it with a passkey re-authentication", async () => {
        const server = servers.get(strategy) as RunningServer;
        const { page, context, authenticator, errors } = await open();
        const username = `pk${process.pid % 1000}${strategy[0]}`;
        await signUpInPage(page, server.origin, username, PASSWORD);
        await page.goto(`${server.origin}/security`);
        await card(page).getByText("No passkeys yet.").waitFor();

        // Added: the account's first second factor, so the recovery codes come, once.
        await addPasskey(page, "Laptop");
        await card(page).getByRole("heading", { name: "Save your recovery codes" }).waitFor();
        await expect.poll(() => focusedId(page)).toBe("recovery-heading");
        expect(await card(page).locator(".recovery-codes code").count()).toBe(10);
        expect(await authenticator.credentialCount()).toBe(1);
        await card(page).getByLabel("I have saved these codes").check();
        await card(page).getByRole("button", { name: "Done" }).click();
        await card(page).getByText("Passkey “Laptop” added", { exact: false }).waitFor();
        const item = card(page).getByRole("listitem", { name: "Laptop" });
        await item.getByText("Not yet").waitFor();

        // Renamed in place; the focus goes back to "Rename".
        await item.getByRole("button", { name: "Rename Laptop" }).click();
        await expect.poll(() => focusedId(page)).toMatch(/-rename$/);
        await card(page).getByLabel("New name for “Laptop”").fill("Work laptop");
        await card(page).getByRole("button", { name: "Save name" }).click();
        await card(page).getByText("Renamed to “Work laptop”.").waitFor();
        const renamed = card(page).getByRole("listitem", { name: "Work laptop" });
        await renamed.waitFor();

        // The passkey alone: no username, no password; "Remember me" as for a password.
        await signOut(page);
        await page.getByLabel("Remember me on this device").check();
        await page.getByRole("button", { name: "Sign in with a passkey" }).click();
        await page.waitForURL("**/todos");
        await page.getByRole("button", { name: "Sign out" }).waitFor();
        const cookies = await context.cookies();
        const lasting = cookies.filter((c) => c.httpOnly && c.expires > Date.now() / 1000 + 3600);
        expect(lasting.length, JSON.stringify(cookies.map((c) => [c.name, c.expires]))).toBeGreaterThan(0);
        await page.goto(`${server.origin}/security`);
        await renamed.getByText("Last used").waitFor();
        expect(await renamed.getByText("Not yet").count()).toBe(0);

        // The password, then the passkey as the second step (it leads: there is no app).
        await signOut(page);
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
        const usePasskey = page.getByRole("button", { name: "Use a passkey" });
        await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Use a passkey");
        await page.getByRole("button", { name: "Use a recovery code instead" }).waitFor();
        await usePasskey.click();
        await page.waitForURL("**/todos");

        // Outside the window, removing asks "Confirm it's you": the passkey answers it.
        await page.goto(`${server.origin}/security`);
        await renamed.waitFor();
        await page.waitForTimeout(WINDOW * 1000 + 600);
        await renamed.getByRole("button", { name: "Remove Work laptop" }).click();
        await page
          .getByRole("dialog", { name: "Remove the passkey “Work laptop”?" })
          .getByRole("button", { name: "Remove passkey" })
          .click();
        await prompt(page).waitFor();
        await prompt(page).getByText("Use your passkey, or enter your password").waitFor();
        await prompt(page).getByRole("button", { name: "Use a passkey" }).click();
        await prompt(page).waitFor({ state: "detached" });
        await card(page).getByText("Passkey “Work laptop” removed.").waitFor();
        await card(page).getByText("No passkeys yet.").waitFor();

        // No second factor left: the password alone signs in again.
        await signOut(page);
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.waitForURL("**/todos");
        await page.goto(`${server.origin}/security`);
        const log = page.locator(".timeline");
        await log.getByText("Passkey removed").first().waitFor();
        await log.getByText("Passkey added", { exact: false }).first().waitFor();
        expect(errors).toEqual([]);
      }, 120_000);
    });
  }

  it("is axe-clean with a passkey listed and on the sign-in page; a cancelled or refused ceremony is said and breaks nothing", async () => {
    const server = servers.get("session") as RunningServer;
    const { page, authenticator, errors } = await open();
    const username = `pkx${process.pid % 1000}`;
    await signUpInPage(page, server.origin, username, PASSWORD);
    await page.goto(`${server.origin}/security`);
    await card(page).getByText("No passkeys yet.").waitFor();

    // The authenticator refuses (the person cancelled, or failed the fingerprint): said
    // quietly, nothing added, and the button works again.
    await authenticator.setUserVerified(false);
    await card(page).getByRole("button", { name: "Add a passkey" }).click();
    await card(page)
      .getByText(/^Cancelled: no passkey was used/)
      .waitFor();
    expect(await authenticator.credentialCount()).toBe(0);
    await authenticator.setUserVerified(true);
    await addPasskey(page, "Phone");
    await card(page).getByLabel("I have saved these codes").check();
    await card(page).getByRole("button", { name: "Done" }).click();
    await card(page).getByRole("listitem", { name: "Phone" }).waitFor();
    await axeClean(page, "security");

    // An authenticator app too (confirming with the passkey should the sign-up's sign-in
    // be stale by now): the recovery codes are the passkey's, none new.
    const twoStep = page.locator("section.two-step");
    await twoStep.getByRole("button", { name: "Set up an authenticator app" }).click();
    await page.locator("#totp-secret, dialog[open]").first().waitFor();
    if (await prompt(page).isVisible()) await prompt(page).getByRole("button", { name: "Use a passkey" }).click();
    const secret = ((await page.locator("#totp-secret").textContent()) ?? "").replace(/\s/g, "");
    await twoStep
      .getByLabel("Enter the 6-digit code the app shows")
      .fill(totpCode(totpKey(secret), totpStep(Date.now())));
    await twoStep.getByRole("button", { name: "Turn on" }).click();
    await twoStep.getByText("Two-step verification is on.").waitFor();

    await signOut(page);
    await axeClean(page, "sign-in");
    // Cancelled at the sign-in: said on the page; the password form still signs in.
    await authenticator.setUserVerified(false);
    const button = page.getByRole("button", { name: "Sign in with a passkey" });
    await button.click();
    await page
      .getByRole("alert")
      .filter({ hasText: /^Cancelled: no passkey was used/ })
      .waitFor();
    await authenticator.setUserVerified(true);
    // A passkey the server refuses: its message, on the page.
    const refusal = "The passkey was not accepted.";
    await page.route("**/auth/login/passkey", (route) =>
      route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "invalid_passkey", message: refusal } }),
      }),
    );
    await button.click();
    await page.getByRole("alert").filter({ hasText: refusal }).waitFor();
    await page.unroute("**/auth/login/passkey");
    // The code step, with "Use a passkey" under the code field; cancelled, it is said
    // there, and the passkey then finishes the sign-in.
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
    await expect.poll(() => focusedId(page)).toBe("sign-in-code");
    await page.getByRole("button", { name: "Use a recovery code instead" }).waitFor();
    await axeClean(page, "second-step");
    await authenticator.setUserVerified(false);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /^Cancelled: no passkey was used/ })
      .waitFor();
    await authenticator.setUserVerified(true);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await page.waitForURL("**/todos");
    expect(errors).toEqual([]);
  }, 120_000);
});
