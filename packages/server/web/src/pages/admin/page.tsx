/**
 * The admin page: users (search, role filter, pages), one user's detail with the actions,
 * the audit log and the to-do counts. Shown to users whose roles grant `users:read`; the
 * server checks every call again, so the page only hides what would be refused anyway.
 */
import { useEffect, useState } from "preact/hooks";
import { call, client, type Me, type Roles } from "../../api.js";
import { AuditLog } from "./audit.js";
import { problem } from "./problem.js";
import { TodoStatsPanel } from "./stats.js";
import { UserDetail } from "./user.js";
import { UsersPanel } from "./users.js";

/** The permission the page needs; the nav link is shown to those who have it. */
export const ADMIN_PERMISSION = "users:read";

export function Admin(props: { me: Me }) {
  if (!props.me.permissions.includes(ADMIN_PERMISSION)) return <NotAllowed />;
  return <Console me={props.me} />;
}

function NotAllowed() {
  return (
    <section class="card notice" aria-labelledby="denied-heading">
      <h2 id="denied-heading">Not allowed</h2>
      <p>
        You are not allowed to see this page: it is for administrators (it needs the <code>{ADMIN_PERMISSION}</code>{" "}
        permission). Ask an administrator if you need access.
      </p>
    </section>
  );
}

function Console(props: { me: Me }) {
  const [roles, setRoles] = useState<Roles | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Bumped after every change, so the lists show it.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    call(client.GET("/admin/roles"))
      .then(setRoles)
      .catch((e) => setError(problem(e)));
  }, []);
  const can = (permission: string) => props.me.permissions.includes(permission);
  const changed = () => setVersion((v) => v + 1);

  if (error) {
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  }
  if (!roles) return <p class="muted">Loading…</p>;
  return (
    <div class="admin">
      <p class="lead">
        Every account: search them, open one to see its devices and history, and disable it, end its sessions, change
        its roles or delete it. Every action is recorded in the audit log below.
      </p>
      {notice ? (
        <p class="success" role="status">
          {notice}
        </p>
      ) : null}
      <UsersPanel
        roles={roles}
        version={version}
        selected={selected}
        onSelect={(id) => {
          setNotice(null);
          setSelected(id);
        }}
      />
      {selected ? (
        <UserDetail
          key={selected}
          userId={selected}
          me={props.me}
          roles={roles}
          onChanged={changed}
          onClose={() => setSelected(null)}
          onDeleted={(username) => {
            setSelected(null);
            setNotice(`${username} was deleted.`);
            changed();
          }}
        />
      ) : null}
      <AuditLog version={version} />
      {can("todos:read-any") ? <TodoStatsPanel version={version} /> : null}
    </div>
  );
}
