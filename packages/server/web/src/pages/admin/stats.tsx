/** How many to-dos each user has (the to-do app's `todos:read-any`): counts, never titles. */
import { useEffect, useState } from "preact/hooks";
import { call, client, type TodoStats } from "../../api.js";
import { problem } from "./problem.js";

export function TodoStatsPanel(props: { version: number }) {
  const [stats, setStats] = useState<TodoStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call(client.GET("/api/todos/stats"))
      .then(setStats)
      .catch((e) => setError(problem(e)));
  }, [props.version]);
  return (
    <section class="card" aria-labelledby="stats-heading">
      <h2 id="stats-heading">To-dos per user</h2>
      <p class="muted">How many to-dos each user has, most first. What they are stays private.</p>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : stats === null ? (
        <p class="muted">Loading…</p>
      ) : stats.users.length === 0 ? (
        <p class="muted">Nobody has a to-do yet.</p>
      ) : (
        <table class="table stats-table">
          <caption class="sr-only">To-dos per user</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col" class="number">
                To-dos
              </th>
            </tr>
          </thead>
          <tbody>
            {stats.users.map((user) => (
              <tr key={user.id}>
                <th scope="row">{user.username}</th>
                <td class="number">{user.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
