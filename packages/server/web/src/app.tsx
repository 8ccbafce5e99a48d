import { useCallback, useEffect, useState } from "preact/hooks";
import { call, client, configure, type Me, type Policy, rememberCsrf, type SignedOutReason, tabs } from "./api.js";
import { Shell } from "./components/shell.js";
import { Admin } from "./pages/admin/page.js";
import { Devices } from "./pages/devices.js";
import { HowItWorks } from "./pages/how-it-works.js";
import { Security } from "./pages/security.js";
import { SignIn } from "./pages/sign-in.js";
import { Todos } from "./pages/todos.js";
import { navigate, usePath } from "./router.js";

const PAGES: Record<string, { title: string; render: (me: Me, policy: Policy) => preact.JSX.Element }> = {
  "/todos": { title: "To-dos", render: () => <Todos /> },
  "/devices": { title: "Devices", render: () => <Devices /> },
  "/security": { title: "Security", render: () => <Security /> },
  "/how-it-works": { title: "How it works", render: (me, policy) => <HowItWorks me={me} policy={policy} /> },
  "/admin": { title: "Admin", render: (me) => <Admin me={me} /> },
};

export function App() {
  const path = usePath();
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | null>(null);
  // Why the server ended the session, shown on the sign-in page until the next sign-in
  // (kept in memory only: nothing auth-related goes to storage).
  const [reason, setReason] = useState<SignedOutReason>(null);

  const signedOut = useCallback((why: SignedOutReason = null) => {
    // A reason, once known, stays: the requests still on their way get a plain 401.
    if (why) setReason(why);
    setMe(null);
    if (location.pathname !== "/signup") navigate("/signin", true);
  }, []);
  const signedOutByServer = useCallback(
    (why: SignedOutReason) => {
      // The other tabs share the cookie, so the same ending: tell them why, too.
      if (why) tabs?.postMessage(`signed-out:${why}`);
      signedOut(why);
    },
    [signedOut],
  );

  useEffect(() => {
    (async () => {
      try {
        const info = await call(client.GET("/auth/info"));
        configure({ strategy: info.strategy, onSignedOut: signedOutByServer });
        setPolicy(info);
        const current = await call(client.GET("/auth/me")).catch(() => null);
        rememberCsrf(current?.csrfToken);
        setMe(current);
      } catch {
        setLoadError("The server could not be reached. Reload the page to try again.");
      }
    })();
    const onMessage = (event: MessageEvent) => {
      if (event.data === "signed-out") signedOut();
      if (event.data === "signed-out:reuse") signedOut("reuse");
      if (event.data === "signed-in") location.reload();
    };
    tabs?.addEventListener("message", onMessage);
    return () => tabs?.removeEventListener("message", onMessage);
  }, [signedOut, signedOutByServer]);

  const page = PAGES[path];
  useEffect(() => {
    if (me === undefined) return;
    if (me && !page) navigate("/todos", true);
    if (!me && path !== "/signin" && path !== "/signup") navigate("/signin", true);
  }, [me, page, path]);
  useEffect(() => {
    const title = me && page ? page.title : path === "/signup" ? "Create an account" : "Sign in";
    document.title = `${title} · latchkey`;
  }, [me, page, path]);

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
  if (!me) {
    return (
      <SignIn
        mode={path === "/signup" ? "signup" : "signin"}
        reason={reason}
        onSignedIn={(signedIn) => {
          setReason(null);
          setMe(signedIn);
          tabs?.postMessage("signed-in");
          navigate("/todos");
        }}
      />
    );
  }
  return (
    <Shell
      me={me}
      policy={policy}
      path={path}
      title={page?.title ?? ""}
      onSignedOut={() => {
        tabs?.postMessage("signed-out");
        signedOut();
      }}
    >
      {page ? page.render(me, policy) : null}
    </Shell>
  );
}
