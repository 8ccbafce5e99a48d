import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { latchkey, type Me, type Policy } from "../api.js";
import { dropDraft } from "../drafts.js";
import { reloadEmail } from "../email.js";
import { ADMIN_PERMISSION } from "../pages/admin/page.js";
import { navigate } from "../router.js";
import { currentTheme, setTheme } from "../theme.js";
import { EmailBanner } from "./email-banner.js";
import { RecentSignInPrompt } from "./recent-sign-in.js";
import { Toasts } from "./toast.js";

const LINKS = [
  ["/todos", "To-dos"],
  ["/devices", "Devices"],
  ["/security", "Security"],
  ["/how-it-works", "How it works"],
] as const;
/** Shown only to those whose roles grant what the admin page needs. */
const ADMIN_LINK = ["/admin", "Admin"] as const;

export function Link(props: { href: string; children: ComponentChildren; current?: boolean; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function Shell(props: { me: Me; policy: Policy; path: string; title: string; children: ComponentChildren }) {
  const [theme, setThemeState] = useState(currentTheme());
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  // On a phone the links are one row that scrolls sideways (an admin's five do not fit):
  // keep the current page's link in view. On a wide screen nothing overflows, nothing moves.
  const links = useRef<HTMLUListElement>(null);
  // The account's address, for the banner and the Security page: once per session (the
  // shell is keyed by it), and again after each change made here.
  useEffect(() => void reloadEmail(), []);
  useEffect(() => {
    const list = links.current;
    const current = list?.querySelector('[aria-current="page"]');
    if (!list || !current) return;
    const box = list.getBoundingClientRect();
    const link = current.getBoundingClientRect();
    if (link.right > box.right) list.scrollLeft += link.right - box.right;
    else if (link.left < box.left) list.scrollLeft -= box.left - link.left;
  }, [props.path]);
  // Whatever latchkey answers, the client signs out this tab and the others (the app hears
  // it through onChange); only a request that never reached the server leaves the session.
  const signOut = async () => {
    // Signing out on purpose keeps no work in progress for later (a shared computer).
    dropDraft();
    setBusy(true);
    setFailed(false);
    await latchkey.signOut().catch(() => setFailed(true));
    setBusy(false);
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/todos" class="brand">
          <img src="/favicon.svg" alt="" width="28" height="28" />
          <span>latchkey</span>
        </Link>
        <nav aria-label="Main">
          <ul ref={links}>
            {[...LINKS, ...(props.me.permissions.includes(ADMIN_PERMISSION) ? [ADMIN_LINK] : [])].map(
              ([href, label]) => (
                <li key={href}>
                  <Link href={href} current={props.path === href}>
                    {label}
                  </Link>
                </li>
              ),
            )}
          </ul>
        </nav>
        <div class="account">
          <span
            class="who"
            title={`Signed in as ${props.me.user.username}, with the ${props.policy.strategy} strategy`}
          >
            <span class="sr-only">Signed in as </span>
            {/* Its own box, so a long name shortens with an ellipsis and the badge stays. */}
            <span class="name">{props.me.user.username}</span>
            <span class="sr-only">, strategy </span>
            <span class="badge">{props.policy.strategy}</span>
          </span>
          <button
            type="button"
            class="ghost icon"
            aria-label={theme === "dark" ? "Use the light theme" : "Use the dark theme"}
            onClick={() => {
              const next = theme === "dark" ? "light" : "dark";
              setTheme(next);
              setThemeState(next);
            }}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          <button type="button" class="secondary" onClick={signOut} disabled={busy}>
            Sign out
          </button>
          {failed ? (
            <p class="error" role="alert">
              Not signed out: the server could not be reached.
            </p>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <EmailBanner />
        <h1>{props.title}</h1>
        {props.children}
      </main>
      <Toasts />
      <RecentSignInPrompt reauthWindow={props.policy.reauthWindow} />
    </>
  );
}
