/**
 * The page for an address the app does not have. The server answers such an address 404
 * with the app (a browser asking for HTML; API clients get the contract's JSON), so the
 * person sees where they are and where to go, not a raw error.
 */
import { Link } from "../components/shell.js";

/** The page's heading and document title. */
export const NOT_FOUND_TITLE = "Page not found";

/** A known page the address was probably meant to be (`/signin/` for `/signin`). */
export interface Suggestion {
  href: string;
  title: string;
}

/**
 * What happened and where to go, below the heading. Signed in, it sits in the shell,
 * whose `<h1>` is the title; signed out, `SignedOutNotFound` frames it.
 *
 * @example
 * <NotFound path="/settings" signedIn suggestion={null} />
 */
export function NotFound(props: { path: string; signedIn: boolean; suggestion: Suggestion | null }) {
  return (
    <div class="not-found">
      <p class="lead">
        There is no page at <code>{props.path}</code>. The address may be mistyped, or the link that brought you here
        may be out of date.
      </p>
      {props.suggestion ? (
        <p class="suggestion">
          Did you mean <Link href={props.suggestion.href}>{props.suggestion.title}</Link> (
          <code>{props.suggestion.href}</code>)?
        </p>
      ) : null}
      <nav aria-label="Where to go">
        <ul class="not-found-links">
          {props.signedIn ? (
            <>
              <li>
                <Link href="/todos">Go to your to-dos</Link>
              </li>
              <li>
                <Link href="/how-it-works">See how sign-in works</Link>
              </li>
            </>
          ) : (
            <>
              <li>
                <Link href="/signin">Sign in</Link>
              </li>
              <li>
                <Link href="/signup">Create an account</Link>
              </li>
            </>
          )}
          <li>
            {/* Not the app's: a full load of the server's API reference. */}
            <a href="/docs">The HTTP API's reference</a>
          </li>
        </ul>
      </nav>
    </div>
  );
}

/**
 * The not-found page of a signed-out visitor: the sign-in page's frame, with its own
 * heading.
 *
 * @example
 * <SignedOutNotFound path="/settings" suggestion={null} />
 */
export function SignedOutNotFound(props: { path: string; suggestion: Suggestion | null }) {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <span>latchkey</span>
        </div>
        <h1>{NOT_FOUND_TITLE}</h1>
        <NotFound path={props.path} signedIn={false} suggestion={props.suggestion} />
      </div>
    </main>
  );
}
