/**
 * "Compare the strategies": the same sign-in, protected request, sign-out and reuse of the
 * signed-out credential under every strategy, side by side. The server runs them on
 * throwaway in-process instances (`GET /api/demo/compare`), whatever strategy it runs
 * itself, and sends what travelled and what was stored with every secret redacted to a
 * short fingerprint: this page only lays the transcript out.
 */
import { useEffect, useState } from "preact/hooks";
import { call, client } from "../api.js";
import { duration } from "../format.js";
import type { paths } from "../generated/openapi";

type Comparison = paths["/api/demo/compare"]["get"]["responses"][200]["content"]["application/json"];
type Flow = Comparison["flows"][number];
type Step = Flow["steps"][number];
type StepName = Step["name"];

const STEPS: Array<{ name: StepName; title: string; why: string }> = [
  {
    name: "sign-in",
    title: "1. Sign in",
    why: "The same username and password under each strategy. What differs is what the answer sets, and what the server writes down.",
  },
  {
    name: "request",
    title: "2. A protected request",
    why: "The browser sends its cookies by itself. A session cookie is looked up in the store; an access token is checked by its signature alone.",
  },
  {
    name: "sign-out",
    title: "3. Sign out",
    why: "An unsafe request: the CSRF header goes with the cookies. The answer clears every cookie; the server ends the session.",
  },
  {
    name: "reuse",
    title: "4. Reuse the signed-out credential",
    why: "The cookies held before signing out, sent again, as a copy of them (a stolen cookie, a shared computer) would be.",
  },
];

/** What each flow's answer to a step means; the transcript shows the evidence. */
const NOTES: Partial<Record<string, Partial<Record<StepName, string>>>> = {
  session: {
    "sign-in":
      "One opaque cookie, __Host-sid (id and secret); the store keeps the session row with a hash of the secret.",
    request: "The store read finds the row and checks the secret's hash.",
    "sign-out": "The row is deleted: there is nothing left to accept.",
    reuse: "The cookie names a row that no longer exists: refused.",
  },
  jwt: {
    "sign-in":
      "A signed access token (__Host-at) and a refresh token (__Host-rt); the store keeps the session and the refresh token's hash.",
    request: "The signature is checked with the public key: no store read.",
    "sign-out":
      "The session and its refresh token are gone, and the ended session goes on the change feed every instance follows.",
    reuse: "The token's signature is still valid, but its session is on the revocation list: refused at once.",
  },
  hybrid: {
    "sign-in": "A signed access token and a session cookie: the token for speed, the session for control.",
    request: "Checked from the access token alone, as under jwt.",
    "sign-out": "The session row is deleted; the ended session goes on the change feed.",
    reuse: "Refused: revoked like jwt's token, and the session that could renew it is gone.",
  },
  "jwt-expiry": {
    "sign-in": "The same as jwt; only the revocation mode differs (REVOCATION=expiry).",
    request: "The signature alone, as under jwt.",
    "sign-out": "The session ends in the store as under jwt.",
    reuse:
      "Accepted: with REVOCATION=expiry a route that does not load the session trusts the token until its exp (at most ACCESS_TOKEN_TTL). Routes that load the session (/auth/me) refuse it.",
  },
};

const FLOW_LABELS: Record<string, string> = {
  session: "session",
  jwt: "jwt",
  hybrid: "hybrid",
  "jwt-expiry": "jwt, REVOCATION=expiry",
};

export function Compare() {
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call(client.GET("/api/demo/compare"))
      .then(setComparison)
      .catch((failure: unknown) =>
        setError(failure instanceof Error ? failure.message : "The comparison could not be loaded."),
      );
  }, []);

  return (
    <div class="compare">
      <section class="card" aria-labelledby="compare-intro">
        <h2 id="compare-intro">The same four steps under every strategy</h2>
        <p>
          This server runs one strategy. To show the others without a restart, it ran the sequence below through
          throwaway copies of latchkey, one per strategy, each on its own memory store with a throwaway demo user, and
          sent back what travelled and what was stored. Every cookie, token, id and hash appears as a fingerprint (
          <code>#</code> and 8 hex digits of its SHA-256): enough to see a value come back or change, never enough to
          use it.
        </p>
        {comparison ? (
          <p class="muted">Run at {new Date(comparison.ranAt).toLocaleTimeString()}; a run is shared for a minute.</p>
        ) : null}
      </section>

      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : !comparison ? (
        <p class="muted" aria-busy="true">
          Running the comparison…
        </p>
      ) : (
        <>
          <Costs flows={comparison.flows} />
          {STEPS.map((step) => (
            <section key={step.name} class="card" aria-labelledby={`step-${step.name}`}>
              <h2 id={`step-${step.name}`}>{step.title}</h2>
              <p class="lead">{step.why}</p>
              <div class="compare-grid">
                {comparison.flows.map((flow) => {
                  const taken = flow.steps.find((s) => s.name === step.name);
                  return taken ? <StepView key={flow.id} flow={flow} step={taken} /> : null;
                })}
              </div>
            </section>
          ))}
        </>
      )}
    </div>
  );
}

