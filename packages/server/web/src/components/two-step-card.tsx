/**
 * The Security page's "Two-step verification" card (`GET /auth/factors`): off, what it is
 * and "Set up an authenticator app"; being set up, the QR code, the key and the first code
 * (`totp-setup.tsx`); on, when the app was added and last used, the recovery codes left,
 * "New recovery codes" and "Remove". Adding, removing and new codes need a recent sign-in:
 * each runs through `withRecentSignIn`, and the two that undo something are confirmed first.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, type Factors, LatchkeyError } from "../api.js";
import { ago, when } from "../format.js";
import { type Confirmation, ConfirmDialog } from "./confirm.js";
import { Alert } from "./form.js";
import { NotConfirmed, withRecentSignIn } from "./recent-sign-in.js";
import { RecoveryCodes } from "./recovery-codes.js";
import { type Enrolment, TotpSetup } from "./totp-setup.js";

/** From this many unused recovery codes down, the card suggests new ones. */
const FEW_CODES = 3;

/** What an action of the card said: done (`ok`), refused (`alert`), or quietly not done (`note`). */
export type Message = { tone: "ok" | "alert" | "note"; text: string };

/** An action's failure as shown: quietly that the person cancelled it, or the refusal. */
function failure(error: unknown): Message {
  if (error instanceof NotConfirmed) return { tone: "note", text: error.message };
  if (!(error instanceof LatchkeyError)) return { tone: "alert", text: "The server could not be reached. Try again." };
  return { tone: "alert", text: error.message };
}

/** A 401 that ended the session: the sign-in page explains it, this card says nothing. */
const signedOut = (error: unknown) => error instanceof LatchkeyError && error.status === 401;

/**
 * `onChanged`: something was added or removed (the security log has a new event to show).
 * `version`: changes when another card changed the account's factors, to load them again.
 *
 * @example
 * <TwoStepCard onChanged={reloadEvents} version={factorsVersion} />
 */
