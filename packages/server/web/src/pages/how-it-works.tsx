/**
 * "How it works": the mechanism of the strategy in force, live, card by card: the
 * strategy, this session's timeline, its secret, the cookies, the access token taken
 * apart, the app's own requests, sign-out, and the defences with a "try it" each. The
 * page itself never keeps the session alive (how/live.ts says how it reads).
 */
import type { Me, Policy } from "../api.js";
import { Bar } from "../components/bar.js";
import { Link } from "../components/shell.js";
import { duration, when } from "../format.js";
import { CookiesCard } from "./how/cookies.js";
import { DefencesCard } from "./how/defences.js";
import { type HowData, useHowData, useNow } from "./how/live.js";
import { accessLifetimeOf, idleTimeoutOf, remembered, TOUCH_INTERVAL, touchIntervalOf } from "./how/rules.js";
import { SignOutCard } from "./how/sign-out.js";
import { TokenCard } from "./how/token.js";
import { TrafficCard } from "./how/traffic-log.js";
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
      "Shortly before the access token expires, the app asks for a new one with the refresh token, which is replaced every time it is used. If an old refresh token is ever used again, someone copied it: the whole session is ended. Tabs take turns (a Web Lock) so they never spend the same refresh token twice.",
    ],
  },
  hybrid: {
    title: "Hybrid: a JWT renewed from a server-side session",
    body: [
      "Your browser holds a short-lived signed access token (__Host-at) and a session cookie (__Host-sid), both HttpOnly. Most requests are checked from the token alone, with no database read.",
      "When the access token has expired, the server looks the session up once and puts a fresh token on the same response, so the app never has to refresh anything. A session that has ended is never renewed: signing out works like a classic session.",
    ],
  },
};

export function HowItWorks(props: { me: Me; policy: Policy }) {
  const { policy } = props;
  const data = useHowData(props.me, policy);
  const now = useNow();
  const session = data.me.session;
  const idleTimeout = idleTimeoutOf(session, policy);
  const accessLifetime = accessLifetimeOf(idleTimeout, policy);
  const explanation = STRATEGIES[policy.strategy];
  return (
    <div class="how">
      <section class="card" aria-labelledby="strategy-heading">
        <p class="eyebrow">AUTH_STRATEGY={policy.strategy}</p>
        <h2 id="strategy-heading">{explanation.title}</h2>
        {explanation.body.map((p) => (
          <p key={p}>{p}</p>
        ))}
        <p class="muted policy-line">
          {policy.strategy === "session" ? null : (
            <>
              Revocation: <strong>{policy.revocation}</strong> · access tokens live{" "}
              <strong class="access-lifetime">{duration(accessLifetime)}</strong>
              {accessLifetime < policy.accessTokenTtl
                ? ` (ACCESS_TOKEN_TTL is ${duration(policy.accessTokenTtl)}, but a token never lives more than half the session's idle timeout)`
                : null}{" "}
              ·{" "}
            </>
          )}
          Sessions end after {duration(policy.sessionIdleTimeout)} without use or{" "}
          {duration(policy.sessionAbsoluteTimeout)} after sign-in ({duration(policy.rememberIdleTimeout)} and{" "}
          {duration(policy.rememberAbsoluteTimeout)} with “remember me”).
        </p>
      </section>

      <SessionCard data={data} policy={policy} now={now} idleTimeout={idleTimeout} />

      <SecretRenewal strategy={policy.strategy} secret={data.me.secret} now={now} />

      <CookiesCard catalog={data.cookies} policy={policy} remembered={remembered(session, policy)} />

      {policy.strategy !== "session" ? (
        <TokenCard policy={policy} token={data.token} error={data.tokenError} keys={data.keys} now={now} />
      ) : null}

      <TrafficCard catalog={data.cookies} policy={policy} />

      <SignOutCard policy={policy} accessLifetime={accessLifetime} />

      <DefencesCard policy={policy} sessionId={session.id} />
      <section class="card" aria-labelledby="more-heading">
        <h2 id="more-heading">Go further</h2>
        <ul>
          <li>
            <Link href="/compare">Compare the strategies</Link>: the same sign-in, request, sign-out and reuse under all
            three, with what travels and what is stored at each step.
          </li>
          <li>
            <Link href="/lab">The insecure lab</Link>: a fake token in <code>localStorage</code> read by an injected
            script, and a token in a URL leaking through <code>Referer</code>, shown safely.
          </li>
        </ul>
      </section>
    </div>
  );
}

/** The session's two clocks, and the true rule for when "last seen" moves. */
function SessionCard(props: { data: HowData; policy: Policy; now: number; idleTimeout: number }) {
  const { data, policy, now, idleTimeout } = props;
  const s = data.me.session;
  const touch = touchIntervalOf(idleTimeout);
  const idleEnd = Date.parse(s.idleExpiresAt);
  const whatReads =
    policy.strategy === "session"
      ? "Every request of the app reads your session."
      : policy.strategy === "jwt"
        ? "Most requests prove themselves with the access token alone and never read your session: only a refresh, and reading your account (GET /auth/me), do."
        : "Most requests prove themselves with the access token alone and never read your session: only a renewal of the access token, and reading your account (GET /auth/me), do.";
  return (
    <section class="card" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">This session, live</h2>
      <Bar
        label="Absolute lifetime"
        start={Date.parse(s.createdAt)}
        end={Date.parse(s.expiresAt)}
        now={now}
        startLabel={`signed in ${when(s.createdAt)}`}
        endLabel={`ends ${when(s.expiresAt)}, used or not`}
        overLabel="ended"
      />
      <Bar
        label="Idle window"
        start={Date.parse(s.lastSeenAt)}
        end={idleEnd}
        now={now}
        startLabel={`last seen ${when(s.lastSeenAt)}`}
        endLabel={`ends ${when(s.idleExpiresAt)} unless used`}
        overLabel="ended"
      />
      <p class="touch-rule">
        {whatReads} When one does, the server writes “last seen”, and so moves the idle window, only if{" "}
        <strong>{duration(touch)}</strong> have passed since it last did: the shorter of {duration(TOUCH_INTERVAL)} and
        a tenth of this session's idle timeout ({duration(idleTimeout)}). So the window moves in steps, and may end up
        to {duration(touch)} early, never late.
      </p>
      <p class="idle-note">
        This page does not keep your session alive: it read your session once when it opened and counts down on its own.
        It reads again only after the app's own requests (the live log below) and once when the idle window ends.
        {now < idleEnd
          ? ` Leave this tab alone and you will be signed out in about ${duration((idleEnd - now) / 1000)}.`
          : " The idle window has ended: the server no longer accepts this session."}
      </p>
      <p class="muted">
        Session id <code>{s.id}</code> is public; the secret that proves it never leaves its cookie.
      </p>
    </section>
  );
}
