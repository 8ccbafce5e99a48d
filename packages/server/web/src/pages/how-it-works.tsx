import { useEffect, useState } from "preact/hooks";
import { call, client, LatchkeyError, type Me, type Policy, type TokenView } from "../api.js";
import { Bar } from "../components/bar.js";
import { duration, when } from "../format.js";
import { SecretRenewal } from "./secret-renewal.js";

const STRATEGIES: Record<Policy["strategy"], { title: string; body: string[] }> = {
  session: {
    title: "Server-side sessions in a cookie",
    body: [
      "When you signed in, the server created a session and gave your browser an opaque identifier in the __Host-sid cookie. The cookie is HttpOnly: this page's scripts cannot read it, so a script injected into a page cannot steal it.",
      "Every request you make is checked against the session store. That costs one database read, and it means signing out, or signing out a device, takes effect on the very next request.",
    ],
  },
  jwt: {
    title: "JWT access token + rotating refresh token",
    body: [
      "When you signed in, the server gave your browser a short-lived signed access token (__Host-at) and a long-lived refresh token (__Host-rt), both in HttpOnly cookies. Any service holding the public key can verify the access token without asking a database.",
      "Shortly before the access token expires, this page asks for a new one with the refresh token, which is replaced every time it is used. If an old refresh token is ever used again, someone copied it: the whole session is ended. Tabs take turns (a Web Lock) so they never spend the same refresh token twice.",
      "Tokens are normally valid until they expire even after sign-out. latchkey keeps, in every server's memory, the list of sessions ended in the last few minutes, so a signed-out token is refused at once anyway.",
    ],
  },
  hybrid: {
    title: "Hybrid: a JWT renewed from a server-side session",
    body: [
      "Your browser holds a short-lived signed access token (__Host-at) and a session cookie (__Host-sid), both HttpOnly. Most requests are checked from the token alone, with no database read.",
      "When the access token has expired, the server looks the session up once and puts a fresh token on the same response, so this page never has to refresh anything. A session that has ended is never renewed: signing out works like a classic session.",
    ],
  },
};

export function HowItWorks(props: { me: Me; policy: Policy }) {
  const { policy } = props;
  const [me, setMe] = useState(props.me);
  const [token, setToken] = useState<TokenView | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const [fetchedAt, setFetchedAt] = useState(Date.now());

  useEffect(() => {
    const refresh = async () => {
      setMe(await call(client.GET("/auth/me")).catch(() => me));
      if (policy.strategy !== "session") {
        try {
          setToken(await call(client.GET("/auth/access-token")));
          setFetchedAt(Date.now());
          setTokenError(null);
        } catch (error) {
          setTokenError(error instanceof LatchkeyError ? error.message : "The token could not be read.");
        }
      }
    };
    void refresh();
    // Poll often enough to show each new access token (they may live only seconds).
    const poll = setInterval(refresh, Math.max(1000, Math.min(5000, policy.accessTokenTtl * 1000)));
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(poll);
      clearInterval(tick);
    };
  }, [policy.strategy]);

  const explanation = STRATEGIES[policy.strategy];
  const s = me.session;
  return (
    <div class="how">
      <section class="card" aria-labelledby="strategy-heading">
        <p class="eyebrow">AUTH_STRATEGY={policy.strategy}</p>
        <h2 id="strategy-heading">{explanation.title}</h2>
        {explanation.body.map((p) => (
          <p key={p}>{p}</p>
        ))}
        <p class="muted">
          {policy.strategy === "session" ? null : (
            <>
              Revocation: <strong>{policy.revocation}</strong> · access tokens live {duration(policy.accessTokenTtl)} ·{" "}
            </>
          )}
          Sessions end after {duration(policy.sessionIdleTimeout)} without use or{" "}
          {duration(policy.sessionAbsoluteTimeout)} after sign-in ({duration(policy.rememberIdleTimeout)} and{" "}
          {duration(policy.rememberAbsoluteTimeout)} with “remember me”).
        </p>
      </section>

      <section class="card" aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">This session, live</h2>
        <Bar
          label="Absolute lifetime"
          start={Date.parse(s.createdAt)}
          end={Date.parse(s.expiresAt)}
          now={now}
          startLabel={`signed in ${when(s.createdAt)}`}
          endLabel={`ends ${when(s.expiresAt)}, used or not`}
        />
        <Bar
          label="Idle window"
          start={Date.parse(s.lastSeenAt)}
          end={Date.parse(s.idleExpiresAt)}
          now={now}
          startLabel={`last seen ${when(s.lastSeenAt)}`}
          endLabel={`ends ${when(s.idleExpiresAt)} unless used`}
        />
        <p class="muted">
          The server records “last seen” at most once a minute, or once per tenth of the idle timeout when that is
          shorter, so the idle window moves forward in steps while you use the app. Session id <code>{s.id}</code> is
          public; the secret that proves it never leaves its cookie.
        </p>
      </section>

      <SecretRenewal strategy={policy.strategy} secret={me.secret} now={now} />

      {policy.strategy !== "session" ? (
        <section class="card" aria-labelledby="token-heading">
          <h2 id="token-heading">Your current access token, decoded</h2>
          {token ? (
            <>
              <Bar
                label="Access token lifetime"
                start={Number(token.claims.iat) * 1000}
                end={Number(token.claims.exp) * 1000}
                now={now}
                startLabel="issued"
                endLabel={`expires in ${duration(token.expiresIn - (now - fetchedAt) / 1000)}`}
              />
              <div class="token">
                <div>
                  <h3>Header</h3>
                  <pre>{JSON.stringify(token.header, null, 2)}</pre>
                </div>
                <div>
                  <h3>Claims</h3>
                  <pre>{JSON.stringify(token.claims, null, 2)}</pre>
                </div>
              </div>
              <p class="muted">
                Decoded by the server from your HttpOnly cookie: the token itself never reaches this page. The third
                part of a JWT, the signature, is what makes these claims trustworthy.
              </p>
            </>
          ) : (
            <p class="muted">{tokenError ?? "Loading…"}</p>
          )}
        </section>
      ) : null}
    </div>
  );
}
