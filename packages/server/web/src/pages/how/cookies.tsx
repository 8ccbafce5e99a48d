/**
 * The cookies card: the cookies a login sets under this deployment, each with its real
 * attributes (`GET /auth/cookies`, from the code that sets them) and whether this page's
 * requests carry it; what each attribute does; and the CSRF cookie and header.
 */
import type { Policy } from "../../api.js";
import type { CookieCatalog } from "./live.js";

type Cookie = CookieCatalog["cookies"][number];

/** What each cookie is for, per strategy where it differs. */
function purposeOf(cookie: Cookie, strategy: Policy["strategy"]): string {
  switch (cookie.role) {
    case "session":
      return strategy === "hybrid"
        ? "Your session: its public id and a secret. Read only to renew the access token."
        : "Your session: its public id and a secret. Every request is checked against the session store with it.";
    case "access":
      return "The signed access token (a JWT): requests are checked from it alone, with no database read.";
    case "refresh":
      return "The refresh token: spent once to get a new access token, and replaced each time.";
    case "csrf":
      return "The CSRF token: the one cookie scripts of this site may read, so the app can copy it into a header.";
    case "device":
      return "“This browser has signed in to this account before”: failed sign-ins from it are counted apart from a stranger's, so nobody can lock you out. It proves nothing else, and stays after sign-out.";
    case "memoryRefresh":
      return "Only for apps using the client's in-memory mode (not this one): their refresh token, sent to two routes only.";
    case "pending":
      return "Only between the password and the code of an account with a second factor: which sign-in the code finishes. It lasts five minutes, and no session exists until the code is right.";
    case "passkey":
      return "Only while a passkey is asked for (to sign in, as a second step, or to confirm it's you): which challenge the passkey answers, so an answer made for this browser works in no other. It lasts five minutes, and goes once used.";
  }
}

export function CookiesCard(props: { catalog: CookieCatalog | null; policy: Policy; remembered: boolean }) {
  const { catalog, policy } = props;
  return (
    <section class="card" aria-labelledby="cookies-heading">
      <h2 id="cookies-heading">The cookies, attribute by attribute</h2>
      <p>
        These are the cookies a sign-in sets under <code>AUTH_STRATEGY={policy.strategy}</code>, with the attributes the
        server really sends: this list comes from the same code that sets them. Scripts cannot read most of them, this
        page's included, so the server tells it their names and attributes, never their values. To see the values, open
        your browser's developer tools (Application, then Cookies).
      </p>
      {catalog === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <ul class="cookie-list">
          {catalog.cookies.map((cookie) => (
            <li key={cookie.name + cookie.mode} class="cookie" data-cookie={cookie.name}>
              <h3>
                <code>{cookie.name}</code>{" "}
                <span class={cookie.carried ? "badge current" : "badge off"}>
                  {cookie.carried ? "your browser holds it" : "not held now"}
                </span>
              </h3>
              <p>{purposeOf(cookie, policy.strategy)}</p>
              <dl class="attributes">
                <div>
                  <dt>HttpOnly</dt>
                  <dd>{cookie.httpOnly ? "yes: no script can read it" : "no: this site's scripts can read it"}</dd>
                </div>
                <div>
                  <dt>Secure</dt>
                  <dd>
                    {cookie.secure ? "yes: sent over HTTPS only" : "no (COOKIE_SECURE=false: plain-http development)"}
                  </dd>
                </div>
                <div>
                  <dt>SameSite</dt>
                  <dd>{sameSiteText(cookie.sameSite)}</dd>
                </div>
                <div>
                  <dt>Path</dt>
                  <dd>{cookie.paths.join(" and ")}</dd>
                </div>
                <div>
                  <dt>Lifetime</dt>
                  <dd>
                    {cookie.mode === "second-factor"
                      ? "five minutes, and cleared once the code is accepted"
                      : cookie.mode === "passkey"
                        ? "five minutes, and cleared once the passkey has answered"
                        : props.remembered
                          ? "until your session's absolute end (you chose “remember me”)"
                          : "until the browser closes (a session cookie)"}
                  </dd>
                </div>
              </dl>
            </li>
          ))}
        </ul>
      )}
      <h3>What the attributes do</h3>
      <dl class="explain">
        <dt>HttpOnly</dt>
        <dd>
          The browser sends the cookie but never shows it to a script. A script injected into the page (cross-site
          scripting) can still make requests while the page is open, but cannot carry your session away.
        </dd>
        <dt>Secure</dt>
        <dd>Sent over HTTPS only, so nobody on the network path can read it.</dd>
        <dt>SameSite=Lax</dt>
        <dd>
          Not sent with requests other sites start in the background (a form posted to this site, a script's fetch, an
          image); sent when you follow a link here. So another site cannot make changes in your name with your cookies.
        </dd>
        <dt>Path=/</dt>
        <dd>Sent with every request to this site. A cookie with a narrower path goes only to those routes.</dd>
        <dt>
          The <code>__Host-</code> prefix
        </dt>
        <dd>
          A promise the browser enforces: the cookie was set by this exact host, over HTTPS, with <code>Path=/</code>{" "}
          and no <code>Domain</code>. A sibling subdomain cannot plant or overwrite it. (<code>__Secure-</code> promises
          only HTTPS, which lets the in-memory mode's cookie keep its narrow path.)
        </dd>
        <dt>Session or persistent</dt>
        <dd>
          Without “remember me” the cookies carry no <code>Max-Age</code>: the browser drops them when it closes. With
          it, they last exactly as long as the session may ({Math.round(policy.rememberAbsoluteTimeout / 86_400)} days
          here), and the session's own timeouts still apply.
        </dd>
      </dl>
      <h3>The CSRF cookie and header, and why both</h3>
      <p>
        A cookie proves nothing about who sent a request: the browser attaches it on its own, even to a request another
        site's page sets off. So every request that changes something must also carry the <code>X-CSRF-Token</code>{" "}
        header with the session's token. A header can only be set by a script running on this site (another site's
        script would need this server's permission, CORS, which it never gets), and only this site's scripts can read
        the <code>__Host-csrf</code> cookie, the one without <code>HttpOnly</code>, or get the token from the sign-in
        answer. The app keeps it in memory and adds the header to every change.
      </p>
      <p>
        It is one of three locks. <code>SameSite=Lax</code> keeps the cookies off other sites' background requests in
        the first place; the server refuses any change whose <code>Origin</code> header names another site; and the
        token covers what those two miss (an older browser, a page on a sibling subdomain, which counts as the same
        site). Try it below, under “Why each defence exists”.
      </p>
    </section>
  );
}

function sameSiteText(value: Cookie["sameSite"]): string {
  if (value === "lax") return "Lax: not sent with other sites' background requests";
  if (value === "strict") return "Strict: never sent when another site sends you here";
  return "None: sent from every site";
}
