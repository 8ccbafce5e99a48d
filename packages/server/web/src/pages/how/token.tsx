/**
 * The access token card (`jwt`, `hybrid`): the token as its three encoded parts, each
 * decoded here in the browser, every claim explained, and the `kid` tied to the public key
 * that verifies it. The token itself never reaches this page (its cookie is `HttpOnly`):
 * `GET /auth/access-token` gives its header and payload as they travel, and only the
 * length of its signature, since with the signature they would be the token.
 */
import type { Policy, TokenView } from "../../api.js";
import { Bar } from "../../components/bar.js";
import { duration, moment } from "../../format.js";
import type { PublicKey } from "./live.js";

/** What each part's fields mean, in a learner's words. */
const FIELDS: Record<string, string> = {
  alg: "the signing algorithm: how the signature was made and must be checked",
  kid: "key id: which of the server's keys signed it (found in the JWKS below)",
  typ: "at+jwt: an access token (RFC 9068), so it cannot pass for another kind of JWT",
  iss: "issuer: who made the token (this server's public origin)",
  aud: "audience: who may accept it (the same origin; services check it)",
  sub: "subject: your user id",
  sid: "your session's public id: ending the session revokes its tokens",
  kind: "user: a person's token (a service's says service)",
  roles: "your roles, so a service can decide without asking the database",
  roles_at: "when your roles were last set: a token older than a role change is refused",
  iat: "issued at",
  exp: "expires at: no server accepts it after this",
  jti: "a random id unique to this token",
};

/** `iat`/`exp` are seconds since 1970; `roles_at` milliseconds. */
const TIMES: Record<string, number> = { iat: 1000, exp: 1000, roles_at: 1 };

/**
 * A base64url part decoded as UTF-8 text: what any holder of the token can do.
 *
 * @example
 * decodePart("eyJhbGciOiJFZERTQSJ9"); // '{"alg":"EdDSA"}'
 */
export function decodePart(part: string): string {
  const base64 = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function TokenCard(props: {
  policy: Policy;
  token: TokenView | null;
  error: string | null;
  keys: PublicKey[] | null;
  now: number;
}) {
  const { token, now } = props;
  return (
    <section class="card" aria-labelledby="token-heading">
      <h2 id="token-heading">Your access token, taken apart</h2>
      {token ? <TokenParts {...props} token={token} now={now} /> : <p class="muted">{props.error ?? "Loading…"}</p>}
    </section>
  );
}

function TokenParts(props: { policy: Policy; token: TokenView; keys: PublicKey[] | null; now: number }) {
  const { token, now } = props;
  const iat = Number(token.claims.iat) * 1000;
  const exp = Number(token.claims.exp) * 1000;
  const expired = now >= exp;
  const { header, payload, signatureLength } = token.encoded;
  return (
    <>
      <p>
        A JWT is three parts joined by dots: a header, a payload of claims, and a signature. The first two are not
        encrypted, only encoded (base64url). <strong>Anyone holding the token can read it</strong>, as this page does
        below; only the signature makes it trustworthy, and only the holder of the signing key can make one.
      </p>
      <p class="token-status" data-state={expired ? "expired" : "live"}>
        {expired ? (
          <>
            <strong>Expired</strong> at <time dateTime={new Date(exp).toISOString()}>{moment(iso(exp), now)}</time>: no
            server accepts it any more (past a few seconds forgiven for clocks that differ, CLOCK_TOLERANCE). The app
            gets a new one on its next request.
          </>
        ) : (
          <>
            <strong>Live</strong>: it lives {duration((exp - iat) / 1000)} in all, {duration((exp - now) / 1000)} left.
          </>
        )}
      </p>
      <Bar
        label="Access token lifetime"
        start={iat}
        end={exp}
        now={now}
        startLabel={`issued ${moment(iso(iat), now)}`}
        endLabel={expired ? "expired" : `expires ${moment(iso(exp), now)}`}
        overLabel="expired"
      />
      <h3>As it travels</h3>
      <p class="jwt">
        <code class="jwt-header">{header}</code>.<code class="jwt-payload">{payload}</code>.
        <code class="jwt-signature">[signature: {signatureLength} characters, withheld]</code>
      </p>
      <p class="muted">
        The server sent this page the first two parts only. With the third, these characters would be your access token
        itself, and whoever had them could act as you until it expires: that is why it lives in an HttpOnly cookie no
        script can read.
      </p>
      <div class="token">
        <Part title="1. Header, decoded" encoded={header} values={token.header} now={now} />
        <Part title="2. Payload (claims), decoded" encoded={payload} values={token.claims} now={now} />
      </div>
      <h3>3. Signature</h3>
      <p>
        {signatureLength} characters of base64url: the {String(token.header.alg)} signature of the first two parts.
        Change one character of the header or payload and it no longer matches: a server refuses the token.
      </p>
      <KeyOf kid={String(token.header.kid ?? "")} alg={String(token.header.alg ?? "")} keys={props.keys} />
    </>
  );
}

function Part(props: { title: string; encoded: string; values: Record<string, unknown>; now: number }) {
  return (
    <div class="token-part">
      <h3>{props.title}</h3>
      <p class="muted">base64url → text, here in your browser:</p>
      <pre class="decoded">{decodePart(props.encoded)}</pre>
      <dl class="claims">
        {Object.entries(props.values).map(([name, value]) => (
          <div key={name}>
            <dt>
              <code>{name}</code>
            </dt>
            <dd>
              <code>{JSON.stringify(value)}</code>
              {name in TIMES && typeof value === "number" ? (
                <span> = {moment(iso(value * (TIMES[name] as number)), props.now)}</span>
              ) : null}
              {FIELDS[name] ? <span class="muted"> · {FIELDS[name]}</span> : null}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** The JWKS key whose `kid` the header names: the one that verifies this token. */
function KeyOf(props: { kid: string; alg: string; keys: PublicKey[] | null }) {
  if (props.keys === null) return <p class="muted">Loading the public keys…</p>;
  if (props.alg === "HS256") {
    return (
      <p>
        This server signs with HS256, a shared secret: there is no public key to publish (
        <a href="/.well-known/jwks.json">/.well-known/jwks.json</a> is empty), and only servers that hold the secret can
        verify the token.
      </p>
    );
  }
  const key = props.keys.find((k) => k.kid === props.kid);
  return (
    <>
      <h3>The key that verifies it</h3>
      <p>
        The header's <code>kid</code> is <code>{props.kid}</code>. Any service fetches{" "}
        <a href="/.well-known/jwks.json">/.well-known/jwks.json</a> ({props.keys.length} public{" "}
        {props.keys.length === 1 ? "key" : "keys"} now) and checks the signature with the key of that id, without asking
        this server anything else. A public key can only check signatures, never make one.
      </p>
      {key ? (
        <pre class="jwk">{JSON.stringify(key, null, 2)}</pre>
      ) : (
        <p class="muted">No key of that id is published: the token would be refused.</p>
      )}
    </>
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
