/**
 * The banner above every signed-in page while the account's address is not confirmed:
 * where the link went, and a button to send it again.
 */
import { useEmail } from "../email.js";
import { ResendLink } from "./resend-link.js";

export function EmailBanner() {
  const status = useEmail();
  if (!status?.email || status.verified) return null;
  return (
    <section class="alert tone-warning email-banner" aria-label="Confirm your email address">
      <p>
        <strong>Confirm your address: we sent a link to {status.email}.</strong>{" "}
        {status.required
          ? "You need it confirmed to sign in next time."
          : "Open it to confirm that the address is yours."}
      </p>
      <ResendLink id="banner-resend" email={status.email} label="Send again" />
    </section>
  );
}
