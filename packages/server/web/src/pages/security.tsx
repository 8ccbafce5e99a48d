import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, type SecurityEvent } from "../api.js";
import { EmailCard } from "../components/email-card.js";
import { EventItem } from "../components/event-item.js";
import { CurrentPasswordField, FormError, type Problem } from "../components/form.js";
import { NewPassword } from "../components/new-password.js";
import { PasskeysCard } from "../components/passkeys-card.js";
import { NotConfirmed, withRecentSignIn } from "../components/recent-sign-in.js";
import { expectSignOut } from "../components/signed-out-notice.js";
import { SkeletonList } from "../components/skeleton.js";
import { toast } from "../components/toast.js";
import { TwoStepCard } from "../components/two-step-card.js";
import { useOnReturn } from "../on-return.js";

export function Security() {
  const [events, setEvents] = useState<SecurityEvent[] | null>(null);
  const [failed, setFailed] = useState(false);
  // The two-step and passkeys cards show the same factors: a change in one reloads the other.
  const [appVersion, setAppVersion] = useState(0);
  const [passkeysVersion, setPasskeysVersion] = useState(0);
  const load = () =>
    call(client.GET("/auth/events"))
      .then(({ events }) => {
        setEvents(events);
        setFailed(false);
      })
      .catch((error) => {
        // A 401 is the app's to handle (the sign-in page, with the reason).
        if (!(error instanceof LatchkeyError && error.status === 401)) setFailed(true);
      });
  useEffect(() => {
    void load();
  }, []);
  // What happened on other devices meanwhile shows when the person comes back.
  useOnReturn(() => void load());
  return (
    <div class="grid">
      <EmailCard onChanged={load} />
      <ChangePassword onChanged={load} />
      <TwoStepCard
        version={appVersion}
        onChanged={() => {
          setPasskeysVersion((v) => v + 1);
          void load();
        }}
      />
      <PasskeysCard
        version={passkeysVersion}
        onChanged={() => {
          setAppVersion((v) => v + 1);
          void load();
        }}
      />
      <DeleteAccount />
      <section class="card wide" aria-labelledby="events-heading">
        <h2 id="events-heading">Recent security events</h2>
        {failed ? (
          <p class="error" role="alert">
            The security log could not be loaded.
          </p>
        ) : null}
        {events === null ? (
          failed ? null : (
            <SkeletonList label="Loading your security events" />
          )
        ) : events.length === 0 ? (
          <p class="muted">No events yet.</p>
        ) : (
          <ol class="timeline">
            {events.map((event) => (
              <EventItem key={event.id} event={event} />
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}

/** What a refused password change means, said on the field it concerns. */
function passwordProblem(error: unknown): Problem {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: "The server could not be reached. Try again." };
  switch (error.code) {
    case "invalid_credentials":
      return { field: "current-password", text: "The current password is incorrect." };
    case "weak_password":
      return { field: "new-password", text: error.message };
    case "rate_limited": {
      const minutes = Math.ceil((error.retryAfter ?? 60) / 60);
      return {
        field: "form",
        text: `Too many wrong passwords. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
      };
    }
    default:
      return { field: "form", text: error.message };
  }
}

/** The change's rules, checked before asking the server (which checks them again). */
function changeProblem(current: string, next: string, again: string): Problem | null {
  if (current === "") return { field: "current-password", text: "Enter your current password." };
  if ([...next].length < 8) return { field: "new-password", text: "Use at least 8 characters." };
  if (next === current) return { field: "new-password", text: "The new password is the current one." };
  if (again !== next) return { field: "confirm-password", text: "The two new passwords differ: type it again." };
  return null;
}

function ChangePassword(props: { onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  // The person cancelled the "Confirm it's you" prompt: said quietly, not as an error.
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Editing a field clears its error, and a form-wide one (stale once anything changes).
  const edit = (field: string, set: (value: string) => void) => (value: string) => {
    set(value);
    setNote(null);
    if (problem && (problem.field === field || problem.field === "form")) setProblem(null);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const local = changeProblem(current, next, again);
    setProblem(local);
    if (local) return document.getElementById(local.field)?.focus();
    setBusy(true);
    setNote(null);
    try {
      // With an authenticator app, a change needs a recent sign-in (password and code).
      const body = { currentPassword: current, newPassword: next };
      await withRecentSignIn(() => call(client.POST("/auth/password", { body })));
      setCurrent("");
      setNext("");
      setAgain("");
      toast("Password changed. Your other devices have been signed out; this one stays.");
      props.onChanged();
    } catch (error) {
      if (error instanceof NotConfirmed) return setNote(error.message);
      const found = passwordProblem(error);
      // A 401 that ended the session is the sign-in page's to explain.
      if (error instanceof LatchkeyError && error.status === 401 && error.code !== "invalid_credentials") return;
      setProblem(found);
      document.getElementById(found.field === "form" ? "password-form-error" : found.field)?.focus();
    } finally {
      setBusy(false);
    }
  };
  const errorOf = (field: string) => (problem?.field === field ? problem.text : null);
  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <form onSubmit={submit} noValidate>
        <CurrentPasswordField
          id="current-password"
          label="Current password"
          value={current}
          onInput={edit("current-password", setCurrent)}
          error={errorOf("current-password")}
        />
        <NewPassword
          value={next}
          onInput={edit("new-password", setNext)}
          again={again}
          onAgain={edit("confirm-password", setAgain)}
          hint="At least 8 characters; very common passwords are refused. Your other devices will be signed out."
          error={errorOf("new-password")}
          againError={errorOf("confirm-password")}
        />
        <FormError id="password-form-error" text={errorOf("form")} />
        {note ? (
          <p class="muted" role="status">
            {note}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
      </form>
    </section>
  );
}

function DeleteAccount() {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  // The person cancelled the "Confirm it's you" prompt: said quietly, not as an error.
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLInputElement>(null);
  // Focus follows the form: into its password field when it opens, back to the button that
  // opened it when it closes (the control that had it is gone either way). Only after the
  // person opened or closed it: the page loading takes no focus.
  const toggled = useRef(false);
  useEffect(() => {
    if (toggled.current) (open ? field : opener).current?.focus();
  }, [open]);
  const toggle = (next: boolean) => {
    toggled.current = true;
    setOpen(next);
    // A closed form keeps no password and no stale error.
    setNote(null);
    if (!next) {
      setPassword("");
      setError(null);
    }
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (password === "") {
      setError("Enter your password to confirm.");
      field.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await withRecentSignIn(() => call(client.DELETE("/auth/account", { body: { password } })));
      // The session ended with the account: the client forgets it here and in the other
      // tabs whatever the logout answers, and the sign-in page confirms the deletion.
      expectSignOut("you_deleted_account");
      await latchkey.signOut().catch(() => location.replace("/signin"));
    } catch (e) {
      setBusy(false);
      if (e instanceof NotConfirmed) return setNote(e.message);
      setError(
        e instanceof LatchkeyError && e.code === "invalid_credentials"
          ? "The password is incorrect."
          : e instanceof LatchkeyError
            ? e.message
            : "The server could not be reached.",
      );
      field.current?.focus();
    }
  };
  return (
    <section class="card" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete account</h2>
      <p class="muted">Deletes your account, your to-dos and every session, on every device. This cannot be undone.</p>
      {open ? (
        <form
          onSubmit={submit}
          noValidate
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            e.preventDefault();
            toggle(false);
          }}
        >
          <CurrentPasswordField
            id="delete-password"
            label="Your password, to confirm"
            inputRef={field}
            value={password}
            onInput={(value) => {
              setPassword(value);
              setError(null);
              setNote(null);
            }}
            error={error}
          />
          {note ? (
            <p class="muted" role="status">
              {note}
            </p>
          ) : null}
          <div class="actions">
            <button type="submit" class="danger" disabled={busy}>
              Delete my account
            </button>
            <button type="button" class="secondary" onClick={() => toggle(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="danger" ref={opener} onClick={() => toggle(true)}>
          Delete account…
        </button>
      )}
    </section>
  );
}
