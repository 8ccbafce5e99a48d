/**
 * A confirmation link's page: confirms the address at once (`POST /auth/email/verify`),
 * once per link however often the page renders, and says which address is now confirmed,
 * or why the link did not work, with a way to get a new one.
 */
import { useEffect, useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { Alert } from "../components/form.js";
import { ResendLink } from "../components/resend-link.js";
import { failureText, linkProblem, reloadEmail } from "../email.js";
import { linkToken } from "../link-token.js";

type Outcome =
  | { kind: "verified"; email: string }
  | { kind: "link"; title: string; text: string }
  | { kind: "failed"; text: string };

// One request per token, even if the page is drawn again or mounted twice: a link is
// single-use, and a second request would report the first one's success as `link_used`.
const asked = new Map<string, Promise<Outcome>>();

async function verify(token: string): Promise<Outcome> {
  try {
    const { email } = await call(client.POST("/auth/email/verify", { body: { token } }));
    return { kind: "verified", email };
  } catch (error) {
    const link = linkProblem(error);
    if (link) return { kind: "link", ...link };
    if (error instanceof LatchkeyError && error.code === "email_taken") {
      return {
        kind: "link",
        title: "Another account now has this address.",
        text: "It was confirmed for another account since this link was sent. Use another address.",
      };
    }
    // The server out of reach: the link is unspent, so the next try may ask again.
    asked.delete(token);
    return { kind: "failed", text: failureText(error) };
  }
}

export function VerifyEmail(props: { signedIn: boolean }) {
  const [token] = useState(() => linkToken("/verify-email"));
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!token) return;
    let current = true;
    const pending = asked.get(token) ?? verify(token);
    asked.set(token, pending);
    pending.then((result) => {
      if (!current) return;
      setOutcome(result);
      if (result.kind === "verified" && props.signedIn) void reloadEmail();
    });
    return () => {
      current = false;
    };
  }, [token, attempt, props.signedIn]);

  if (!token) {
    return (
      <Alert tone="alert" focus>
        <p>
          <strong>This page needs the link from the mail.</strong>
        </p>
        <p>Open the confirmation link from the mail again (the page forgets it once used, or after a reload).</p>
      </Alert>
    );
  }
  if (outcome === null) {
    return (
      <p class="muted" role="status" aria-busy="true">
        Confirming your address…
      </p>
    );
  }
  if (outcome.kind === "verified") {
    return (
      <Alert tone="ok" focus>
        <p>
          <strong>Your address {outcome.email} is confirmed.</strong>
        </p>
        <p>Password reset links and security notices will go to it.</p>
      </Alert>
    );
  }
  if (outcome.kind === "failed") {
    return (
      <>
        <p class="error" role="alert">
          {outcome.text}
        </p>
        <button type="button" class="secondary" onClick={() => setAttempt((n) => n + 1)}>
          Try again
        </button>
      </>
    );
  }
  return (
    <>
      <Alert tone="alert" focus>
        <p>
          <strong>{outcome.title}</strong>
        </p>
        <p>{outcome.text}</p>
      </Alert>
      <h2 class="subhead">Get a new confirmation link</h2>
      <ResendLink id="verify-again" email={null} />
    </>
  );
}
