import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, type SecurityEvent } from "../api.js";
import { EventItem } from "../components/event-item.js";
import { navigate } from "../router.js";

export function Security() {
  const [events, setEvents] = useState<SecurityEvent[] | null>(null);
  const load = () =>
    call(client.GET("/auth/events"))
      .then(({ events }) => setEvents(events))
      .catch(() => setEvents([]));
  useEffect(() => {
    void load();
  }, []);
  return (
    <div class="grid">
      <ChangePassword onChanged={load} />
      <DeleteAccount />
      <section class="card wide" aria-labelledby="events-heading">
        <h2 id="events-heading">Recent security events</h2>
        {events === null ? (
          <p class="muted">Loading…</p>
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

function ChangePassword(props: { onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (next !== confirm) return setMessage({ kind: "error", text: "The two new passwords differ." });
    setBusy(true);
    setMessage(null);
    try {
      await call(client.POST("/auth/password", { body: { currentPassword: current, newPassword: next } }));
      setCurrent("");
      setNext("");
      setConfirm("");
      setMessage({ kind: "ok", text: "Password changed. Your other devices have been signed out; this one stays." });
      props.onChanged();
    } catch (error) {
      setMessage({
        kind: "error",
        text: error instanceof LatchkeyError ? error.message : "The server could not be reached.",
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <form onSubmit={submit}>
        <label for="current-password">Current password</label>
        <input
          id="current-password"
          type="password"
          autocomplete="current-password"
          required
          value={current}
          onInput={(e) => setCurrent((e.target as HTMLInputElement).value)}
        />
        <label for="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autocomplete="new-password"
          required
          minLength={8}
          value={next}
          onInput={(e) => setNext((e.target as HTMLInputElement).value)}
        />
        <label for="confirm-password">New password, again</label>
        <input
          id="confirm-password"
          type="password"
          autocomplete="new-password"
          required
          value={confirm}
          onInput={(e) => setConfirm((e.target as HTMLInputElement).value)}
        />
        {message ? (
          <p class={message.kind === "ok" ? "success" : "error"} role="status">
            {message.text}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Change password
        </button>
      </form>
    </section>
  );
}

function DeleteAccount() {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
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
    if (!next) {
      setPassword("");
      setError(null);
    }
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await call(client.DELETE("/auth/account", { body: { password } }));
      // The session ended with the account: the client forgets it here and in the other
      // tabs whatever the logout answers (a page loaded afresh finds no session either).
      await latchkey.signOut().then(
        () => navigate("/signup", true),
        () => location.replace("/signup"),
      );
    } catch (e) {
      setError(e instanceof LatchkeyError ? e.message : "The server could not be reached.");
    }
  };
  return (
    <section class="card" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete account</h2>
      <p class="muted">Deletes your account, your to-dos and every session, on every device. This cannot be undone.</p>
      {open ? (
        <form
          onSubmit={submit}
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            e.preventDefault();
            toggle(false);
          }}
        >
          <label for="delete-password">Your password, to confirm</label>
          <input
            id="delete-password"
            ref={field}
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
          {error ? (
            <p class="error" role="alert">
              {error}
            </p>
          ) : null}
          <div class="actions">
            <button type="submit" class="danger">
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
