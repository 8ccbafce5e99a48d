/**
 * Why each defence exists, each with a "try it" the person can do and watch fail: a button
 * that sends a change without the CSRF header and shows the 403, and steps for a second
 * window or the developer tools for the rest (a script cannot copy an HttpOnly cookie;
 * that is the point).
 */
import { useState } from "preact/hooks";
import type { Policy } from "../../api.js";
import { duration } from "../../format.js";
import { loggingFetch } from "../../traffic.js";

export function DefencesCard(props: { policy: Policy; sessionId: string }) {
  const { policy } = props;
  const origin = location.origin;
  const credential = policy.strategy === "jwt" ? "__Host-rt" : "__Host-sid";
  return (
    <section class="card" aria-labelledby="defences-heading">
      <h2 id="defences-heading">Why each defence exists, and how to watch it work</h2>
      <p>
        Each of these stops one real attack. Try them: in this tab, in a second window (a private window is a second
        browser as far as cookies go), or in your browser's developer tools.
      </p>

      <article class="defence" aria-labelledby="csrf-try-heading">
        <h3 id="csrf-try-heading">Cross-site request forgery: SameSite, Origin, and the CSRF token</h3>
        <p>
          Another site's page could make your browser send a request here, and the browser would attach your cookies.
          Three locks stop it: <code>SameSite=Lax</code> keeps the cookies off, the server refuses a change whose{" "}
          <code>Origin</code> is another site, and a change must carry the <code>X-CSRF-Token</code> header, which only
          this site's scripts can produce.
        </p>
        <CsrfTry />
        <p>
          <strong>Try the Origin check:</strong> open any other site, open the developer tools' console and run{" "}
          <code>{`fetch("${origin}/api/todos", { method: "POST", credentials: "include", body: "{}" })`}</code>. The
          Network tab shows the answer: <code>403</code>, <code>forbidden_origin</code> (and without the cookies at all,
          thanks to <code>SameSite</code>).
        </p>
      </article>

      <article class="defence" aria-labelledby="fixation-heading">
        <h3 id="fixation-heading">Session fixation</h3>
        <p>
          An attacker who could plant a session id in your browser before you sign in would share your session once you
          did. latchkey never accepts a session it did not just create: signing in ends any session behind the cookies
          the browser brought and sets brand-new ones.
        </p>
        <p>
          <strong>Try it:</strong> in the developer tools (Application, Cookies) note the value of{" "}
          <code>{credential}</code>. Sign out and in again: the value is new. Put the old value back (double-click it)
          and reload: you are signed out, because that session no longer exists.
        </p>
      </article>

      <article class="defence" aria-labelledby="throttle-heading">
        <h3 id="throttle-heading">Sign-in throttling</h3>
        <p>
          Without a limit, a script could try passwords for ever. After a few wrong passwords for one account (5 by
          default, within {duration(900)}) its sign-ins wait, with the time to wait in the answer. This browser is not
          locked out with the stranger: its device cookie shows it signed in here before, and it is counted apart.
        </p>
        <p>
          <strong>Try it:</strong> in a private window, sign in as yourself with a wrong password until the form says to
          wait. Then sign in here, in this window, with the right one: it works.
        </p>
      </article>

      <article class="defence" aria-labelledby="hash-heading">
        <h3 id="hash-heading">Hashed secrets</h3>
        <p>
          A stolen copy of the database must not sign anyone in. Your password is stored as an argon2id hash, slow to
          guess on purpose; a session or refresh token is a public id and a secret, and only the secret's SHA-256 is
          stored. The server checks a cookie by hashing the secret it brings and comparing.
        </p>
        <p>
          <strong>Try it:</strong> in the developer tools, the value of <code>{credential}</code> is{" "}
          <code>id.secret</code>.
          {policy.strategy === "jwt"
            ? " The id is your refresh token's, public; "
            : ` The part before the dot is your session id, ${props.sessionId}, the same the Devices page shows; `}
          the part after it appears nowhere on the server, not even in its database.
        </p>
      </article>

      <article class="defence" aria-labelledby="rotation-heading">
        <h3 id="rotation-heading">
          {policy.strategy === "jwt"
            ? "Refresh-token rotation with reuse detection"
            : "Secret renewal with reuse detection"}
        </h3>
        {policy.strategy === "jwt" ? (
          <p>
            A refresh token is spent each time it is used, and a new one comes with the new access token. If a spent one
            ever comes back (later than {duration(policy.refreshReuseLeeway)}, which forgives two tabs racing), two
            parties hold the session, you and a thief, and the server cannot tell which is which: it ends the session
            for both.
          </p>
        ) : (
          <p>
            The session cookie's secret is replaced as you use the session. If an old secret comes back after its grace,
            two parties hold the session, you and a thief, and the server cannot tell which is which: it ends the
            session for both.
          </p>
        )}
        <p>
          <strong>Try it:</strong> copy the value of <code>{credential}</code> from the developer tools. Wait until the
          live log above shows {policy.strategy === "jwt" ? "a refresh" : "the session's secret renewed"}, then send the
          old value from a terminal (a second browser):
        </p>
        <pre class="try">
          {policy.strategy === "jwt"
            ? `curl -X POST ${origin}/auth/refresh \\\n  -H 'content-type: application/json' \\\n  -d '{"refresh_token": "PASTE-THE-OLD-VALUE"}'`
            : `curl ${origin}/auth/me \\\n  -H 'cookie: __Host-sid=PASTE-THE-OLD-VALUE'`}
        </pre>
        <p>
          The answer is a <code>401</code>, and this tab's next request signs you out; the Security page records the
          reuse, with both devices.
        </p>
      </article>
    </section>
  );
}

/** Sends a change without the CSRF header, from this very page, and shows the refusal. */
function CsrfTry() {
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    try {
      // Not through the latchkey client, which would add the header: a bare fetch with the cookies.
      const response = await loggingFetch("/api/todos", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "sent without the CSRF header" }),
      });
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      setResult(
        response.ok
          ? `${response.status}: accepted. That should not happen.`
          : `${response.status} ${body.error?.code ?? ""}: ${body.error?.message ?? ""}`,
      );
    } catch {
      setResult("The server could not be reached.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="try-it">
      <p>
        <strong>Try it:</strong> this button sends the server a new to-do with your cookies but without the header, as a
        forged request would.
      </p>
      <button type="button" class="secondary" disabled={busy} onClick={() => void send()}>
        Send a change without the CSRF header
      </button>
      <p class="try-result" role="status">
        {result === null ? "" : `The server answered ${result}`}
      </p>
    </div>
  );
}
