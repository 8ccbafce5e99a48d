/**
 * The insecure lab: what the tutorials' insecure versions give away, shown with a FAKE
 * token and never a real credential.
 *
 * 1. A token in `localStorage`: the page keeps a fake one under its own key while it is
 *    open (removed when the page is left, the tab hidden for good or closed), and a
 *    simulated injected script reads it, and reads `document.cookie`, where the HttpOnly
 *    session and access cookies never appear.
 * 2. A token in a URL: a sandboxed frame (no script, no form, no popup) opens a server page
 *    whose address carries the fake token, and follows a link to a "third-party" page that
 *    shows the `Referer` it received, under the `Referrer-Policy` chosen here.
 *
 * Nothing here weakens the app: the script is this bundle's own code (the CSP allows no
 * other), and the framed pages have their own, stricter CSP (packages/server/src/app/lab.ts).
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { Policy } from "../api.js";

/** The lab's own `localStorage` key: nothing else of the app uses it. */
export const LAB_STORAGE_KEY = "latchkey-lab-fake-token";

const POLICIES = [
  {
    value: "unsafe-url",
    label: "unsafe-url",
    hint: "The full address goes to every site. Browsers sent it to every https site by default until 2020 in Chrome, 2021 in Firefox (no-referrer-when-downgrade).",
  },
  {
    value: "strict-origin-when-cross-origin",
    label: "strict-origin-when-cross-origin",
    hint: "Today's browser default when a page sends no policy: the full address to its own origin, only the origin to other sites. This lab's “third party” shares the app's origin, so it gets the full address.",
  },
  {
    value: "no-referrer",
    label: "no-referrer (what latchkey sends)",
    hint: "No Referer at all. latchkey sends this on every answer (packages/server/src/app/security-headers.ts).",
  },
] as const;
type ReferrerChoice = (typeof POLICIES)[number]["value"];

/** The HttpOnly cookies a browser holds under each strategy, by base name. */
const HTTP_ONLY: Record<Policy["strategy"], string[]> = {
  session: ["sid", "device"],
  jwt: ["at", "rt", "device"],
  hybrid: ["at", "sid", "device"],
};

/** A visibly fake token: `FAKE-` and 16 random letters and digits. */
function fakeToken(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `FAKE-${Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("")}`;
}

export function Lab(props: { policy: Policy }) {
  const token = useMemo(fakeToken, []);
  useFakeTokenInStorage(token);
  return (
    <div class="lab">
      <section class="card" aria-labelledby="lab-intro">
        <h2 id="lab-intro">The insecure versions, safely</h2>
        <p>
          Many tutorials keep a token in <code>localStorage</code> or put it in a URL. This lab shows what that gives
          away, with a fake token made for this page: <code>{token}</code>. It opens nothing, and it is removed when you
          leave the page.
        </p>
      </section>
      <InjectedScript token={token} strategy={props.policy.strategy} />
      <TokenInUrl token={token} />
    </div>
  );
}

/** Keeps `token` under the lab's key while the page is open; removes it when it is left. */
function useFakeTokenInStorage(token: string): void {
  useEffect(() => {
    const remove = () => localStorage.removeItem(LAB_STORAGE_KEY);
    localStorage.setItem(LAB_STORAGE_KEY, token);
    // Leaving within the app unmounts the page; closing or reloading the tab fires pagehide.
    addEventListener("pagehide", remove);
    return () => {
      removeEventListener("pagehide", remove);
      remove();
    };
  }, [token]);
}

interface Loot {
  stored: string | null;
  storageKeys: string[];
  cookies: Array<{ name: string; length: number }>;
  missing: string[];
}

/** What a script injected into this page can read: run on demand, here, in the app's origin. */
function steal(strategy: Policy["strategy"]): Loot {
  const cookies = document.cookie
    .split(";")
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      return { name: at < 0 ? pair : pair.slice(0, at), length: at < 0 ? 0 : pair.length - at - 1 };
    });
  // With COOKIE_SECURE=false the names have no `__Host-` prefix: follow what the readable cookie shows.
  const prefix = cookies.some((cookie) => cookie.name.startsWith("__Host-")) ? "__Host-" : "";
  const names = new Set(cookies.map((cookie) => cookie.name));
  return {
    stored: localStorage.getItem(LAB_STORAGE_KEY),
    storageKeys: Object.keys(localStorage).sort(),
    cookies,
    missing: HTTP_ONLY[strategy].map((name) => `${prefix}${name}`).filter((name) => !names.has(name)),
  };
}

