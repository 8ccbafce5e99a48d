/**
 * Recent sign-in (step-up): an action latchkey refuses with `403 reauthentication_required`
 * (an admin change when the person signed in longer ago than `REAUTH_WINDOW`) asks for the
 * password in a dialog, "Confirm it's you", then runs again, once. The mechanism is here
 * only: a page wraps the action in `withRecentSignIn`, and the shell holds the one prompt.
 * The dialog is the confirmation dialog's kind (the native `<dialog>`: focus stays inside,
 * Escape cancels, focus returns where it was), over it when a confirmation asked for the
 * action: the confirmation stays busy underneath until the action is done or cancelled.
 * A person with an authenticator app gives a code from it too (or a recovery code): the
 * password alone is not a full sign-in for them, and latchkey refuses it (`invalid_code`).
 * A person with a passkey may use it alone instead ("Use a passkey").
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, reauthenticateWithPasskey } from "../api.js";
import { duration } from "../format.js";
import { askPasskey, passkeyProblem, passkeysSupported } from "../passkey.js";
import { CodeField, codeProblem, type ProofKind, proofOf } from "./code-field.js";
import { CurrentPasswordField, FormError } from "./form.js";

/**
 * The person closed the "Confirm it's you" prompt: the action was not done. Its message
 * says so quietly; it is not an error to show as one.
 *
 * @example
 * catch (error) { if (error instanceof NotConfirmed) setNote(error.message); }
 */
export class NotConfirmed extends Error {
  constructor() {
    super("Cancelled: nothing was changed.");
    this.name = "NotConfirmed";
  }
}

/** Whether latchkey refused a call for want of a recent sign-in. */
const needsRecentSignIn = (error: unknown) =>
  error instanceof LatchkeyError && error.code === "reauthentication_required";

// The mounted prompt's way in: resolves whether the person confirmed their password.
let ask: (() => Promise<boolean>) | null = null;
// Actions refused at the same moment (two tabs' worth of clicks) share one prompt.
let asking: Promise<boolean> | null = null;

function confirmItsYou(prompt: () => Promise<boolean>): Promise<boolean> {
  asking ??= prompt().finally(() => {
    asking = null;
  });
  return asking;
}

/**
 * Runs `action`; when latchkey answers that it needs a recent sign-in, asks for the
 * password and runs it again, once (a second refusal is the action's to show). Rejects
 * with {@link NotConfirmed} when the person cancels, and with the original refusal when
 * no prompt is on the page. `action` must be safe to run twice: it was refused the first time.
 *
 * @example
 * const user = await withRecentSignIn(() => call(client.POST("/admin/users/{id}/disable", path)));
 */
export async function withRecentSignIn<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!needsRecentSignIn(error) || !ask) throw error;
    if (!(await confirmItsYou(ask))) throw new NotConfirmed();
    return action();
  }
}

/** The prompt's host, one per signed-in page (in the shell); shows nothing until asked. */
export function RecentSignInPrompt(props: { reauthWindow: number }) {
  const [answer, setAnswer] = useState<((confirmed: boolean) => void) | null>(null);
  const open = useRef<((confirmed: boolean) => void) | null>(null);
  useEffect(() => {
    ask = () =>
      new Promise<boolean>((resolve) => {
        open.current = resolve;
        setAnswer(() => resolve);
      });
    return () => {
      ask = null;
      // Gone with the session (a sign-out): the action waiting on it is not done.
      open.current?.(false);
      open.current = null;
    };
  }, []);
  if (!answer) return null;
  return (
    <ConfirmItsYou
      reauthWindow={props.reauthWindow}
      onDone={(confirmed) => {
        open.current = null;
        setAnswer(null);
        answer(confirmed);
      }}
    />
  );
}

/** Where a refusal is shown: on the password, on the code, or (`form`) for the whole prompt. */
type Refusal = { field: "reauth-password" | "reauth-code" | "form"; text: string };