export function TwoStepCard(props: { onChanged?: () => void; version?: number }) {
  const [factors, setFactors] = useState<Factors | null>(null);
  const [failed, setFailed] = useState(false);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const [confirming, setConfirming] = useState<Confirmation | null>(null);
  const [busy, setBusy] = useState(false);
  // A cancelled set-up gives the focus back to the button that started it, once it is back.
  const beginButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (enrolment || !refocus.current) return;
    refocus.current = false;
    beginButton.current?.focus();
  }, [enrolment]);
  const load = () =>
    call(client.GET("/auth/factors"))
      .then((answer) => {
        setFactors(answer);
        setFailed(false);
      })
      .catch((error) => setFailed(!signedOut(error)));
  useEffect(() => {
    void load();
  }, [props.version]);

  const changed = () => {
    void load();
    props.onChanged?.();
  };
  const begin = async () => {
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      setEnrolment(await withRecentSignIn(() => call(client.POST("/auth/factors/totp"))));
    } catch (error) {
      if (error instanceof LatchkeyError && error.code === "factor_exists") void load();
      if (!signedOut(error)) setMessage(failure(error));
    } finally {
      setBusy(false);
    }
  };
  const newCodes: Confirmation = {
    title: "Make new recovery codes?",
    body: "Your current recovery codes stop working, and you will see the new ones this once.",
    action: "Make new codes",
    run: async () => {
      setMessage(null);
      try {
        const answer = await withRecentSignIn(() => call(client.POST("/auth/factors/recovery-codes")));
        setCodes(answer.recoveryCodes);
        changed();
      } catch (error) {
        if (!signedOut(error)) setMessage(failure(error));
      }
    },
  };
  const remove: Confirmation = {
    title: "Remove the authenticator app?",
    body:
      (factors?.passkeys.length ?? 0) > 0
        ? "Signing in will no longer take a code from the app; your passkeys and recovery codes keep working."
        : "Signing in will need only your password again, and your recovery codes will stop working.",
    action: "Remove app",
    danger: true,
    run: async () => {
      setMessage(null);
      try {
        await withRecentSignIn(() => call(client.DELETE("/auth/factors/totp")));
        setMessage({ tone: "ok", text: "Authenticator app removed. Signing in needs only your password now." });
        changed();
      } catch (error) {
        if (!signedOut(error)) setMessage(failure(error));
      }
    },
  };

  const totp = factors?.totp ?? null;
  return (
    <section class="card two-step" aria-labelledby="two-step-heading">
      <h2 id="two-step-heading">Two-step verification</h2>
      {failed ? (
        <p class="error" role="alert">
          Your sign-in methods could not be loaded.
        </p>
      ) : factors === null ? (
        <p class="muted">Loading…</p>
      ) : codes ? (
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            setCodes(null);
            setMessage({ tone: "ok", text: "Two-step verification is on." });
          }}
        />
      ) : enrolment ? (
        <TotpSetup
          enrolment={enrolment}
          onConfirmed={(recoveryCodes) => {
            setEnrolment(null);
            if (recoveryCodes.length > 0) setCodes(recoveryCodes);
            else setMessage({ tone: "ok", text: "Two-step verification is on." });
            changed();
          }}
          onCancel={() => {
            refocus.current = true;
            setEnrolment(null);
            setMessage({ tone: "note", text: "Cancelled: nothing was changed." });
          }}
        />
      ) : totp ? (
        <>
          <p class="email-now">
            <span class="email-address">Authenticator app</span>
            <span class="badge current">On</span>
          </p>
          <p class="muted">Signing in asks for a code from your app after your password.</p>
          <dl class="facts">
            <div>
              <dt>Added</dt>
              <dd>{when(totp.createdAt)}</dd>
            </div>
            <div>
              <dt>Last used</dt>
              <dd>{totp.lastUsedAt ? ago(totp.lastUsedAt) : "Not yet"}</dd>
            </div>
            <div>
              <dt>Recovery codes left</dt>
              <dd>{factors.recoveryCodes}</dd>
            </div>
          </dl>
          {factors.recoveryCodes <= FEW_CODES ? (
            <Alert tone="warning">
              <p>
                {factors.recoveryCodes === 0 ? "No recovery codes left" : `Only ${factors.recoveryCodes} left`}: make
                new ones, so that losing your phone does not lock you out.
              </p>
            </Alert>
          ) : null}
          <div class="actions">
            <button type="button" class="secondary" onClick={() => setConfirming(newCodes)}>
              New recovery codes…
            </button>
            <button type="button" class="danger" onClick={() => setConfirming(remove)}>
              Remove…
            </button>
          </div>
        </>
      ) : (
        <>
          <p class="muted">
            After your password, signing in asks for a 6-digit code from an authenticator app on your phone (such as
            Aegis, Google Authenticator or 1Password): a stolen password alone no longer opens your account.
          </p>
          {factors.totpAvailable ? (
            <button type="button" class="primary" ref={beginButton} aria-disabled={busy} onClick={() => void begin()}>
              {busy ? "Starting…" : "Set up an authenticator app"}
            </button>
          ) : (
            <Alert tone="info">
              <p>
                Authenticator apps are not available on this server: it has no key to protect their secrets. The
                administrator sets one with <code>MFA_KEYS</code>.
              </p>
            </Alert>
          )}
        </>
      )}
      {message ? <Outcome key={`${message.tone}:${message.text}`} message={message} /> : null}
      {confirming ? <ConfirmDialog confirmation={confirming} onClose={() => setConfirming(null)} /> : null}
    </section>
  );
}

/**
 * An action's outcome; it takes the focus, since the button that had it may be gone.
 *
 * @example
 * {message ? <Outcome key={message.text} message={message} /> : null}
 */
export function Outcome(props: { message: Message }) {
  const { tone, text } = props.message;
  if (tone === "note") {
    return (
      <p class="muted" role="status">
        {text}
      </p>
    );
  }
  return (
    <Alert tone={tone} focus>
      <p>{text}</p>
    </Alert>
  );
}
