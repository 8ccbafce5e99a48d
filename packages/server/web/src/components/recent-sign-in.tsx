/**
 * Recent sign-in (step-up): an action latchkey refuses with `403 reauthentication_required`
 * (an admin change when the person signed in longer ago than `REAUTH_WINDOW`) asks for the
 * password in a dialog, "Confirm it's you", then runs again, once. The mechanism is here
 * only: a page wraps the action in `withRecentSignIn`, and the shell holds the one prompt.
 * The dialog is the confirmation dialog's kind (the native `<dialog>`: focus stays inside,
 * Escape cancels, focus returns where it was), over it when a confirmation asked for the
 * action: the confirmation stays busy underneath until the action is done or cancelled.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { LatchkeyError, latchkey } from "../api.js";
import { duration } from "../format.js";
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

/** What a refused password means, on the field or (`field: false`) for the whole form. */
function refusal(error: unknown): { field: boolean; text: string } | null {
  if (!(error instanceof LatchkeyError)) return { field: false, text: "The server could not be reached. Try again." };
  if (error.code === "invalid_credentials") return { field: true, text: error.message };
  if (error.code === "rate_limited") {
    const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
    return {
      field: false,
      text: `Too many wrong passwords. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
    };
  }
  // Any other 401 ended the session: the app shows the sign-in page, and why.
  if (error.status === 401) return null;
  return { field: false, text: error.message };
}

function ConfirmItsYou(props: { reauthWindow: number; onDone: (confirmed: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<{ field: boolean; text: string } | null>(null);
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
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    if (password === "") {
      setProblem({ field: true, text: "Enter your password." });
      field.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await latchkey.reauthenticate(password);
      finish(true);
    } catch (error) {
      setBusy(false);
      const found = refusal(error);
      if (!found) return finish(false);
      setProblem(found);
      if (found.field) field.current?.focus();
      else document.getElementById("reauth-form-error")?.focus();
    }
  };
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
          This action needs a recent sign-in. Enter your password to continue; you won't be asked again for{" "}
          {duration(props.reauthWindow)}.
        </p>
        <CurrentPasswordField
          id="reauth-password"
          label="Password"
          inputRef={field}
          value={password}
          onInput={(value) => {
            setPassword(value);
            setProblem(null);
          }}
          error={problem?.field ? problem.text : null}
        />
        <FormError id="reauth-form-error" text={problem && !problem.field ? problem.text : null} />
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
