/**
 * The Security page's "Passkeys" card (`GET /auth/factors`): the account's passkeys (name,
 * when added, when last used), "Add a passkey" with an optional name, rename and remove.
 * A passkey signs in alone, and is the second step after a password. Adding and removing
 * need a recent sign-in (each runs through `withRecentSignIn`); a removal is confirmed
 * first. The account's first second factor comes with recovery codes, shown this once.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, type Factors, LatchkeyError } from "../api.js";
import { ago, when } from "../format.js";
import { makePasskey, PasskeyCancelled, passkeyProblem, passkeysSupported } from "../passkey.js";
import { type Confirmation, ConfirmDialog } from "./confirm.js";
import { Alert, Field } from "./form.js";
import { NotConfirmed, withRecentSignIn } from "./recent-sign-in.js";
import { RecoveryCodes } from "./recovery-codes.js";
import { type Message, Outcome } from "./two-step-card.js";

type Passkey = Factors["passkeys"][number];

/** The longest name the server takes. */
const NAME_MAX = 64;

/** An action's failure as shown: quietly that the person cancelled it, or the refusal. */
function failure(error: unknown): Message {
  if (error instanceof NotConfirmed) return { tone: "note", text: error.message };
  if (error instanceof PasskeyCancelled) return { tone: "note", text: passkeyProblem(error) };
  return { tone: "alert", text: passkeyProblem(error) };
}

/** A 401 that ended the session: the sign-in page explains it, this card says nothing. */
const signedOut = (error: unknown) =>
  error instanceof LatchkeyError && error.status === 401 && error.code !== "invalid_passkey";

/** A name's problem before the server is asked (it checks again), or `null`. */
function nameProblem(name: string, required: boolean): string | null {
  if (required && name.trim() === "") return "Enter a name, such as “Phone” or “YubiKey”.";
  return [...name.trim()].length > NAME_MAX ? `Use at most ${NAME_MAX} characters.` : null;
}

/**
 * `onChanged`: a passkey was added, renamed or removed (the log has a new event, and the
 * two-step card's recovery codes may have changed). `version`: changes when another card
 * changed the account's factors, to load them again.
 *
 * @example
 * <PasskeysCard onChanged={reload} version={factorsVersion} />
 */
export function PasskeysCard(props: { onChanged?: () => void; version?: number }) {
  const [factors, setFactors] = useState<Factors | null>(null);
  const [failed, setFailed] = useState(false);
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const [confirming, setConfirming] = useState<Confirmation | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // What to say once the recovery codes are put away.
  const added = useRef<string>("");
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

  const add = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const local = nameProblem(name, false);
    setNameError(local);
    if (local) return document.getElementById("passkey-name")?.focus();
    setBusy(true);
    setMessage(null);
    try {
      // The options need a recent sign-in; the browser's dialog comes after them.
      const response = await withRecentSignIn(() => makePasskey());
      const named = name.trim();
      const body = { response: response as never, ...(named ? { name: named } : {}) };
      const answer = await call(client.POST("/auth/factors/passkeys", { body }));
      setName("");
      const others = answer.endedSessions;
      const text = `Passkey “${answer.passkey.name}” added: it signs you in without your password.${
        others > 0 ? ` Your other sessions (${others}) were signed out: they were opened with the password alone.` : ""
      }`;
      if (answer.recoveryCodes.length > 0) {
        added.current = text;
        setCodes(answer.recoveryCodes);
      } else setMessage({ tone: "ok", text });
      changed();
    } catch (error) {
      if (!signedOut(error)) setMessage(failure(error));
    } finally {
      setBusy(false);
    }
  };
  const remove = (passkey: Passkey): Confirmation => {
    const last = factors?.passkeys.length === 1 && !factors.totp;
    return {
      title: `Remove the passkey “${passkey.name}”?`,
      body: last
        ? "It will sign in no more. It is your last second factor: signing in will need only your password again, and your recovery codes will stop working."
        : "It will sign in no more. Your other sign-in methods stay.",
      action: "Remove passkey",
      danger: true,
      run: async () => {
        setMessage(null);
        try {
          const path = { params: { path: { id: passkey.id } } };
          await withRecentSignIn(() => call(client.DELETE("/auth/factors/passkeys/{id}", path)));
          setMessage({ tone: "ok", text: `Passkey “${passkey.name}” removed.` });
          changed();
        } catch (error) {
          if (!signedOut(error)) setMessage(failure(error));
        }
      },
    };
  };

  const supported = passkeysSupported();
  return (
    <section class="card passkeys" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">Passkeys</h2>
      {failed ? (
        <p class="error" role="alert">
          Your passkeys could not be loaded.
        </p>
      ) : factors === null ? (
        <p class="muted">Loading…</p>
      ) : codes ? (
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            setCodes(null);
            setMessage({ tone: "ok", text: added.current });
          }}
        />
      ) : (
        <>
          <p class="muted">
            A passkey signs you in with your fingerprint, face, screen lock or a security key, without your password;
            after a password, it is the second step. Nothing secret leaves your device.
          </p>
          {factors.passkeys.length === 0 ? (
            <p>No passkeys yet.</p>
          ) : (
            <ul class="passkey-list" aria-label="Your passkeys">
              {factors.passkeys.map((passkey) => (
                <PasskeyItem
                  key={passkey.id}
                  passkey={passkey}
                  renaming={renaming === passkey.id}
                  onRename={(open) => setRenaming(open ? passkey.id : null)}
                  onRenamed={(renamed) => {
                    setRenaming(null);
                    setMessage({ tone: "ok", text: `Renamed to “${renamed.name}”.` });
                    changed();
                  }}
                  onRemove={() => setConfirming(remove(passkey))}
                />
              ))}
            </ul>
          )}
          {!factors.passkeysAvailable ? (
            <Alert tone="info">
              <p>
                Passkeys are not available on this server: its address has no domain name to bind them to (an IP
                address). The administrator sets one with <code>PUBLIC_ORIGIN</code>.
              </p>
            </Alert>
          ) : !supported ? (
            <Alert tone="info">
              <p>This browser cannot use passkeys. Use a recent browser to add one.</p>
            </Alert>
          ) : (
            <form onSubmit={add} noValidate class="passkey-add">
              <Field
                id="passkey-name"
                label="Name"
                optional
                plain
                value={name}
                onInput={(value) => {
                  setName(value);
                  setNameError(null);
                }}
                hint="Where the passkey lives, such as “Phone” or “YubiKey”, to tell it from the others."
                error={nameError}
              />
              <button type="submit" class="primary" aria-disabled={busy}>
                {busy ? "Waiting for your passkey…" : "Add a passkey"}
              </button>
            </form>
          )}
        </>
      )}
      {message ? <Outcome key={`${message.tone}:${message.text}`} message={message} /> : null}
      {confirming ? <ConfirmDialog confirmation={confirming} onClose={() => setConfirming(null)} /> : null}
    </section>
  );
}

