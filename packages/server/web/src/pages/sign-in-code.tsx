/**
 * The second step of a sign-in (`docs/web-app.md`, "Two-step verification"): the password
 * was right for an account with a second factor, latchkey holds a pending sign-in for this
 * browser (an HttpOnly cookie of a few minutes), and this form sends the code, or a recovery
 * code, with `latchkey.completeSignIn`, or "Use a passkey" sends a passkey's answer. It
 * takes the password form's place.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, completeSignInWithPasskey, LatchkeyError, latchkey, type Me } from "../api.js";
import { CodeField, codeProblem, type ProofKind, proofOf } from "../components/code-field.js";
import { FormError } from "../components/form.js";
import { askPasskey, passkeyProblem, passkeysSupported } from "../passkey.js";

/** What a refused code means: on the field (`field: true`), or for the whole step. */
function refusal(error: unknown, kind: ProofKind): { field: boolean; text: string } {
  if (!(error instanceof LatchkeyError)) return { field: false, text: "The server could not be reached. Try again." };
  switch (error.code) {
    case "invalid_code":
      return {
        field: true,
        text:
          kind === "code"
            ? "That code is not valid: it is wrong, was already used, or has expired. Enter the code the app shows now."
            : "That recovery code is not valid, or it was already used.",
      };
    case "rate_limited": {
      const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
      return {
        field: false,
        text: `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
      };
    }
    case "account_disabled":
      return { field: false, text: "This account has been disabled. Contact the administrator." };
    default:
      return { field: false, text: error.message };
  }
}

/**
 * @example
 * <SecondStep methods={["totp", "recovery_code"]} onSignedIn={show} onExpired={again} onBack={again} />
 */
export function SecondStep(props: {
  /** What the account's second step takes, as the server said (`"totp"`, `"passkey"`, `"recovery_code"`). */
  methods: string[];
  onSignedIn: (me: Me) => void;
  /** The pending sign-in is over (expired, used, or ended by wrong codes): the password again. */
  onExpired: () => void;
  /** The person goes back to the password form. */
  onBack: () => void;
}) {
  const totp = props.methods.includes("totp");
  const passkey = props.methods.includes("passkey") && passkeysSupported();
  const [kind, setKind] = useState<ProofKind>(totp ? "code" : "recovery");
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<{ field: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // With a passkey and no app, the passkey leads; the recovery code shows when asked for.
  const [codeShown, setCodeShown] = useState(totp || !passkey);
  const field = useRef<HTMLInputElement>(null);
  const passkeyButton = useRef<HTMLButtonElement>(null);
  // The step replaces the form whose button had the focus: the code field (or the passkey
  // button, when it leads) takes it; shown on demand, the recovery code field takes it.
  useEffect(() => (codeShown ? field.current : passkeyButton.current)?.focus(), [codeShown]);

  const withPasskey = async () => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    try {
      await completeSignInWithPasskey(await askPasskey());
      props.onSignedIn(await call(client.GET("/auth/me")));
    } catch (error) {
      setBusy(false);
      if (error instanceof LatchkeyError && error.code === "sign_in_expired") return props.onExpired();
      const known = error instanceof LatchkeyError && ["rate_limited", "account_disabled"].includes(error.code);
      setProblem({ field: false, text: known ? refusal(error, kind).text : passkeyProblem(error) });
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const local = codeProblem(kind, value);
    if (local) {
      setProblem({ field: true, text: local });
      field.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await latchkey.completeSignIn(proofOf(kind, value));
      props.onSignedIn(await call(client.GET("/auth/me")));
    } catch (error) {
      setBusy(false);
      if (error instanceof LatchkeyError && error.code === "sign_in_expired") return props.onExpired();
      const found = refusal(error, kind);
      setProblem(found);
      if (found.field) {
        field.current?.focus();
        field.current?.select();
      } else document.getElementById("code-form-error")?.focus();
    }
  };

  return (
    <>
      <h1>Two-step verification</h1>
      {codeShown ? null : (
        <>
          <p class="lead">Use your passkey to finish signing in.</p>
          <button type="button" class="primary wide" ref={passkeyButton} aria-disabled={busy} onClick={withPasskey}>
            {busy ? "Waiting for your passkey…" : "Use a passkey"}
          </button>
          <FormError id="code-form-error" text={problem && !problem.field ? problem.text : null} />
          <p class="code-toggle">
            <button type="button" class="link" onClick={() => setCodeShown(true)}>
              Use a recovery code instead
            </button>
          </p>
        </>
      )}
      {codeShown ? (
        <>
          <p class="lead" id="code-step-text">
            {kind === "code"
              ? "Enter the 6-digit code from your authenticator app."
              : "Enter one of the recovery codes you saved when you set up your authenticator app or passkey."}
          </p>
          <form onSubmit={submit} noValidate aria-describedby="code-step-text">
            <CodeField
              id="sign-in-code"
              kind={kind}
              onKind={(next) => {
                setKind(next);
                setProblem(null);
              }}
              value={value}
              onInput={(next) => {
                setValue(next);
                setProblem(null);
              }}
              inputRef={field}
              error={problem?.field ? problem.text : null}
              recovery={props.methods.includes("recovery_code")}
              app={totp}
            />
            <FormError id="code-form-error" text={problem && !problem.field ? problem.text : null} />
            {/* aria-disabled, not disabled: a disabled button would drop the focus to the page. */}
            <button type="submit" class="primary wide" aria-disabled={busy}>
              {busy ? "Please wait…" : "Verify"}
            </button>
          </form>
          {passkey ? (
            <div class="passkey-sign-in">
              <p class="divider" aria-hidden="true">
                <span>or</span>
              </p>
              <button
                type="button"
                class="secondary wide"
                ref={passkeyButton}
                aria-disabled={busy}
                onClick={withPasskey}
              >
                Use a passkey
              </button>
            </div>
          ) : null}
        </>
      ) : null}
      <p class="switch">
        <button type="button" class="link" onClick={props.onBack}>
          Back to sign-in
        </button>
      </p>
    </>
  );
}
