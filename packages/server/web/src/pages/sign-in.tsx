import { useEffect, useRef, useState } from "preact/hooks";
import {
  call,
  client,
  LatchkeyError,
  latchkey,
  type Me,
  SecondFactorRequired,
  type SignedOutReason,
  signInWithPasskey,
} from "../api.js";
import { Alert, EmailField, Field, FormError, type Problem } from "../components/form.js";
import { ResendLink } from "../components/resend-link.js";
import { Link } from "../components/shell.js";
import { SignedOutNotice } from "../components/signed-out-notice.js";
import { StrengthMeter } from "../components/strength.js";
import { looksLikeEmail } from "../email.js";
import { askPasskey, passkeyProblem, passkeysSupported } from "../passkey.js";
import { navigate } from "../router.js";
import { SecondStep } from "./sign-in-code.js";

const USERNAME = /^[a-z0-9._-]{3,32}$/;
/** From this many failed attempts in a row, the form warns that the throttle is near. */
const WARN_AFTER = 2;

/** What the API's error codes mean to a person filling in this form. */
function explain(error: unknown, mode: "signin" | "signup"): Problem {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: "The server could not be reached. Try again." };
  switch (error.code) {
    case "weak_password":
      return { field: "password", text: error.message };
    case "username_taken":
      return { field: "username", text: "That username is taken. Pick another one, or sign in." };
    case "email_taken":
      return { field: "email", text: "Another account has this address. Use another one, or sign in." };
    case "invalid_request":
      // The server's message names what it refused: the address, or else the username.
      if (mode !== "signup") return { field: "form", text: error.message };
      return { field: /e-?mail|address/i.test(error.message) ? "email" : "username", text: error.message };
    case "email_unverified":
      return { field: "form", text: "Confirm your email address first: open the link we mailed to it." };
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

/** `401 sign_in_expired` at the code step: the pending sign-in is over, the password comes again. */
const SIGN_IN_ENDED =
  "That sign-in has ended: it took too long, or had too many wrong codes. Enter your password to start again.";

/** The rules sign-up checks before asking the server (which checks them again). */
function localProblem(mode: "signin" | "signup", username: string, password: string, email: string): Problem | null {
  if (username === "") return { field: "username", text: "Enter your username." };
  if (mode === "signup" && !USERNAME.test(username.normalize("NFKC").toLowerCase())) {
    return { field: "username", text: "Use 3 to 32 letters a-z, digits, '.', '_' or '-'." };
  }
  if (password === "") return { field: "password", text: "Enter your password." };
  if (mode === "signup" && [...password].length < 8) return { field: "password", text: "Use at least 8 characters." };
  if (mode === "signup" && email !== "" && !looksLikeEmail(email)) {
    return { field: "email", text: "Enter an email address like name@example.com, or leave it empty." };
  }
  return null;
}

export function SignIn(props: {
  mode: "signin" | "signup";
  /** What the server does with addresses (`/auth/info`); `null` until known. */
  email: { enabled: boolean; required: boolean } | null;
  reason?: SignedOutReason;
  /** Filled in after a forced sign-out, for the person to sign back in. */
  username?: string;
  onSignedIn: (me: Me) => void;
}) {
  const { mode } = props;
  const [username, setUsername] = useState(props.username ?? "");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  // The account exists but its address is not confirmed yet (the server requires it):
  // the address when this page knows it (it was just typed at sign-up), else "".
  const [unverified, setUnverified] = useState<{ email: string } | null>(null);
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  // The password was right and the account has a second factor: what its step takes.
  const [secondStep, setSecondStep] = useState<string[] | null>(null);
  // The code step ended without a session (it expired, or too many wrong codes): the
  // password form says so, in place of why the person was signed out.
  const [expired, setExpired] = useState(false);
  // Back from the code step, the focus goes to the password, the field to type again.
  const focusPassword = useRef(false);
  const backToPassword = (ended: boolean) => {
    setSecondStep(null);
    setExpired(ended);
    setProblem(ended ? { field: "form", text: SIGN_IN_ENDED } : null);
    focusPassword.current = true;
  };
  useEffect(() => {
    if (secondStep || !focusPassword.current) return;
    focusPassword.current = false;
    document.getElementById("password")?.focus();
  }, [secondStep]);
  // Failed attempts in a row at one username, from this page: the throttle counts them
  // too, so the person is warned before it locks (the API does not say how many remain).
  const [failures, setFailures] = useState<{ username: string; count: number }>({ username: "", count: 0 });
  // The unconfirmed-address notice takes the focus when it appears: the submit button
  // that had it is disabled meanwhile, and what to do next is in the notice.
  useEffect(() => {
    if (unverified) document.getElementById("unverified")?.focus();
  }, [unverified]);
  // A form-wide problem takes the focus once its message is on the page (see `submit`).
  const focusMessage = useRef(false);
  useEffect(() => {
    if (!focusMessage.current || problem?.field !== "form") return;
    focusMessage.current = false;
    document.getElementById("form-error")?.focus();
  }, [problem]);

  // Editing a field clears the problem it had (and a form-wide one, now stale).
  const edit = (field: "username" | "password" | "email", set: (value: string) => void) => (value: string) => {
    set(value);
    if (problem && (problem.field === field || problem.field === "form")) setProblem(null);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    // A phone's autocomplete adds a trailing space: the name has none, so it is never
    // sent (the server would count it as a wrong attempt). The field shows what is sent.
    const name = username.trim();
    if (name !== username) setUsername(name);
    const address = email.trim();
    const local = localProblem(mode, name, password, address);
    if (local) {
      setProblem(local);
      document.getElementById(local.field)?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    setUnverified(null);
    let registered = false;
    try {
      if (mode === "signup") {
        const body = address === "" ? { username: name, password } : { username: name, password, email: address };
        await call(client.POST("/auth/register", { body }));
        registered = true;
      }
      // The client tells the other tabs, which load the session its cookies now carry.
      await latchkey.signIn(name, password, { remember });
      // The login answers the user and session; `/auth/me` adds what the roles permit.
      props.onSignedIn(await call(client.GET("/auth/me")));
    } catch (error) {
      if (error instanceof SecondFactorRequired) {
        // Not a refusal: the code step takes the form's place (and the focus). The password
        // is not needed any more; should the step expire, the person types it again.
        setPassword("");
        setFailures({ username: "", count: 0 });
        setSecondStep(error.methods);
        return;
      }
      if (error instanceof LatchkeyError && error.code === "email_unverified") {
        // The password was right: what is missing is the confirmation, not a retry.
        setUnverified({ email: registered ? address : "" });
        // The account exists now: what is left is to sign in, on the same form.
        if (registered) navigate("/signin", true);
        focusMessage.current = false;
        setBusy(false);
        return;
      }
      const found = explain(error, mode);
      setProblem(found);
      const wrong = error instanceof LatchkeyError && error.code === "invalid_credentials";
      const key = name.normalize("NFKC").toLowerCase();
      if (wrong) setFailures((f) => ({ username: key, count: f.username === key ? f.count + 1 : 1 }));
      // Focus goes where the problem is. A click leaves it on the submit button, which
      // `busy` disabled, and the browser then drops it to the page body: wrong credentials
      // send it to the password, to type again; any other form-wide problem to its message,
      // unless a field still has it (a submit from the keyboard).
      if (found.field !== "form") document.getElementById(found.field)?.focus();
      else if (wrong) {
        const field = document.getElementById("password") as HTMLInputElement | null;
        field?.focus();
        field?.select();
      } else if (!(document.activeElement instanceof HTMLInputElement)) focusMessage.current = true;
    } finally {
      setBusy(false);
    }
  };

  // Signing in with a passkey alone: no username, no password; "Remember me" as for a password.
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const withPasskey = async () => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    setPasskeyError(null);
    setUnverified(null);
    try {
      await signInWithPasskey(await askPasskey(), { remember });
      props.onSignedIn(await call(client.GET("/auth/me")));
    } catch (error) {
      if (error instanceof LatchkeyError && error.code === "email_unverified") return setUnverified({ email: "" });
      const known = error instanceof LatchkeyError && error.code === "account_disabled";
      setPasskeyError(known ? explain(error, mode).text : passkeyProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) => (problem?.field === field ? problem.text : null);
  const warn =
    mode === "signin" &&
    failures.count >= WARN_AFTER &&
    failures.username === username.trim().normalize("NFKC").toLowerCase() &&
    problem?.text !== undefined &&
    !problem.text.startsWith("Too many");

  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <span>latchkey</span>
        </div>
        {secondStep ? (
          <SecondStep
            methods={secondStep}
            onSignedIn={props.onSignedIn}
            onExpired={() => backToPassword(true)}
            onBack={() => backToPassword(false)}
          />
        ) : (
          <>
            <h1>{mode === "signup" ? "Create an account" : "Sign in"}</h1>
            {mode === "signin" && !expired ? <SignedOutNotice reason={props.reason ?? null} /> : null}
            <form onSubmit={submit} noValidate>
              <Field
                id="username"
                label="Username"
                autocomplete="username"
                plain
                value={username}
                onInput={edit("username", setUsername)}
                hint={mode === "signup" ? "3 to 32 letters a-z, digits, '.', '_' or '-'." : undefined}
                error={fieldError("username")}
              />
              {mode === "signup" && props.email?.enabled !== false ? (
                <EmailField
                  id="email"
                  label="Email address"
                  optional={!props.email?.required}
                  value={email}
                  onInput={edit("email", setEmail)}
                  hint={
                    props.email?.required
                      ? "We'll send a link to confirm it: you can sign in once it is confirmed."
                      : "To reset a forgotten password. We'll send a link to confirm it."
                  }
                  error={fieldError("email")}
                />
              ) : null}
              <Field
                id="password"
                label="Password"
                type="password"
                autocomplete={mode === "signup" ? "new-password" : "current-password"}
                value={password}
                onInput={edit("password", setPassword)}
                hint={
                  mode === "signup"
                    ? "At least 8 characters. Long passphrases are welcome; very common passwords are refused."
                    : undefined
                }
                error={fieldError("password")}
                describedBy={mode === "signup" && password !== "" ? "password-strength" : undefined}
              >
                {mode === "signup" ? <StrengthMeter id="password-strength" password={password} /> : null}
              </Field>
              {mode === "signin" && props.email?.enabled !== false ? (
                <p class="forgot">
                  <Link href="/forgot-password">Forgot your password?</Link>
                </p>
              ) : null}
              <label class="check">
                <input
                  type="checkbox"
                  checked={remember}
                  onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
                />
                Remember me on this device
              </label>
              <FormError text={fieldError("form")} />
              {warn ? (
                <Alert tone="warning" id="throttle-warning">
                  <p>
                    {failures.count} failed attempts in a row. To stop password guessing, latchkey pauses sign-in to an
                    account after a few failed attempts (5 within 15 minutes, unless the administrator set other
                    limits). Check the username and Caps Lock before trying again.
                  </p>
                </Alert>
              ) : null}
              <button type="submit" class="primary wide" disabled={busy}>
                {busy ? "Please wait…" : mode === "signup" ? "Create account" : "Sign in"}
              </button>
            </form>
            {mode === "signin" && passkeysSupported() ? (
              <div class="passkey-sign-in">
                <p class="divider" aria-hidden="true">
                  <span>or</span>
                </p>
                {/* aria-disabled, not disabled: the focus stays on it while the browser's dialog is open. */}
                <button type="button" class="secondary wide" aria-disabled={busy} onClick={() => void withPasskey()}>
                  Sign in with a passkey
                </button>
                <FormError id="passkey-error" text={passkeyError} />
              </div>
            ) : null}
            {unverified ? <Unverified email={unverified.email} /> : null}
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
          </>
        )}
      </div>
    </main>
  );
}

/**
 * A sign-in refused with `403 email_unverified` (the server requires a confirmed address):
 * what to do, and the link sent again, to the address just typed at sign-up, or to the
 * one the person types (this page cannot know it from a username).
 */
function Unverified(props: { email: string }) {
  return (
    <div class="alert tone-warning" id="unverified" role="alert" tabIndex={-1}>
      {props.email ? (
        <p>
          <strong>Your account is created. Confirm your address to sign in.</strong> We sent a link to {props.email}:
          open it, then sign in here.
        </p>
      ) : (
        <p>
          <strong>Confirm your email address to sign in.</strong> Open the link we mailed when you signed up or changed
          your address, then sign in again. Lost it? We can send it again.
        </p>
      )}
      <ResendLink id="unverified" email={props.email || null} />
    </div>
  );
}
