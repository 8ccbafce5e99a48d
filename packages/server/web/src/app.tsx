import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { call, client, currentUser, endedOf, latchkey, type Me, type Policy, type SignedOutReason } from "./api.js";
import { PublicPage } from "./components/public-page.js";
import { Shell } from "./components/shell.js";
import { takeExpectedSignOut } from "./components/signed-out-notice.js";
import { draftOf, dropDraft, interruptDraft } from "./drafts.js";
import { forgetEmail } from "./email.js";
import { useLinkVersion } from "./link-token.js";
import { useOnReturn } from "./on-return.js";
import { Admin } from "./pages/admin/page.js";
import { Compare } from "./pages/compare.js";
import { Devices } from "./pages/devices.js";
import { ForgotPassword } from "./pages/forgot-password.js";
import { HowItWorks } from "./pages/how-it-works.js";
import { Lab } from "./pages/lab.js";
import { NOT_FOUND_TITLE, NotFound, SignedOutNotFound, type Suggestion } from "./pages/not-found.js";
import { ResetPassword } from "./pages/reset-password.js";
import { RevertEmail } from "./pages/revert-email.js";
import { Security } from "./pages/security.js";
import { SignIn } from "./pages/sign-in.js";
import { Todos } from "./pages/todos.js";
import { VerifyEmail } from "./pages/verify-email.js";
import { closestPath, navigate, usePath } from "./router.js";

const PAGES: Record<string, { title: string; render: (me: Me, policy: Policy) => preact.JSX.Element }> = {
  "/todos": { title: "To-dos", render: (me) => <Todos userId={me.user.id} /> },
  "/devices": { title: "Devices", render: () => <Devices /> },
  "/security": { title: "Security", render: () => <Security /> },
  "/how-it-works": { title: "How it works", render: (me, policy) => <HowItWorks me={me} policy={policy} /> },
  "/admin": { title: "Admin", render: (me) => <Admin me={me} /> },
  "/compare": { title: "Compare the strategies", render: () => <Compare /> },
  "/lab": { title: "The insecure lab", render: (_me, policy) => <Lab policy={policy} /> },
};
/** The signed-out forms; signed in, they lead to the to-dos. */
const FORMS: Record<string, string> = { "/signin": "Sign in", "/signup": "Create an account" };

/** What a public page may need: whether someone is signed in, and a check of the session after its action. */
interface PublicContext {
  signedIn: boolean;
  /** The server's policy (`/auth/info`): how long its links work. */
  policy: Policy | null;
  /** The page's action may have ended this browser's session (a password reset ends every one). */
  recheck: () => void;
}

/**
 * The pages a mailed link or the sign-in page leads to: the same signed in or out, never
 * redirected, in the sign-in card's frame.
 */
const PUBLIC: Record<string, { title: string; render: (context: PublicContext) => preact.JSX.Element }> = {
  "/forgot-password": {
    title: "Forgot your password?",
    render: (context) => <ForgotPassword resetLinkTtl={context.policy?.email.resetLinkTtl ?? null} />,
  },
  "/reset-password": {
    title: "Choose a new password",
    render: (context) => <ResetPassword onSessionEnded={context.recheck} />,
  },
  "/verify-email": {
    title: "Confirm your email address",
    render: (context) => <VerifyEmail signedIn={context.signedIn} />,
  },
  "/revert-email": {
    title: "Undo the address change",
    render: (context) => <RevertEmail onSessionEnded={context.recheck} />,
  },
};

/** Whether `path` is a public page, shown whoever is signed in. */
const isPublic = (path: string) => Object.hasOwn(PUBLIC, path);

/**
 * Whether the app has `path`: a page, a form, or the root (which leads to the to-dos or
 * the sign-in). Any other address is the not-found page, never a quiet redirect: the
 * server answered it 404.
 */
function known(path: string): boolean {
  return path === "/" || Object.hasOwn(PAGES, path) || Object.hasOwn(FORMS, path) || isPublic(path);
}

