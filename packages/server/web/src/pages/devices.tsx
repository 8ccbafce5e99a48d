import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, latchkey, type Session } from "../api.js";
import { DeviceIcon } from "../components/icons.js";
import { SkeletonList } from "../components/skeleton.js";
import { toast } from "../components/toast.js";
import { ago, when } from "../format.js";
import { useOnReturn } from "../on-return.js";

const failure = (error: unknown) =>
  error instanceof LatchkeyError ? error.message : "The server could not be reached.";

export function Devices() {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  // The list is the server's as of the last load: loaded again when the person comes back
  // to the tab, when the session changes (a sign-in or refresh in another tab), and after
  // each action, so a device that signed in meanwhile appears. The newest answer wins.
  const loads = useRef(0);
  const load = async () => {
    const mine = ++loads.current;
    try {
      const { sessions } = await call(client.GET("/auth/sessions"));
      if (mine === loads.current) setSessions(sessions);
    } catch (error) {
      // A 401 is the app's to handle (the sign-in page, with the reason).
      if (!(error instanceof LatchkeyError && error.status === 401)) {
        setMessage({ kind: "error", text: "The device list could not be loaded." });
      }
    }
  };
  useEffect(() => {
    void load();
  }, []);
  useOnReturn(() => void load(), { onSessionChange: true });

  const act = async (action: () => Promise<unknown>, done: string) => {
    setMessage(null);
    try {
      await action();
      await load();
      toast(done);
    } catch (error) {
      setMessage({ kind: "error", text: failure(error) });
      void load();
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
        <p class={message.kind === "ok" ? "success" : "error"} role="alert">
          {message.text}
        </p>
      ) : null}
      {sessions === null ? (
        <SkeletonList label="Loading your devices" rows={2} />
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
