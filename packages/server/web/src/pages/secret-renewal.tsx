/**
 * The "How it works" card on the session secret: for a cookie session (`session`,
 * `hybrid`), when it last changed and from when its next use renews it (`GET /auth/me`'s
 * `secret`), and why; for `jwt`, that the refresh token rotates instead.
 */
import type { Me, Policy } from "../api.js";
import { Bar } from "../components/bar.js";
import { duration, moment } from "../format.js";

export function SecretRenewal(props: { strategy: Policy["strategy"]; secret: Me["secret"]; now: number }) {
  const { strategy, secret, now } = props;
  if (strategy === "jwt") return <RefreshTokensRotate />;
  if (!secret) return null;
  const renewedAt = Date.parse(secret.renewedAt);
  const renewsAfter = secret.renewsAfter === null ? null : Date.parse(secret.renewsAfter);
  const grace = duration(secret.graceSeconds);
  // Hybrid reads its session cookie only to renew the access token.
  const next = strategy === "hybrid" ? "token renewal" : "request";
  return (
    <section class="card" aria-labelledby="secret-heading">
      <p class="eyebrow">
        SESSION_ROTATE_INTERVAL={renewsAfter === null ? 0 : Math.round((renewsAfter - renewedAt) / 1000)} ·
        SESSION_ROTATE_GRACE={secret.graceSeconds}
      </p>
      <h2 id="secret-heading">A secret that renews as you use it</h2>
      <p>
        Your __Host-sid cookie carries the session's public id and a secret that proves it. A copy of the cookie
        (malware reading a browser profile, a saved network log, a shared computer) would otherwise work for as long as
        the session lives, so the server replaces the secret as you use the session.
        {strategy === "hybrid"
          ? " Here the session cookie is read only when your access token is renewed, so that is when its secret renews."
          : null}
      </p>
      {renewsAfter === null ? (
        <p>
          Renewal is off on this server: the secret last changed at{" "}
          <time dateTime={secret.renewedAt}>{moment(secret.renewedAt, now)}</time>, when you signed in or changed your
          password, and changes again only then.
        </p>
      ) : (
        <>
          <Bar
            label="Until the secret renews"
            start={renewedAt}
            end={renewsAfter}
            now={now}
            startLabel={`renewed ${moment(secret.renewedAt, now)}`}
            endLabel={
              now < renewsAfter
                ? `renews on your first ${next} after ${moment(secret.renewsAfter as string, now)}`
                : `due: your next ${next} renews it`
            }
          />
          <p>
            Once {duration((renewsAfter - renewedAt) / 1000)} have passed since the last change, the next request that
            records your use anyway (the “last seen” above) gets a new cookie: no extra database write.
          </p>
        </>
      )}
      <p>
        Requests already on their way, and your other tabs, may still send the old secret for a moment: it keeps working
        for {grace} after a renewal. Sent later, it means two browsers hold this session, yours and a copy, and the
        server cannot tell which one is yours, so it ends the session for both. The sign-in page then says why, and the
        Security page shows where each came from.
      </p>
    </section>
  );
}

/** Under `jwt` there is no session secret: the refresh token rotates on every use instead. */
function RefreshTokensRotate() {
  return (
    <section class="card" aria-labelledby="secret-heading">
      <h2 id="secret-heading">No session cookie to renew</h2>
      <p>
        This strategy gives your browser no session secret to guard: the refresh token plays that part, and it is
        replaced every time it is used rather than on a schedule. An old refresh token that comes back means a copy, and
        the whole session ends. The session and hybrid strategies protect their session cookie the same way, by renewing
        its secret as you use it.
      </p>
    </section>
  );
}