/** The README's measured cost of one request under each strategy. */
function Costs(props: { flows: Flow[] }) {
  const strategies = props.flows.filter((flow) => flow.revocation === "immediate");
  return (
    <section class="card" aria-labelledby="compare-costs">
      <h2 id="compare-costs">What a request costs</h2>
      <table class="table">
        <caption class="sr-only">Measured cost of checking one request, by strategy</caption>
        <thead>
          <tr>
            <th scope="col">Strategy</th>
            <th scope="col">Measured cost of one request's check</th>
          </tr>
        </thead>
        <tbody>
          {strategies.map((flow) => (
            <tr key={flow.id}>
              <th scope="row">{flow.strategy}</th>
              <td>
                <Backticks text={flow.cost} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">
        In-process, per check, on the project's 2-core machine (<code>node bench/auth-cost.mjs</code>): the README's
        figures, which a test holds this page to.
      </p>
    </section>
  );
}

/** One flow's answer to one step: what was sent, what came back, what the store holds. */
function StepView(props: { flow: Flow; step: Step }) {
  const { flow, step } = props;
  const headingId = `${step.name}-${flow.id}`;
  const refused = step.response.status >= 400;
  return (
    <article class="compare-flow" aria-labelledby={headingId}>
      <h3 id={headingId}>{FLOW_LABELS[flow.id] ?? flow.id}</h3>
      <p class="compare-status">
        <code>
          {step.request.method} {step.request.path}
        </code>{" "}
        <span class={`badge ${refused ? "off" : "current"}`}>
          {step.response.status}
          {step.response.errorCode ? ` ${step.response.errorCode}` : ""}
        </span>
      </p>
      <p>{NOTES[flow.id]?.[step.name]}</p>

      <h4>Sent</h4>
      {step.request.cookies.length === 0 && step.request.headers.length === 0 ? (
        <p class="muted">No cookie, no credential header.</p>
      ) : (
        <ul class="compare-values">
          {step.request.cookies.map((cookie) => (
            <li key={cookie.name}>
              Cookie <code>{cookie.name}</code> <code class="muted">{cookie.value}</code>
            </li>
          ))}
          {step.request.headers.map((header) => (
            <li key={header.name}>
              Header <code>{header.name}</code> <code class="muted">{header.value}</code>
            </li>
          ))}
        </ul>
      )}

      <h4>Set-Cookie</h4>
      {step.response.setCookies.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="compare-values">
          {step.response.setCookies.map((cookie, i) => (
            <li key={`${cookie.name}-${i}`}>
              <code>{cookie.name}</code> <code class="muted">{cookie.value}</code>
              <br />
              <span class="muted">{cookie.attributes.join("; ")}</span>
            </li>
          ))}
        </ul>
      )}

      {step.response.body !== null ? (
        <details>
          <summary>Answer body (shape)</summary>
          <pre>{JSON.stringify(step.response.body, null, 2)}</pre>
        </details>
      ) : (
        <p class="muted">No answer body.</p>
      )}

      <h4>Stored on the server</h4>
      <Stored stored={step.stored} />
    </article>
  );
}

function Stored(props: { stored: Step["stored"] }) {
  const { sessions, refreshTokens, revocations } = props.stored;
  return (
    <ul class="compare-values">
      {sessions.length === 0 ? <li>No session row.</li> : null}
      {sessions.map((session) => (
        <li key={session.id}>
          Session row <code>{session.id}</code> ({session.kind}): secret hash <code>{session.secretHash}</code>, ends
          after {duration(session.idleExpiresIn)} idle or in {duration(session.expiresIn)}
        </li>
      ))}
      {refreshTokens.map((token) => (
        <li key={token.id}>
          Refresh token row <code>{token.id}</code>:{" "}
          {token.state === "gone" ? "deleted with its session" : `${token.state}, hash `}
          {token.secretHash ? <code>{token.secretHash}</code> : null}
        </li>
      ))}
      {revocations.map((change, i) => (
        <li key={`${change.subject}-${i}`}>
          Change feed: <code>{change.kind}</code> for session <code>{change.subject}</code>
        </li>
      ))}
    </ul>
  );
}

/** Text whose `backticked` parts are code, as the README writes them. */
function Backticks(props: { text: string }) {
  return <>{props.text.split("`").map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}
