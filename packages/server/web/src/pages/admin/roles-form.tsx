/** The roles of one user as checkboxes, one per declared role (`GET /admin/roles`). */
import { useState } from "preact/hooks";
import type { AdminUser, Roles } from "../../api.js";

export function RolesForm(props: { user: AdminUser; roles: Roles; onSave: (roles: string[]) => void }) {
  const [chosen, setChosen] = useState<string[]>(props.user.roles);
  const [warning, setWarning] = useState<string | null>(null);
  const sorted = [...chosen].sort();
  const unchanged = sorted.join() === [...props.user.roles].sort().join();
  const toggle = (name: string, on: boolean) => {
    setWarning(null);
    setChosen((list) => (on ? [...list, name] : list.filter((r) => r !== name)));
  };
  return (
    <form
      class="roles-form"
      onSubmit={(event) => {
        event.preventDefault();
        // A user always has a role; the API says so too, this says it before asking.
        if (sorted.length === 0) return setWarning("Choose at least one role (user for none in particular).");
        props.onSave(sorted);
      }}
    >
      <fieldset>
        <legend>Roles</legend>
        {props.roles.roles.map((role) => (
          <label key={role.name} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(role.name)}
              onChange={(e) => toggle(role.name, e.currentTarget.checked)}
            />
            <span>
              {role.name}
              <span class="muted">
                {" "}
                — {role.permissions.length === 0 ? "no permissions" : role.permissions.join(", ")}
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {warning ? (
        <p class="error" role="alert">
          {warning}
        </p>
      ) : null}
      <button type="submit" class="secondary" disabled={unchanged}>
        Save roles…
      </button>
    </form>
  );
}
