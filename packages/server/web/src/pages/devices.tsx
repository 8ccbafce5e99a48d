import { useEffect, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, type Session } from "../api.js";
import { DeviceIcon } from "../components/icons.js";
import { ago, when } from "../format.js";

const failure = (error: unknown) =>
  error instanceof LatchkeyError ? error.message : "The server could not be reached.";

export function Devices() {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  const load = () =>
    call(client.GET("/auth/sessions"))
      .then(({ sessions }) => setSessions(sessions))
      .catch(() => setMessage({ kind: "error", text: "The device list could not be loaded." }));
  useEffect(() => {
    void load();
  }, []);

  const act = async (action: () => Promise<unknown>, done: string) => {
    setMessage(null);
    try {
      await action();
      await load();
      setMessage({ kind: "ok", text: done });
    } catch (error) {
      setMessage({ kind: "error", text: failure(error) });
    }
  };

  const others = (sessions ?? []).filter((s) => !s.current).length;
  return (
    <>
      <p class="lead">
        Every place you are signed in. Sign out a device you do not recognise, and it stops working at once.
      </p>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={others === 0}
          onClick={() => act(() => call(client.POST("/auth/logout-others")), "Every other device has been signed out.")}
        >
          Sign out all other devices
        </button>
        <button
          type="button"
          class="danger"
          // Once signed out, this tab and the others hear it from the client: the sign-in page.
          onClick={() =>
            latchkey.signOutEverywhere().catch((error) => setMessage({ kind: "error", text: failure(error) }))
          }
        >
          Sign out everywhere
        </button>
      </div>
      {message ? (
        <p class={message.kind === "ok" ? "success" : "error"} role="status">
          {message.text}
        </p>
      ) : null}
      {sessions === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <ul class="devices" aria-label="Signed-in devices">
          {sessions.map((s) => (
            <li key={s.id} class="card device" data-session={s.id}>
              <div class="device-icon">
                <DeviceIcon kind={s.strategy === "bearer" ? "bearer" : s.device.type} />
              </div>
              <div class="device-main">
                <h2>
                  {s.strategy === "bearer" ? "API client" : `${s.device.browser} on ${s.device.os}`}
                  {s.current ? <span class="badge current">This device</span> : null}
                </h2>
                <dl>
                  <div>
                    <dt>Address</dt>
                    <dd>{s.ip || "unknown"}</dd>
                  </div>
                  <div>
                    <dt>Signed in</dt>
                    <dd title={when(s.createdAt)}>{ago(s.createdAt)}</dd>
                  </div>
                  <div>
                    <dt>Last seen</dt>
                    <dd title={when(s.lastSeenAt)}>{ago(s.lastSeenAt)}</dd>
                  </div>
                  <div>
                    <dt>Kind</dt>
                    <dd>{s.strategy}</dd>
                  </div>
                </dl>
              </div>
              {s.current ? null : (
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Sign out ${s.device.browser} on ${s.device.os}, signed in ${ago(s.createdAt)}`}
                  onClick={() =>
                    act(
                      () => call(client.DELETE("/auth/sessions/{id}", { params: { path: { id: s.id } } })),
                      "That device has been signed out.",
                    )
                  }
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
