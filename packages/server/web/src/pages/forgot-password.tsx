/**
 * "Forgot your password?": asks for a reset link by email (`POST /auth/password/forgot`).
 * The answer is the same whether or not an account has the address, so the page says the
 * same neutral thing in every case: nobody learns from it who has an account.
 */
import { useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { Alert, EmailField, FormError, type Problem } from "../components/form.js";
import { failureText, looksLikeEmail } from "../email.js";

/** A link's lifetime in words: "30 minutes", "2 hours". */
function lifetime(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

export function ForgotPassword(props: { resetLinkTtl: number | null }) {
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [sent, setSent] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const address = email.trim();
    if (!looksLikeEmail(address)) {
      setProblem({ field: "email", text: "Enter the email address of your account, like name@example.com." });
      document.getElementById("email")?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await call(client.POST("/auth/password/forgot", { body: { email: address } }));
      setSent(true);
    } catch (error) {
      const onField = error instanceof LatchkeyError && error.code === "invalid_request";
      setProblem({ field: onField ? "email" : "form", text: failureText(error) });
      document.getElementById(onField ? "email" : "form-error")?.focus();
    } finally {
      setBusy(false);
    }
  };
  if (sent) {
    return (
      <>
        <Alert tone="ok" focus>
          <p>
            <strong>
              If an account has this address, we've sent a link to it.
              {props.resetLinkTtl === null ? "" : ` It works for ${lifetime(props.resetLinkTtl)}.`}
            </strong>
          </p>
          <p>Open it on this device or another one to choose a new password. Nothing arrived? Check the spam folder.</p>
        </Alert>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setSent(false);
            setEmail("");
          }}
        >
          Use another address
        </button>
      </>
    );
  }
  return (
    <>
      <p class="muted">Enter your account's email address: we'll send a link to choose a new password.</p>
      <form onSubmit={submit} noValidate>
        <EmailField
          id="email"
          label="Email address"
          value={email}
          onInput={(value) => {
            setEmail(value);
            setProblem(null);
          }}
          error={problem?.field === "email" ? problem.text : null}
        />
        <FormError text={problem?.field === "form" ? problem.text : null} />
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? "Sending…" : "Send the link"}
        </button>
      </form>
      <p class="muted small-print">
        An account without an email address cannot be reset this way: ask the administrator.
      </p>
    </>
  );
}
