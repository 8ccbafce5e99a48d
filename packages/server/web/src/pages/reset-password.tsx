/**
 * A reset link's page: a new password for the account the link was mailed for
 * (`POST /auth/password/reset`). The token came in the address and is already out of it
 * (link-token.ts); it lives only in memory. A refused password leaves the link usable, so
 * the form stays; a refused link says why and leads to a new one.
 */
import { useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { Alert, FormError, type Problem } from "../components/form.js";
import { NewPassword } from "../components/new-password.js";
import { Link } from "../components/shell.js";
import { failureText, linkProblem } from "../email.js";
import { linkToken } from "../link-token.js";

/** A dead link: what happened, and the way to a new one. */
export function LinkRefused(props: { title: string; text: string; again: { href: string; label: string } }) {
  return (
    <Alert tone="alert" focus>
      <p>
        <strong>{props.title}</strong>
      </p>
      <p>{props.text}</p>
      <p>
        <Link href={props.again.href}>{props.again.label}</Link>
      </p>
    </Alert>
  );
}

const NEW_LINK = { href: "/forgot-password", label: "Ask for a new reset link" };
const NO_TOKEN = {
  title: "This page needs the link from the mail.",
  text: "Open the link from the password reset mail again (the page forgets it once used, or after a reload).",
};

/** What a refused reset means, on the field it concerns, or the link's own problem. */
function resetProblem(error: unknown): Problem | { link: { title: string; text: string } } {
  const link = linkProblem(error);
  if (link) return { link };
  if (error instanceof LatchkeyError && error.code === "weak_password")
    return { field: "new-password", text: error.message };
  if (error instanceof LatchkeyError && error.code === "account_disabled") {
    return {
      link: { title: "This account is disabled.", text: "Its password cannot be reset. Contact the administrator." },
    };
  }
  return { field: "form", text: failureText(error) };
}

/** `onSessionEnded`: the reset ended every session of the account, perhaps this browser's. */
export function ResetPassword(props: { onSessionEnded: () => void }) {
  const [token] = useState(() => linkToken("/reset-password"));
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [refused, setRefused] = useState<{ title: string; text: string } | null>(token ? null : NO_TOKEN);
  const [done, setDone] = useState(false);
  const edit = (field: string, set: (value: string) => void) => (value: string) => {
    set(value);
    if (problem && (problem.field === field || problem.field === "form")) setProblem(null);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const local =
      [...next].length < 8
        ? { field: "new-password", text: "Use at least 8 characters." }
        : again !== next
          ? { field: "confirm-password", text: "The two passwords differ: type it again." }
          : null;
    setProblem(local);
    if (local) return document.getElementById(local.field)?.focus();
    setBusy(true);
    try {
      await call(client.POST("/auth/password/reset", { body: { token: token as string, newPassword: next } }));
      setDone(true);
      props.onSessionEnded();
    } catch (error) {
      const found = resetProblem(error);
      if ("link" in found) setRefused(found.link);
      else {
        setProblem(found);
        document.getElementById(found.field === "form" ? "form-error" : found.field)?.focus();
      }
    } finally {
      setBusy(false);
    }
  };
  if (done) {
    return (
      <Alert tone="ok" focus>
        <p>
          <strong>Your password is changed and every device is signed out.</strong>
        </p>
        <p>You can now sign in with your new password.</p>
      </Alert>
    );
  }
  if (refused) return <LinkRefused {...refused} again={NEW_LINK} />;
  const errorOf = (field: string) => (problem?.field === field ? problem.text : null);
  return (
    <form onSubmit={submit} noValidate>
      <p class="muted">Choose a new password. Every device signed in to your account will be signed out.</p>
      <NewPassword
        value={next}
        onInput={edit("new-password", setNext)}
        again={again}
        onAgain={edit("confirm-password", setAgain)}
        hint="At least 8 characters. Long passphrases are welcome; very common passwords are refused."
        error={errorOf("new-password")}
        againError={errorOf("confirm-password")}
      />
      <FormError text={errorOf("form")} />
      <button type="submit" class="primary wide" disabled={busy}>
        {busy ? "Changing…" : "Change password"}
      </button>
    </form>
  );
}
