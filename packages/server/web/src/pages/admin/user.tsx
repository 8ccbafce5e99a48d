/**
 * One user as an administrator sees them: the facts, the actions (each confirmed in a
 * dialog first, and run through `withRecentSignIn`: latchkey asks for a recent sign-in
 * before an admin change), their devices and their security timeline.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type AdminUser, call, client, type Me, type Roles, type SecurityEvent, type Session } from "../../api.js";
import { type Confirmation, ConfirmDialog } from "../../components/confirm.js";
import { NotConfirmed, withRecentSignIn } from "../../components/recent-sign-in.js";
import { when } from "../../format.js";
import { Devices, Timeline } from "./activity.js";
import { problem } from "./problem.js";
import { RolesForm } from "./roles-form.js";

type Message = { kind: "ok" | "error" | "note"; text: string };

/** An action's failure as shown: the API's refusal, or quietly that the person cancelled it. */
const failure = (error: unknown): Message =>
  error instanceof NotConfirmed ? { kind: "note", text: error.message } : { kind: "error", text: problem(error) };

const MESSAGE_CLASS = { ok: "success", error: "error", note: "muted" } as const;

interface Detail {
  user: AdminUser;
  sessions: Session[];
  events: SecurityEvent[];
}

export function UserDetail(props: {
  userId: string;
  me: Me;
  roles: Roles;
  onChanged: () => void;
  onClose: () => void;
  onDeleted: (username: string) => void;
}) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const [confirming, setConfirming] = useState<Confirmation | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const path = { params: { path: { id: props.userId } } };
  const can = (permission: string) => props.me.permissions.includes(permission);

  const load = () =>
    call(client.GET("/admin/users/{id}", path))
      .then(setDetail)
      .catch((e) => setMessage({ kind: "error", text: problem(e) }));
  useEffect(() => {
    void load().then(() => heading.current?.focus());
  }, []);

  // Runs a confirmed action (after a recent sign-in, if latchkey asks for one): the outcome,
  // or the API's refusal, shown where it was asked.
  const act =
    <T,>(action: () => Promise<T>, done: (result: T) => string) =>
    async () => {
      setMessage(null);
      try {
        setMessage({ kind: "ok", text: done(await withRecentSignIn(action)) });
        props.onChanged();
        await load();
      } catch (e) {
        setMessage(failure(e));
      }
    };

  if (!detail) {
    return (
      <section class="card" aria-label="User">
        {message ? (
          <p class="error" role="alert">
            {message.text}
          </p>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }
  const { user, sessions, events } = detail;
  const name = user.username;
  const disabled = user.disabledAt !== null;
  return (
    <section class="card detail" aria-labelledby="detail-heading">
      <div class="detail-head">
        <h2 id="detail-heading" tabIndex={-1} ref={heading}>
          {name}
          {disabled ? <span class="badge off">Disabled</span> : null}
        </h2>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      <dl class="facts">
        <div>
          <dt>Roles</dt>
          <dd>{user.roles.join(", ")}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{when(user.createdAt)}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{disabled ? `Disabled ${when(user.disabledAt as string)}` : "Active"}</dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd>
            <code>{user.id}</code>
          </dd>
        </div>
      </dl>
      {message ? (
        <p class={MESSAGE_CLASS[message.kind]} role={message.kind === "error" ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}
      <div class="actions">
        {can("users:disable") ? (
          disabled ? (
            <button
              type="button"
              class="secondary"
              onClick={() =>
                setConfirming({
                  title: `Enable ${name}?`,
                  body: `${name} will be able to sign in again.`,
                  action: `Enable ${name}`,
                  run: act(
                    () => call(client.POST("/admin/users/{id}/enable", path)),
                    () => `${name} is enabled.`,
                  ),
                })
              }
            >
              Enable…
            </button>
          ) : (
            <button
              type="button"
              class="danger"
              onClick={() =>
                setConfirming({
                  title: `Disable ${name}?`,
                  body: `${name} is signed out everywhere at once and cannot sign in until enabled again.`,
                  action: `Disable ${name}`,
                  danger: true,
                  run: act(
                    () => call(client.POST("/admin/users/{id}/disable", path)),
                    () => `${name} is disabled; their sessions have ended.`,
                  ),
                })
              }
            >
              Disable…
            </button>
          )
        ) : null}
        {can("sessions:revoke") ? (
          <button
            type="button"
            class="secondary"
            disabled={sessions.length === 0}
            onClick={() =>
              setConfirming({
                title: `End ${name}'s sessions?`,
                body: `Every device of ${name} (${sessions.length}) is signed out at once; they can sign in again.`,
                action: "End sessions",
                danger: true,
                run: act(
                  () => call(client.DELETE("/admin/users/{id}/sessions", path)),
                  ({ ended }) => `Ended ${ended} ${ended === 1 ? "session" : "sessions"} of ${name}.`,
                ),
              })
            }
          >
            End sessions…
          </button>
        ) : null}
        {can("users:delete") ? (
          <button
            type="button"
            class="danger"
            onClick={() =>
              setConfirming({
                title: `Delete ${name}?`,
                body: `Deletes ${name}'s account, their to-dos and every session. This cannot be undone.`,
                action: `Delete ${name}`,
                danger: true,
                run: async () => {
                  setMessage(null);
                  try {
                    await withRecentSignIn(() => call(client.DELETE("/admin/users/{id}", path)));
                    props.onDeleted(name);
                  } catch (e) {
                    setMessage(failure(e));
                  }
                },
              })
            }
          >
            Delete…
          </button>
        ) : null}
      </div>
      {can("users:set-roles") ? (
        <RolesForm
          user={user}
          roles={props.roles}
          onSave={(roles) =>
            setConfirming({
              title: `Change ${name}'s roles?`,
              body: `${name}'s roles become: ${roles.join(", ") || "none"}. Their signed-in devices get the new roles within a second.`,
              action: "Save roles",
              run: act(
                () => call(client.PUT("/admin/users/{id}/roles", { ...path, body: { roles } })),
                () => `${name}'s roles are now ${roles.join(", ")}.`,
              ),
            })
          }
        />
      ) : null}
      <Devices sessions={sessions} />
      <Timeline events={events} />
      {confirming ? <ConfirmDialog confirmation={confirming} onClose={() => setConfirming(null)} /> : null}
    </section>
  );
}
