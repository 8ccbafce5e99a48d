/**
 * The Security page's "Email address" card: the address and whether it is confirmed, a
 * change waiting for its link, and the form to change it (`PUT /auth/email`, with the
 * password: whoever finds the device signed in must not redirect the reset links).
 */
import { useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { failureText, looksLikeEmail, reloadEmail, useEmail, waitOf } from "../email.js";
import { Alert, CurrentPasswordField, EmailField, FormError, type Problem } from "./form.js";
import { NotConfirmed, withRecentSignIn } from "./recent-sign-in.js";

/** What a refused change means, on the field it concerns. */
function changeProblem(error: unknown): Problem {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: failureText(error) };
  switch (error.code) {
    case "invalid_credentials":
      return { field: "email-password", text: "The password is incorrect." };
    case "email_taken":
      return { field: "new-email", text: "Another account has this address. Use another one." };
    case "invalid_request":
      return { field: "new-email", text: error.message };
    case "rate_limited":
      return { field: "form", text: `Too many attempts. Try again ${waitOf(error)}.` };
    default:
      return { field: "form", text: error.message };
  }
}

/** `onChanged`: a change was asked for (the security log has a new event to show). */
export function EmailCard(props: { onChanged?: () => void }) {
  const status = useEmail();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  // The person cancelled the "Confirm it's you" prompt: said quietly, not as an error.
  const [note, setNote] = useState<string | null>(null);
  const edit = (field: string, set: (value: string) => void) => (value: string) => {
    set(value);
    setNote(null);
    if (problem && (problem.field === field || problem.field === "form")) setProblem(null);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const address = email.trim();
    const local = !looksLikeEmail(address)
      ? { field: "new-email", text: "Enter an email address, like name@example.com." }
      : password === ""
        ? { field: "email-password", text: "Enter your password to confirm." }
        : null;
    setProblem(local);
    setSent(null);
    setNote(null);
    if (local) return document.getElementById(local.field)?.focus();
    setBusy(true);
    try {
      // With an authenticator app, a change needs a recent sign-in (password and code).
      const body = { email: address, password };
      const { pending } = await withRecentSignIn(() => call(client.PUT("/auth/email", { body })));
      setEmail("");
      setPassword("");
      setSent(pending ?? address);
      void reloadEmail();
      props.onChanged?.();
    } catch (error) {
      if (error instanceof NotConfirmed) return setNote(error.message);
      // A 401 that ended the session is the sign-in page's to explain.
      if (error instanceof LatchkeyError && error.status === 401 && error.code !== "invalid_credentials") return;
      const found = changeProblem(error);
      setProblem(found);
      document.getElementById(found.field === "form" ? "email-form-error" : found.field)?.focus();
    } finally {
      setBusy(false);
    }
  };
  const errorOf = (field: string) => (problem?.field === field ? problem.text : null);
  return (
    <section class="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      {status === null ? (
        <p class="muted">Loading…</p>
      ) : status.email ? (
        <p class="email-now">
          <span class="email-address">{status.email}</span>
          <span class={`badge ${status.verified ? "current" : "pending"}`}>
            {status.verified ? "Confirmed" : "Not confirmed"}
          </span>
        </p>
      ) : (
        <p class="muted">No address yet. Add one to be able to reset a forgotten password.</p>
      )}
      {status?.pending && !sent ? (
        <p class="muted">
          Changing to <strong>{status.pending}</strong>: open the link we sent there to finish.
        </p>
      ) : null}
      {sent ? (
        <Alert tone="ok">
          <p>We sent a link to {sent}; your address changes when you open it.</p>
        </Alert>
      ) : null}
      <form onSubmit={submit} noValidate>
        <EmailField
          id="new-email"
          label={status?.email ? "New email address" : "Email address"}
          value={email}
          onInput={edit("new-email", setEmail)}
          error={errorOf("new-email")}
        />
        <CurrentPasswordField
          id="email-password"
          label="Your password, to confirm"
          value={password}
          onInput={edit("email-password", setPassword)}
          error={errorOf("email-password")}
        />
        <FormError id="email-form-error" text={errorOf("form")} />
        {note ? (
          <p class="muted" role="status">
            {note}
          </p>
        ) : null}
        <button type="submit" class="primary" aria-disabled={busy}>
          {busy ? "Sending…" : status?.email ? "Change address" : "Add address"}
        </button>
      </form>
    </section>
  );
}
