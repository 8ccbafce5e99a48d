/**
 * "Send the link again": asks for a new confirmation link (`POST /auth/email/verification`).
 * The server answers the same whether or not an unconfirmed account has the address, so
 * the confirmation says where it went only as "if": nothing here tells who has an account.
 */
import { useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { failureText, looksLikeEmail } from "../email.js";
import { EmailField } from "./form.js";

/**
 * A button when the address is known (the signed-in banner), else a field for it too.
 * `id` prefixes the elements' ids, for two on one page.
 *
 * @example
 * <ResendLink id="unverified" email={null} />
 */
export function ResendLink(props: { id: string; email: string | null; label?: string }) {
  const [email, setEmail] = useState(props.email ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field: boolean; text: string } | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const fieldId = `${props.id}-email`;
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const address = email.trim();
    if (!looksLikeEmail(address)) {
      setError({ field: true, text: "Enter the email address of your account, like name@example.com." });
      document.getElementById(fieldId)?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    setSent(null);
    try {
      await call(client.POST("/auth/email/verification", { body: { email: address } }));
      setSent(address);
    } catch (failure) {
      const onField = failure instanceof LatchkeyError && failure.code === "invalid_request" && props.email === null;
      setError({ field: onField, text: failureText(failure) });
      if (onField) document.getElementById(fieldId)?.focus();
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="resend" onSubmit={submit} noValidate>
      {props.email === null ? (
        <EmailField
          id={fieldId}
          label="Your email address"
          value={email}
          onInput={(value) => {
            setEmail(value);
            setError(null);
          }}
          error={error?.field ? error.text : null}
        />
      ) : null}
      {/* aria-disabled, not disabled: a disabled button drops the focus to the page's start. */}
      <button type="submit" class="secondary" aria-disabled={busy}>
        {busy ? "Sending…" : (props.label ?? "Send the link again")}
      </button>
      {sent ? (
        <p class="success" role="status">
          {props.email === null
            ? `If an account with an unconfirmed address has ${sent}, we've sent a new link to it.`
            : `We sent a new link to ${sent}.`}
        </p>
      ) : null}
      {error && !error.field ? (
        <p class="error" role="alert">
          {error.text}
        </p>
      ) : null}
    </form>
  );
}
