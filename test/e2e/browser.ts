/**
 * Debian's Chromium driven by playwright-core, with the flags this closed network needs.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;

/** Where screenshots go: a test artefact, not committed (docs/img holds the chosen few). */
export const SCREENSHOTS = join(process.cwd(), "test-results", "screenshots");

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Collects what would show a broken page: script errors and CSP violations. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(text)) errors.push(text);
  });
  return errors;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it stands, one line each, named `name`. */
export async function seriousAxeViolations(page: Page, name: string): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(() =>
    (window as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe.run({
      resultTypes: ["violations"],
    }),
  )) as { violations: Array<{ id: string; impact: string; help: string }> };
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  return serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}`);
}

/** Signs `username` up through the web app's form at `origin` and waits for the to-dos page. */
export async function signUpInPage(page: Page, origin: string, username: string, password: string): Promise<void> {
  await page.goto(`${origin}/signup`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/todos");
}

/** A virtual authenticator on one page (Chromium's DevTools protocol): a passkey provider with no person to ask. */
export interface VirtualAuthenticator {
  /** Whether it verifies the user (its "fingerprint"): `false` makes the browser refuse the ceremony. */
  setUserVerified(verified: boolean): Promise<void>;
  /** The passkeys it holds (for this page's sites). */
  credentialCount(): Promise<number>;
}

/**
 * Adds a platform authenticator that holds discoverable passkeys and verifies the user at
 * once, to `page`: `navigator.credentials` then works without a dialog.
 *
 * @example
 * const authenticator = await addVirtualAuthenticator(page);
 * await authenticator.setUserVerified(false); // the next ceremony is refused, as a cancelled one
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async setUserVerified(verified) {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: verified });
    },
    async credentialCount() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length;
    },
  };
}
