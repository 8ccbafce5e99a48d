/**
 * The page of the link mailed to the old address when the address is changed: undoes the
 * change on a button press (`POST /auth/email/revert`), never on load, since it also ends
 * every session and mails a reset link, which a mail scanner opening links must not trigger.
 */
import { useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { Alert } from "../components/form.js";
import { failureText, linkProblem } from "../email.js";
import { linkToken } from "../link-token.js";
import { LinkRefused } from "./reset-password.js";

const NO_TOKEN = {
  title: "This page needs the link from the mail.",
  text: "Open the link from the notice about your address change again (the page forgets it once used, or after a reload).",
};

/** `onSessionEnded`: undoing the change ended every session of the account, perhaps this browser's. */
export function RevertEmail(props: { onSessionEnded: () => void }) {
  const [token] = useState(() => linkToken("/revert-email"));
  const [busy, setBusy] = useState(false);
  /** The answer: the address the account has now (`null`: none, another account proved the old one). */
  const [restored, setRestored] = useState<{ email: string | null } | null>(null);
  const [refused, setRefused] = useState<{ title: string; text: string } | null>(token ? null : NO_TOKEN);
  const [error, setError] = useState<string | null>(null);
  const revert = async () => {
    setBusy(true);
    setError(null);
    try {
      const { email } = await call(client.POST("/auth/email/revert", { body: { token: token as string } }));
      setRestored({ email });
      props.onSessionEnded();
    } catch (failure) {
      const link = linkProblem(failure);
      // An undo link is mailed once, for one change: there is no new one to ask for.
      if (link && failure instanceof LatchkeyError && failure.code === "link_used") {
        setRefused({
          title: link.title,
          text: "The change was undone with it then. If it was not you, reset your password and check your account's security log.",
        });
      } else if (link && failure instanceof LatchkeyError && failure.code === "link_expired") {
        setRefused({
          title: link.title,
          text: "An undo link works for 7 days. If someone else changed your address, reset your password from your current address, or ask the administrator.",
        });
      } else if (link) setRefused(link);
      else if (failure instanceof LatchkeyError && failure.code === "account_disabled") {
        setRefused({ title: "This account is disabled.", text: "Contact the administrator." });
      } else setError(failureText(failure));
    } finally {
      setBusy(false);
    }
  };
  if (restored?.email) {
    return (
      <Alert tone="ok" focus>
        <p>
          <strong>Your address is {restored.email} again, and every device is signed out.</strong>
        </p>
        <p>
          We sent a link to {restored.email} to choose a new password: whoever changed the address may know the old one.
        </p>
      </Alert>
    );
  }
  if (restored) {
    return (
      <Alert tone="ok" focus>
        <p>
          <strong>The change is undone, and every device is signed out.</strong>
        </p>
        <p>
          Another account has confirmed your previous address since, so your account now has no address. We sent a link
          to choose a new password to the previous address: sign in with it, then add an address on the Security page.
        </p>
      </Alert>
    );
  }
  if (refused) return <LinkRefused {...refused} again={{ href: "/forgot-password", label: "Reset your password" }} />;
  return (
    <>
      <p>Someone changed your account's email address. If it was not you, undo it here. This will:</p>
      <ul class="steps">
        <li>keep your old address on the account (the new one is dropped);</li>
        <li>sign out every device, yours and anyone else's;</li>
        <li>mail a link to your old address to choose a new password.</li>
      </ul>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="button" class="danger wide" disabled={busy} onClick={revert}>
        {busy ? "Undoing…" : "Undo the change and sign everyone out"}
      </button>
    </>
  );
}
