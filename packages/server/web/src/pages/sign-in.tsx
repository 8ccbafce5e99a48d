import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, type Me, SESSION_REUSE_MESSAGE, type SignedOutReason } from "../api.js";
import { Link } from "../components/shell.js";

const USERNAME = /^[a-z0-9._-]{3,32}$/;

/** What the API's error codes mean to a person filling in this form. */
function explain(error: unknown, mode: "signin" | "signup"): { field: "username" | "password" | "form"; text: string } {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: "The server could not be reached. Try again." };
  switch (error.code) {
    case "weak_password":
      return { field: "password", text: error.message };
    case "username_taken":
      return { field: "username", text: "That username is taken. Pick another one, or sign in." };
    case "invalid_request":
      return mode === "signup" ? { field: "username", text: error.message } : { field: "form", text: error.message };
    case "invalid_credentials":
      return { field: "form", text: "The username or password is incorrect." };
    case "account_disabled":
      return { field: "form", text: "This account has been disabled. Contact the administrator." };
    case "rate_limited": {
      const minutes = Math.ceil((error.retryAfter ?? 60) / 60);
      return {
        field: "form",
        text: `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
      };
    }
    default:
      return { field: "form", text: error.message };
  }
}

/** Why the server signed this browser out, in the words of its 401 and a line on what to do. */
function SignedOutNotice(props: { reason: SignedOutReason }) {
  if (props.reason !== "reuse") return null;
  return (
    <div class="signed-out-notice" role="alert">
      <p>
        <strong>You were signed out to protect your account.</strong>
      </p>
      <p>{SESSION_REUSE_MESSAGE}</p>
      <p class="muted">
        Your session's cookie changes as you use it. An old copy of it came back after a change, and the server cannot
        tell which browser is yours, so it ended the session for both. Once you are signed in, the Security page shows
        where each came from.
      </p>
    </div>
  );
}

export function SignIn(props: { mode: "signin" | "signup"; reason?: SignedOutReason; onSignedIn: (me: Me) => void }) {
  const { mode } = props;
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ field: string; text: string } | null>(null);
  // A form-wide problem takes the focus once its message is on the page (see `submit`).
  const focusMessage = useRef(false);
  useEffect(() => {
    if (!focusMessage.current || problem?.field !== "form") return;
    focusMessage.current = false;
    document.getElementById("form-error")?.focus();
  }, [problem]);

  const localProblem = (): { field: "username" | "password"; text: string } | null => {
    if (mode === "signup") {
      if (!USERNAME.test(username.normalize("NFKC").toLowerCase())) {
        return { field: "username", text: "Use 3 to 32 letters a-z, digits, '.', '_' or '-'." };
      }
      if ([...password].length < 8) return { field: "password", text: "Use at least 8 characters." };
    }
    return null;
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const local = localProblem();
    if (local) {
      setProblem(local);
      document.getElementById(local.field)?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      if (mode === "signup") await call(client.POST("/auth/register", { body: { username, password } }));
      // The client tells the other tabs, which load the session its cookies now carry.
      await latchkey.signIn(username, password, { remember });
      // The login answers the user and session; `/auth/me` adds what the roles permit.
      props.onSignedIn(await call(client.GET("/auth/me")));
    } catch (error) {
      const found = explain(error, mode);
      setProblem(found);
      // Focus goes where the problem is. A click leaves it on the submit button, which
      // `busy` disabled, and the browser then drops it to the page body: wrong credentials
      // send it to the password, to type again; any other form-wide problem to its message,
      // unless a field still has it (a submit from the keyboard).
      if (found.field !== "form") document.getElementById(found.field)?.focus();
      else if (error instanceof LatchkeyError && error.code === "invalid_credentials") {
        const field = document.getElementById("password") as HTMLInputElement | null;
        field?.focus();
        field?.select();
      } else if (!(document.activeElement instanceof HTMLInputElement)) focusMessage.current = true;
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) =>
    problem?.field === field ? (
      <p class="field-error" id={`${field}-error`} role="alert" tabIndex={field === "form" ? -1 : undefined}>
        {problem.text}
      </p>
    ) : null;

  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <span>latchkey</span>
        </div>
        <h1>{mode === "signup" ? "Create an account" : "Sign in"}</h1>
        {mode === "signin" ? <SignedOutNotice reason={props.reason ?? null} /> : null}
        <form onSubmit={submit} noValidate>
          <label for="username">Username</label>
          <input
            id="username"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            value={username}
            aria-invalid={problem?.field === "username"}
            aria-describedby={problem?.field === "username" ? "username-error" : undefined}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          />
          {fieldError("username")}
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete={mode === "signup" ? "new-password" : "current-password"}
            required
            value={password}
            aria-invalid={problem?.field === "password"}
            aria-describedby={problem?.field === "password" ? "password-error" : "password-hint"}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
          {mode === "signup" && problem?.field !== "password" ? (
            <p class="hint" id="password-hint">
              At least 8 characters. Long passphrases are welcome; very common passwords are refused.
            </p>
          ) : null}
          {fieldError("password")}
          <label class="check">
            <input
              type="checkbox"
              checked={remember}
              onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
            />
            Remember me on this device
          </label>
          {fieldError("form")}
          <button type="submit" class="primary wide" disabled={busy}>
            {busy ? "Please wait…" : mode === "signup" ? "Create account" : "Sign in"}
          </button>
        </form>
        <p class="switch">
          {mode === "signup" ? (
            <>
              Already have an account? <Link href="/signin">Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link href="/signup">Create an account</Link>
            </>
          )}
        </p>
      </div>
    </main>
  );
}
