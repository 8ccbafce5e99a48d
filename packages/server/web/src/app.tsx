import { useCallback, useEffect, useState } from "preact/hooks";
import { call, client, currentUser, latchkey, type Me, type Policy, reasonOf, type SignedOutReason } from "./api.js";
import { Shell } from "./components/shell.js";
import { Admin } from "./pages/admin/page.js";
import { Devices } from "./pages/devices.js";
import { HowItWorks } from "./pages/how-it-works.js";
import { NOT_FOUND_TITLE, NotFound, SignedOutNotFound, type Suggestion } from "./pages/not-found.js";
import { Security } from "./pages/security.js";
import { SignIn } from "./pages/sign-in.js";
import { Todos } from "./pages/todos.js";
import { closestPath, navigate, usePath } from "./router.js";

const PAGES: Record<string, { title: string; render: (me: Me, policy: Policy) => preact.JSX.Element }> = {
  "/todos": { title: "To-dos", render: () => <Todos /> },
  "/devices": { title: "Devices", render: () => <Devices /> },
  "/security": { title: "Security", render: () => <Security /> },
  "/how-it-works": { title: "How it works", render: (me, policy) => <HowItWorks me={me} policy={policy} /> },
  "/admin": { title: "Admin", render: (me) => <Admin me={me} /> },
};
/** The signed-out forms; signed in, they lead to the to-dos. */
const FORMS: Record<string, string> = { "/signin": "Sign in", "/signup": "Create an account" };

/**
 * Whether the app has `path`: a page, a form, or the root (which leads to the to-dos or
 * the sign-in). Any other address is the not-found page, never a quiet redirect: the
 * server answered it 404.
 */
function known(path: string): boolean {
  return path === "/" || Object.hasOwn(PAGES, path) || Object.hasOwn(FORMS, path);
}

/** The page an unknown address was probably meant to be, among those this visitor can open. */
function suggestionFor(path: string, signedIn: boolean): Suggestion | null {
  const titles: Record<string, string> = {
    ...Object.fromEntries(Object.entries(PAGES).map(([href, page]) => [href, page.title])),
    ...(signedIn ? {} : FORMS),
  };
  const href = closestPath(path, Object.keys(titles));
  return href ? { href, title: titles[href] as string } : null;
}

export function App() {
  const path = usePath();
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | null>(null);
  // Why the server ended the session, shown on the sign-in page until the next sign-in
  // (kept in memory only: nothing auth-related goes to storage).
  const [reason, setReason] = useState<SignedOutReason>(null);

  const signedOut = useCallback((why: SignedOutReason) => {
    // A reason, once known, stays until the next sign-in.
    if (why) setReason(why);
    setMe(null);
    // An unknown address keeps its not-found page, signed out too.
    if (location.pathname !== "/signup" && known(location.pathname)) navigate("/signin", true);
  }, []);
  const signedIn = useCallback((user: Me) => {
    setReason(null);
    setMe(user);
  }, []);
  const load = useCallback(async () => {
    const { me: user, reason: why } = await currentUser();
    if (user) signedIn(user);
    else signedOut(why);
  }, [signedIn, signedOut]);

  useEffect(() => {
    Promise.all([call(client.GET("/auth/info")).then(setPolicy), load()]).catch(() =>
      setLoadError("The server could not be reached. Reload the page to try again."),
    );
    // The client tells every change of the session, this tab's or another's: a sign-out,
    // asked for or forced by the server (with its message), shows at once.
    return latchkey.onChange(({ session, reason: change, message, fromOtherTab }) => {
      if (!session) signedOut(reasonOf(message));
      // Another tab signed in: the cookies are this tab's too. This tab's own sign-in is
      // the sign-in page's to finish.
      else if (change === "signed_in" && fromOtherTab) load().catch(() => location.reload());
    });
  }, [load, signedOut]);

  const page = PAGES[path];
  const missing = !known(path);
  useEffect(() => {
    if (me === undefined || missing) return;
    if (me && !page) navigate("/todos", true);
    if (!me && path !== "/signin" && path !== "/signup") navigate("/signin", true);
  }, [me, page, path, missing]);
  useEffect(() => {
    const title = missing
      ? NOT_FOUND_TITLE
      : me && page
        ? page.title
        : path === "/signup"
          ? "Create an account"
          : "Sign in";
    document.title = `${title} · latchkey`;
  }, [me, page, path, missing]);

  if (loadError) {
    return (
      <main class="center" id="main">
        <p role="alert">{loadError}</p>
      </main>
    );
  }
  if (me === undefined || !policy) {
    return (
      <main class="center" id="main" aria-busy="true">
        <p class="muted">Loading…</p>
      </main>
    );
  }
  if (!me && missing) return <SignedOutNotFound path={path} suggestion={suggestionFor(path, false)} />;
  if (!me) {
    return (
      <SignIn
        mode={path === "/signup" ? "signup" : "signin"}
        reason={reason}
        onSignedIn={(user) => {
          signedIn(user);
          navigate("/todos");
        }}
      />
    );
  }
  // Keyed by the session: a sign-in made in another tab starts every page afresh.
  return (
    <Shell
      key={me.session.id}
      me={me}
      policy={policy}
      path={path}
      title={page?.title ?? (missing ? NOT_FOUND_TITLE : "")}
    >
      {page ? (
        page.render(me, policy)
      ) : missing ? (
        <NotFound path={path} signedIn suggestion={suggestionFor(path, true)} />
      ) : null}
    </Shell>
  );
}