function InjectedScript(props: { token: string; strategy: Policy["strategy"] }) {
  const [loot, setLoot] = useState<Loot | null>(null);
  return (
    <section class="card" aria-labelledby="lab-storage">
      <p class="eyebrow">1 · a token in localStorage, a session in an HttpOnly cookie</p>
      <h2 id="lab-storage">What an injected script can read</h2>
      <p>
        The tutorials' version: after sign-in, <code>localStorage.setItem("token", token)</code>, and every request
        reads it back. This page has done the same with its fake token. Now suppose an attacker got a script into the
        page (a malicious package, an unescaped comment). The button runs what that script would:
      </p>
      <pre>{`localStorage.getItem("${LAB_STORAGE_KEY}")\ndocument.cookie`}</pre>
      <div class="actions">
        <button type="button" class="primary" onClick={() => setLoot(steal(props.strategy))}>
          Run the injected script
        </button>
      </div>
      <div aria-live="polite">
        {loot ? (
          <div class="lab-result">
            <h3>It read from localStorage</h3>
            <p>
              <code class="lab-stolen">{loot.stored ?? "(nothing)"}</code>
            </p>
            <p>
              Every key this origin keeps there:{" "}
              {loot.storageKeys.map((key, i) => (
                <span key={key}>
                  {i > 0 ? ", " : ""}
                  <code>{key}</code>
                </span>
              ))}
              . A script can send the token anywhere, and it keeps working from there until it expires.
            </p>
            <h3>It read from document.cookie</h3>
            <ul class="lab-cookies">
              {loot.cookies.length === 0 ? <li>(nothing)</li> : null}
              {loot.cookies.map((cookie) => (
                <li key={cookie.name}>
                  <code>{cookie.name}</code> ({cookie.length} characters, value not shown here)
                </li>
              ))}
            </ul>
            <p>
              Not there:{" "}
              {loot.missing.map((name, i) => (
                <span key={name}>
                  {i > 0 ? ", " : ""}
                  <code>{name}</code>
                </span>
              ))}
              . You are signed in, so your browser holds {loot.missing.length > 1 ? "them" : "it"} and sends{" "}
              {loot.missing.length > 1 ? "them" : "it"} with every request to this server, but{" "}
              {loot.missing.length > 1 ? "they are" : "it is"} <strong>HttpOnly</strong>: no script can read{" "}
              {loot.missing.length > 1 ? "them" : "it"}, so none can carry {loot.missing.length > 1 ? "them" : "it"}{" "}
              away.
            </p>
            <p>
              The readable one is the CSRF cookie, made to be read: the app copies it into the <code>X-CSRF-Token</code>{" "}
              header of its writes, and it is worth nothing without the session cookie. What HttpOnly does not stop:
              while the injected script runs, its requests carry the cookies too, so it can act as you in this tab. It
              cannot keep your session after the tab is closed, as a stolen token lets it.
            </p>
          </div>
        ) : null}
      </div>
    </section>
  );
}

function TokenInUrl(props: { token: string }) {
  const [policy, setPolicy] = useState<ReferrerChoice>("unsafe-url");
  const [entries, setEntries] = useState(history.length);
  const chosen = POLICIES.find((p) => p.value === policy) ?? POLICIES[0];
  const src = `/lab/leaky?policy=${encodeURIComponent(policy)}&token=${encodeURIComponent(props.token)}`;
  return (
    <section class="card" aria-labelledby="lab-url">
      <p class="eyebrow">2 · a token in a URL</p>
      <h2 id="lab-url">What an address with a token gives away</h2>
      <p>
        The tutorials' version: a link such as <code>/reset?token=…</code>, or a token handed over in the address after
        sign-in. The frame below opens such an address, with the fake token, on a page of this server. Follow its link
        to a “third-party” page, which shows the <code>Referer</code> header your browser sent it.
      </p>
      <fieldset class="lab-policies">
        <legend>Referrer-Policy of the page with the token</legend>
        {POLICIES.map((option) => (
          <label class="check" key={option.value}>
            <input
              type="radio"
              name="lab-policy"
              value={option.value}
              checked={policy === option.value}
              onChange={() => setPolicy(option.value)}
            />
            <code>{option.label}</code>
          </label>
        ))}
        <p class="hint">{chosen.hint}</p>
      </fieldset>
      {/* A new frame for each policy (keyed), so changing it adds no history entry. Sandboxed:
          no script (the framed pages have none, and their CSP allows none), no form, no popup,
          no navigating this page. It keeps its origin: a document with an opaque origin sends
          no Referer at all, whatever its policy, and the lab would show nothing. */}
      <iframe
        key={policy}
        class="lab-frame"
        title="Lab: a page with a fake token in its address"
        sandbox="allow-same-origin"
        src={src}
        onLoad={() => setEntries(history.length)}
      />
      <p aria-live="polite">
        Entries in this tab's history: <strong>{entries}</strong>. Following the link in the frame adds one: the
        browser's Back button returns to the address with the token, which stays in the history (and in the server's and
        any proxy's access logs) after the page is gone.
      </p>
      <p class="muted">
        This is why latchkey never puts a token in an address, and sends <code>Referrer-Policy: no-referrer</code> on
        every answer: even a page of it opened with a token in its address would not pass that address on. The policy
        cannot clean the history or the logs: only keeping tokens out of addresses does.
      </p>
    </section>
  );
}