/** One passkey: its name and dates, "Rename" (a small form in its place) and "Remove". */
function PasskeyItem(props: {
  passkey: Passkey;
  renaming: boolean;
  onRename: (open: boolean) => void;
  onRenamed: (passkey: Passkey) => void;
  onRemove: () => void;
}) {
  const { passkey } = props;
  const [value, setValue] = useState(passkey.name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  // The form replaces the button that opened it, and gives the focus back when it closes.
  const wasOpen = useRef(false);
  useEffect(() => {
    if (props.renaming) {
      wasOpen.current = true;
      setValue(passkey.name);
      setError(null);
      field.current?.focus();
      field.current?.select();
    } else if (wasOpen.current) {
      wasOpen.current = false;
      opener.current?.focus();
    }
  }, [props.renaming]);
  const id = `passkey-${passkey.id}`;
  const save = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const local = nameProblem(value, true);
    if (local) {
      setError(local);
      return field.current?.focus();
    }
    setBusy(true);
    try {
      const path = { id: passkey.id };
      const answer = await call(
        client.PATCH("/auth/factors/passkeys/{id}", { params: { path }, body: { name: value.trim() } }),
      );
      props.onRenamed(answer.passkey);
    } catch (error) {
      if (error instanceof LatchkeyError && error.status === 401) return;
      setError(passkeyProblem(error));
      field.current?.focus();
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class="passkey-item" aria-labelledby={`${id}-name`}>
      <p class="email-now">
        <span class="email-address" id={`${id}-name`}>
          {passkey.name}
        </span>
      </p>
      <dl class="facts">
        <div>
          <dt>Added</dt>
          <dd>{when(passkey.createdAt)}</dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>{passkey.lastUsedAt ? ago(passkey.lastUsedAt) : "Not yet"}</dd>
        </div>
      </dl>
      {props.renaming ? (
        <form onSubmit={save} noValidate>
          <Field
            id={`${id}-rename`}
            label={`New name for “${passkey.name}”`}
            plain
            inputRef={field}
            value={value}
            onInput={(next) => {
              setValue(next);
              setError(null);
            }}
            error={error}
          />
          <div class="actions">
            <button type="submit" class="primary" aria-disabled={busy}>
              {busy ? "Saving…" : "Save name"}
            </button>
            <button type="button" class="secondary" onClick={() => props.onRename(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="actions passkey-actions">
          <button type="button" class="secondary" ref={opener} onClick={() => props.onRename(true)}>
            Rename<span class="sr-only"> {passkey.name}</span>
          </button>
          <button type="button" class="danger" onClick={props.onRemove}>
            Remove<span class="sr-only"> {passkey.name}</span>…
          </button>
        </div>
      )}
    </li>
  );
}