/** The page an unknown address was probably meant to be, among those this visitor can open. */
function suggestionFor(path: string, signedIn: boolean): Suggestion | null {
  const titles: Record<string, string> = {
    ...Object.fromEntries(Object.entries(PAGES).map(([href, page]) => [href, page.title])),
    ...Object.fromEntries(Object.entries(PUBLIC).map(([href, page]) => [href, page.title])),
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
  // Who was signed in, to fill in the sign-in form after a forced sign-out (memory only).
  const [lastUsername, setLastUsername] = useState("");
  const signedInNow = useRef(false);

  const signedOut = useCallback((why: SignedOutReason) => {
    // A reason, once known, stays until the next sign-in; this tab's own "sign out
    // everywhere" or account deletion is confirmed.
    const reason = takeExpectedSignOut() ?? why;
    if (reason) setReason(reason);
    interruptDraft();
    signedInNow.current = false;
    forgetEmail();
    setMe(null);
    // An unknown address keeps its not-found page, signed out too, and a public page stays.
    const here = location.pathname;
    if (here !== "/signup" && known(here) && !isPublic(here)) navigate("/signin", true);
  }, []);
  const signedIn = useCallback((user: Me) => {
    setReason(null);
    setLastUsername(user.user.username);
    // Another user's draft is dropped here, before any page could show it.
    draftOf(user.user.id);
    signedInNow.current = true;
    setMe((shown) => {
      if (shown && shown.session.id === user.session.id) return shown;
      // Another session (perhaps another person's): its address is loaded afresh.
      forgetEmail();
      return user;
    });
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
    // asked for or forced by the server (with its reason, `ended`), shows at once.
    return latchkey.onChange((change) => {
      const { session, reason: kind, fromOtherTab } = change;
      // `ended`: the server's `Latchkey-Session-Ended`, on a sign-out it forced.
      const ended = endedOf(change.ended);
      // A sign-out asked for in another tab drops the draft, as it does in the tab that asked.
      if (!session && kind === "signed_out" && fromOtherTab) dropDraft();
      if (!session) signedOut(ended ?? (kind === "signed_out_everywhere" ? "you_signed_out_everywhere" : null));
      // Another tab signed in: the cookies are this tab's too. This tab's own sign-in is
      // the sign-in page's to finish.
      else if (kind === "signed_in" && fromOtherTab) load().catch(() => location.reload());
    });
  }, [load, signedOut]);

  // A session ended elsewhere (another device, an administrator, a timeout) is noticed when
  // the person comes back to the tab, not at their next click: `/auth/me` answers 401 with
  // the reason. One check at a time; a server out of reach changes nothing.
  const checking = useRef(false);
  useOnReturn(() => {
    if (!signedInNow.current || checking.current) return;
    checking.current = true;
    currentUser()
      .then(({ me: user, reason: why }) => (user ? signedIn(user) : signedOut(why)))
      .catch(() => {})
      .finally(() => {
        checking.current = false;
      });
  });

  // A new mailed link opened in this tab starts its page afresh.
  const linkVersion = useLinkVersion();
  const page = PAGES[path];
  const open = PUBLIC[path];
  const missing = !known(path);
  useEffect(() => {
    if (me === undefined || missing || open) return;
    if (me && !page) navigate("/todos", true);
    if (!me && path !== "/signin" && path !== "/signup") navigate("/signin", true);
  }, [me, page, path, missing, open]);
  useEffect(() => {
    const title = missing
      ? NOT_FOUND_TITLE
      : open
        ? open.title
        : me && page
          ? page.title
          : path === "/signup"
            ? "Create an account"
            : "Sign in";
    document.title = `${title} · latchkey`;
  }, [me, page, path, missing, open]);

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
  if (open) {
    // Checked after the action, not before: a 401 then shows the page signed out, its message kept.
    const recheck = () => void load().catch(() => {});
    return (
      <PublicPage key={linkVersion} title={open.title} signedIn={me !== null}>
        {open.render({ signedIn: me !== null, policy, recheck })}
      </PublicPage>
    );
  }
  if (!me && missing) return <SignedOutNotFound path={path} suggestion={suggestionFor(path, false)} />;
  if (!me) {
    return (
      <SignIn
        mode={path === "/signup" ? "signup" : "signin"}
        email={policy?.email ?? null}
        reason={reason}
        username={reason && reason !== "account_deleted" && reason !== "you_deleted_account" ? lastUsername : ""}
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
