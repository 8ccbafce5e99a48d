/**
 * The frame of the pages a mailed link or the sign-in page leads to (forgot password, reset
 * password, confirm or revert an address): the sign-in page's card, signed in or out, so
 * a page keeps its state when its action ends the session it was opened in.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Link } from "./shell.js";

/**
 * @example
 * <PublicPage title="Forgot your password?" signedIn={false}>…</PublicPage>
 */
export function PublicPage(props: { title: string; signedIn: boolean; children: ComponentChildren }) {
  // Arriving from a link of the app (the sign-in page's "Forgot your password?"), the
  // focus went with the page that held the link: the title takes it, so a keyboard or
  // screen-reader user starts at the top of the new page, not before the whole document.
  const title = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement === null) title.current?.focus();
  }, []);
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <span>latchkey</span>
        </div>
        <h1 ref={title} tabIndex={-1}>
          {props.title}
        </h1>
        {props.children}
        <p class="switch">
          {props.signedIn ? (
            <Link href="/todos">Back to your to-dos</Link>
          ) : (
            <Link href="/signin">Back to sign in</Link>
          )}
        </p>
      </div>
    </main>
  );
}
