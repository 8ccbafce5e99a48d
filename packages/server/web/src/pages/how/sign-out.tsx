/** What signing out does under the strategy and revocation mode in force. */
import type { Policy } from "../../api.js";
import { duration } from "../../format.js";

export function SignOutCard(props: { policy: Policy; accessLifetime: number }) {
  const { strategy, revocation } = props.policy;
  const lifetime = duration(props.accessLifetime);
  return (
    <section class="card" aria-labelledby="signout-heading">
      <p class="eyebrow">
        AUTH_STRATEGY={strategy}
        {strategy === "session" ? null : ` · REVOCATION=${revocation}`}
      </p>
      <h2 id="signout-heading">What signing out does here</h2>
      <ol class="steps">
        <li>
          The app sends <code>POST /auth/logout</code> with the CSRF header. The server ends your session in its store:
          from then on it is gone, whichever copy of its cookie comes back.
        </li>
        {strategy === "session" ? (
          <li>
            That is all it takes: every request is checked against the store, so the session cookie is refused on the
            very next request, on every server instance. Nothing else can still be valid.
          </li>
        ) : null}
        {strategy === "jwt" ? (
          <li>Your refresh token is retired with the session: it can never buy a new access token again.</li>
        ) : null}
        {strategy === "hybrid" ? <li>The session cookie can never renew an access token again.</li> : null}
        {strategy !== "session" && revocation === "immediate" ? (
          <li>
            Your access token is signed and would otherwise be valid until it expires (at most {lifetime} here). With{" "}
            <code>REVOCATION=immediate</code>, every latchkey server learns of the ended session at once (its change
            feed) and keeps the list of sessions ended within one token lifetime in memory, so the token is refused on
            the next request anyway, and services that follow the revocation feed refuse it too.
          </li>
        ) : null}
        {strategy !== "session" && revocation === "expiry" ? (
          <li>
            Your access token is signed, and with <code>REVOCATION=expiry</code> nothing checks it against the store: a
            copy of it keeps working until it expires, at most {lifetime} after it was issued. That is the price of
            checking tokens without a database read; the short lifetime bounds it.
          </li>
        ) : null}
        <li>
          The answer clears the cookies (<code>Max-Age=0</code>; the live log shows them cleared). The device cookie
          stays: it only says this browser has signed in to the account before, for the sign-in throttle.
        </li>
        <li>
          Your other tabs hear of it (a BroadcastChannel) and show the sign-in page too. Your other devices stay signed
          in: “Sign out everywhere” on the Devices page ends every session of your account.
        </li>
      </ol>
    </section>
  );
}
