/**
 * The users table: search by part of the username, filter by role, a page at a time
 * (the API's cursor forwards; the cursors already seen, backwards).
 */
import { useEffect, useState } from "preact/hooks";
import { type AdminUser, call, client, type Roles } from "../../api.js";
import { when } from "../../format.js";
import { problem } from "./problem.js";

/** Users per page. */
export const USERS_PAGE = 25;

interface Filter {
  q: string;
  role: string;
}

export function UsersPanel(props: {
  roles: Roles;
  version: number;
  selected: string | null;
  onSelect: (userId: string) => void;
}) {
  const [q, setQ] = useState("");
  const [role, setRole] = useState("");
  const [filter, setFilter] = useState<Filter>({ q: "", role: "" });
  // The cursor of each page seen so far: `undefined` for the first.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ users: AdminUser[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors.at(-1);

  useEffect(() => {
    let current = true;
    setError(null);
    const query = {
      limit: String(USERS_PAGE),
      ...(filter.q && { q: filter.q }),
      ...(filter.role && { role: filter.role }),
      ...(cursor !== undefined && { cursor }),
    };
    call(client.GET("/admin/users", { params: { query } }))
      .then((answer) => current && setPage(answer))
      .catch((e) => current && setError(problem(e)));
    return () => {
      current = false;
    };
  }, [filter, cursor, props.version]);

  const search = (event: Event) => {
    event.preventDefault();
    setFilter({ q: q.trim(), role });
    setCursors([undefined]);
  };
  const pageNumber = cursors.length;

  return (
    <section class="card" aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <form class="search" onSubmit={search}>
        <div class="field">
          <label for="user-q">Username contains</label>
          <input id="user-q" type="search" maxLength={256} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="">Any role</option>
            {props.roles.roles.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {page === null ? (
        <p class="muted">Loading…</p>
      ) : page.users.length === 0 ? (
        <p class="muted" role="status">
          No user matches.
        </p>
      ) : (
        <table class="table users-table">
          <caption class="sr-only">Users, page {pageNumber}; choose a username to open it</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Roles</th>
              <th scope="col">Status</th>
              <th scope="col" class="wide-only">
                Created
              </th>
            </tr>
          </thead>
          <tbody>
            {page.users.map((user) => (
              <tr key={user.id} class={props.selected === user.id ? "selected" : undefined}>
                <th scope="row">
                  <button
                    type="button"
                    class="link"
                    aria-current={props.selected === user.id ? "true" : undefined}
                    onClick={() => props.onSelect(user.id)}
                  >
                    {user.username}
                  </button>
                </th>
                <td>{user.roles.join(", ")}</td>
                <td>{user.disabledAt ? <span class="badge off">Disabled</span> : "Active"}</td>
                <td class="wide-only">{when(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Users pages">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length === 1}
          onClick={() => setCursors((list) => list.slice(0, -1))}
        >
          Previous
        </button>
        <span class="muted" aria-live="polite">
          Page {pageNumber}
        </span>
        <button
          type="button"
          class="secondary"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors((list) => [...list, page.nextCursor ?? undefined])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}
