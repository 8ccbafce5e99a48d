import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, type Todo } from "../api.js";

type Filter = "all" | "active" | "done";
/** A to-do as the list holds it: `key` stays the same when the server's copy replaces ours. */
type Item = Todo & { key?: string };

export function Todos() {
  const [todos, setTodos] = useState<Item[] | null>(null);
  const [title, setTitle] = useState("");
  const [filter, setFilter] = useState<Filter>("all");
  // The row being edited, by its key: a to-do added a moment ago keeps its key when the
  // server's copy (with the server's id) replaces it, so its editor stays open.
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const newTitle = useRef<HTMLInputElement>(null);

  // Changes made while the list loads make its answer stale: load again until none did.
  const changes = useRef(0);
  useEffect(() => {
    const load = async (): Promise<void> => {
      const before = changes.current;
      const { todos } = await call(client.GET("/api/todos"));
      if (changes.current !== before) return load();
      // Keep anything still on its way to the server.
      setTodos((list) => [...todos, ...(list ?? []).filter((t) => t.id.startsWith("tmp-"))]);
    };
    load().catch(() => setMessage("Your to-dos could not be loaded."));
  }, []);

  const fail = (error: unknown, rollback: () => void) => {
    rollback();
    setMessage(
      error instanceof LatchkeyError ? `Not saved: ${error.message}` : "Not saved: the server could not be reached.",
    );
  };

  const add = async (event: Event) => {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    // Where focus was when the to-do was submitted: the field, or the Add button.
    const focused = document.activeElement;
    const now = new Date().toISOString();
    changes.current++;
    const temp: Todo = { id: `tmp-${crypto.randomUUID()}`, title: text, done: false, createdAt: now, updatedAt: now };
    setTodos((list) => [...(list ?? []), temp]);
    setTitle("");
    setMessage(null);
    try {
      const { todo } = await call(client.POST("/api/todos", { body: { title: text } }));
      // Keep the temporary key so the row (and any focus inside it) survives the swap.
      setTodos((list) => (list ?? []).map((t) => (t.id === temp.id ? { ...todo, key: temp.id } : t)));
    } catch (error) {
      fail(error, () => {
        setTodos((list) => (list ?? []).filter((t) => t.id !== temp.id));
        setTitle(text);
      });
    }
    // Back to the field for the next one, unless the user has moved on meanwhile (to edit
    // another to-do, say): taking focus from an open editor would close it.
    if (document.activeElement === focused || document.activeElement === document.body) newTitle.current?.focus();
  };

  const update = async (todo: Todo, patch: Partial<Pick<Todo, "title" | "done">>) => {
    changes.current++;
    setTodos((list) => (list ?? []).map((t) => (t.id === todo.id ? { ...t, ...patch } : t)));
    setMessage(null);
    try {
      const saved = await call(client.PATCH("/api/todos/{id}", { params: { path: { id: todo.id } }, body: patch }));
      setTodos((list) => (list ?? []).map((t) => (t.id === todo.id ? { ...saved.todo, key: t.key } : t)));
    } catch (error) {
      fail(error, () => setTodos((list) => (list ?? []).map((t) => (t.id === todo.id ? todo : t))));
    }
  };

  const remove = async (todo: Todo) => {
    changes.current++;
    const before = todos ?? [];
    setTodos(before.filter((t) => t.id !== todo.id));
    setMessage(null);
    try {
      await call(client.DELETE("/api/todos/{id}", { params: { path: { id: todo.id } } }));
    } catch (error) {
      fail(error, () => setTodos(before));
    }
  };

  const visible = (todos ?? []).filter((t) => (filter === "all" ? true : filter === "done" ? t.done : !t.done));
  const left = (todos ?? []).filter((t) => !t.done).length;

  return (
    <section class="card" aria-labelledby="todo-heading">
      <h2 id="todo-heading" class="sr-only">
        Your list
      </h2>
      <form class="add" onSubmit={add}>
        <label for="new-todo" class="sr-only">
          New to-do
        </label>
        <input
          id="new-todo"
          ref={newTitle}
          placeholder="What needs doing?"
          maxLength={500}
          value={title}
          onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary">
          Add
        </button>
      </form>
      <fieldset class="filters">
        <legend class="sr-only">Show</legend>
        {(["all", "active", "done"] as const).map((f) => (
          <button key={f} type="button" class="chip" aria-pressed={filter === f} onClick={() => setFilter(f)}>
            {f === "all" ? "All" : f === "active" ? "Active" : "Done"}
          </button>
        ))}
        <span class="muted count" aria-live="polite">
          {todos ? `${left} left` : ""}
        </span>
      </fieldset>
      {message ? (
        <p class="error" role="alert">
          {message}
        </p>
      ) : null}
      {todos === null ? (
        <p class="muted">Loading…</p>
      ) : visible.length === 0 ? (
        <p class="empty muted">{todos.length === 0 ? "Nothing to do yet. Add something above." : "Nothing here."}</p>
      ) : (
        <ul class="todos">
          {visible.map((todo) => (
            <li key={todo.key ?? todo.id} class={todo.done ? "done" : ""}>
              <input
                type="checkbox"
                id={`done-${todo.id}`}
                checked={todo.done}
                aria-label={`Done: ${todo.title}`}
                onChange={() => update(todo, { done: !todo.done })}
              />
              {editing === (todo.key ?? todo.id) ? (
                <EditTitle
                  todo={todo}
                  onDone={(text) => {
                    setEditing(null);
                    if (text && text !== todo.title) void update(todo, { title: text });
                  }}
                />
              ) : (
                <button
                  type="button"
                  class="title"
                  onClick={() => setEditing(todo.key ?? todo.id)}
                  aria-label={`Edit: ${todo.title}`}
                >
                  {todo.title}
                </button>
              )}
              <button
                type="button"
                class="ghost danger"
                aria-label={`Delete: ${todo.title}`}
                onClick={() => remove(todo)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function EditTitle(props: { todo: Todo; onDone: (text: string | null) => void }) {
  const [text, setText] = useState(props.todo.title);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  return (
    <input
      ref={input}
      class="edit"
      aria-label="Edit the title, Enter to save, Escape to cancel"
      maxLength={500}
      value={text}
      onInput={(e) => setText((e.target as HTMLInputElement).value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") props.onDone(text.trim() || null);
        if (e.key === "Escape") props.onDone(null);
      }}
      onBlur={() => props.onDone(text.trim() || null)}
    />
  );
}