/** What a refused confirmation means, or `null` when it ended the session. */
function refusal(error: unknown, kind: ProofKind): Refusal | null {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: "The server could not be reached. Try again." };
  if (error.code === "invalid_credentials") return { field: "reauth-password", text: error.message };
  if (error.code === "invalid_code") {
    const text =
      kind === "code"
        ? "That code is not valid: it is wrong, was already used, or has expired. Enter the code the app shows now."
        : "That recovery code is not valid, or it was already used.";
    return { field: "reauth-code", text };
  }
  if (error.code === "rate_limited") {
    const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
    return {
      field: "form",
      text: `Too many wrong attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
    };
  }
  // Any other 401 ended the session: the app shows the sign-in page, and why.
  if (error.status === 401) return null;
  return { field: "form", text: error.message };
}

/**
 * Whether the person has an authenticator app, and a passkey, asked when the prompt opens:
 * `null` while unknown (the password field shows meanwhile; a refusal for want of a code
 * shows the code field then, whatever this said).
 */
function useFactors(): { app: boolean; passkey: boolean } | null {
  const [factors, setFactors] = useState<{ app: boolean; passkey: boolean } | null>(null);
  useEffect(() => {
    let live = true;
    call(client.GET("/auth/factors"))
      .then((answer) => live && setFactors({ app: answer.totp !== null, passkey: answer.passkeys.length > 0 }))
      .catch(() => live && setFactors({ app: false, passkey: false }));
    return () => {
      live = false;
    };
  }, []);
  return factors;
}

function ConfirmItsYou(props: { reauthWindow: number; onDone: (confirmed: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const codeField = useRef<HTMLInputElement>(null);
  const [password, setPassword] = useState("");
  const factors = useFactors();
  // Refused for want of a code: the account has a second factor this prompt did not know of.
  const [codeAsked, setCodeAsked] = useState(false);
  const hasApp = (factors?.app ?? false) || codeAsked;
  // Only passkeys: the password goes with a recovery code, there is no app to ask a code of.
  const passkeyOnly = !!factors?.passkey && !factors.app;
  const hasPasskey = (factors?.passkey ?? false) && passkeysSupported();
  const [kind, setKind] = useState<ProofKind>("code");
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<Refusal | null>(null);
  const [busy, setBusy] = useState(false);
  // Answered once: the browser may close the dialog itself (a second Escape despite the
  // cancel being refused), which then counts as Cancel.
  const answered = useRef(false);
  const finish = (confirmed: boolean) => {
    if (answered.current) return;
    answered.current = true;
    props.onDone(confirmed);
  };
  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    field.current?.focus();
    return () => element?.close();
  }, []);
  const show = (found: Refusal) => {
    setProblem(found);
    if (found.field === "form") document.getElementById("reauth-form-error")?.focus();
    else (found.field === "reauth-code" ? codeField : field).current?.focus();
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    if (password === "") return show({ field: "reauth-password", text: "Enter your password." });
    const local = hasApp ? codeProblem(kind, code) : null;
    if (local) return show({ field: "reauth-code", text: local });
    setBusy(true);
    try {
      await latchkey.reauthenticate(password, hasApp ? proofOf(kind, code) : undefined);
      finish(true);
    } catch (error) {
      setBusy(false);
      const found = refusal(error, kind);
      if (!found) return finish(false);
      // Refused for want of a code: the account has a second factor this prompt did not know
      // of, or only passkeys (the password then goes with a recovery code).
      if (found.field === "reauth-code" && !hasApp) {
        setCodeAsked(true);
        if (passkeyOnly) setKind("recovery");
        setProblem({
          field: "reauth-code",
          text: passkeyOnly
            ? "Your password alone is not enough: use your passkey, or add one of your recovery codes."
            : "Enter the 6-digit code from your authenticator app too.",
        });
        // The field appears with this render: it takes the focus once it is there.
        return void requestAnimationFrame(() => codeField.current?.focus());
      }
      show(found);
    }
  };
  const withPasskey = async () => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    try {
      await reauthenticateWithPasskey(await askPasskey());
      finish(true);
    } catch (error) {
      setBusy(false);
      // Any 401 but the passkey's own refusal ended the session: the sign-in page says why.
      if (error instanceof LatchkeyError && error.status === 401 && error.code !== "invalid_passkey") {
        return finish(false);
      }
      const throttled = error instanceof LatchkeyError && error.code === "rate_limited";
      show({ field: "form", text: throttled ? (refusal(error, kind)?.text ?? "") : passkeyProblem(error) });
    }
  };
  const errorOf = (id: Refusal["field"]) => (problem?.field === id ? problem.text : null);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="reauth-title"
      aria-describedby="reauth-body"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) finish(false);
      }}
      onClose={() => finish(false)}
    >
      <form onSubmit={submit} noValidate>
        <h2 id="reauth-title">Confirm it's you</h2>
        <p id="reauth-body">
          This action needs a recent sign-in. {hasPasskey ? "Use your passkey, or enter" : "Enter"} your password
          {hasApp && !passkeyOnly ? " and a code from your authenticator app" : ""} to continue; you won't be asked
          again for {duration(props.reauthWindow)}.
        </p>
        {hasPasskey ? (
          <div class="passkey-sign-in">
            <button type="button" class="secondary wide" aria-disabled={busy} onClick={() => void withPasskey()}>
              Use a passkey
            </button>
            <p class="divider" aria-hidden="true">
              <span>or</span>
            </p>
          </div>
        ) : null}
        <CurrentPasswordField
          id="reauth-password"
          label="Password"
          inputRef={field}
          value={password}
          onInput={(value) => {
            setPassword(value);
            setProblem(null);
          }}
          error={errorOf("reauth-password")}
        />
        {hasApp ? (
          <CodeField
            id="reauth-code"
            kind={kind}
            onKind={(next) => {
              setKind(next);
              setProblem(null);
            }}
            value={code}
            onInput={(value) => {
              setCode(value);
              setProblem(null);
            }}
            inputRef={codeField}
            error={errorOf("reauth-code")}
            app={!passkeyOnly}
          />
        ) : null}
        <FormError id="reauth-form-error" text={errorOf("form")} />
        <div class="actions">
          {/* aria-disabled, not disabled: a disabled button drops the focus out of the dialog. */}
          <button type="button" class="secondary" aria-disabled={busy} onClick={() => busy || finish(false)}>
            Cancel
          </button>
          <button type="submit" class="primary" aria-disabled={busy}>
            {busy ? "Confirming…" : "Confirm"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
