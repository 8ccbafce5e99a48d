import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError, type Todo } from "../api.js";
import { type Draft, draftOf, keepDraft, wasInterrupted } from "../drafts.js";

type Filter = "all" | "active" | "done";
/** A to-do as the list holds it: `key` stays the same when the server's copy replaces ours. */
type Item = Todo & { key?: string };
/** How an editor closed: with a title to save, cancelled, or refused (a title the server would refuse). */
type EditOutcome = { title?: string; refused?: string; refocus: boolean };

/** The longest title the server accepts: its schema counts characters (code points), not UTF-16 units. */
const MAX_TITLE = 500;
/** From this many characters on, a title field shows its count, so the limit never comes as a surprise. */
const COUNT_FROM = 400;

const rowKey = (todo: Item) => todo.key ?? todo.id;
/** The length the server counts: the trimmed title the app sends, in code points. */
const titleLength = (text: string) => [...text.trim()].length;
const ids = (...list: Array<string | false>) => list.filter(Boolean).join(" ") || undefined;

/** Why the server would refuse this title, said for the field; `null` when it would take it. */
function titleProblem(text: string): string | null {
  const length = titleLength(text);
  if (length === 0) return "A to-do needs a title: type a word or two, not only spaces.";
  if (length > MAX_TITLE) {
    return `That title has ${length} characters; the most is ${MAX_TITLE}. Shorten it by ${length - MAX_TITLE}.`;
  }
  return null;
}

/** A title field's count, once it nears the limit; an error past it. */
function TitleCount(props: { id: string; text: string }) {
  const length = titleLength(props.text);
  if (length < COUNT_FROM) return null;
  return (
    <p id={props.id} class={length > MAX_TITLE ? "field-error title-count" : "hint title-count"}>
      {length} of {MAX_TITLE} characters
    </p>
  );
}

export function Todos(props: { userId: string }) {
  // What this user was typing when a forced sign-out took the page away (kept in memory,
  // given back only to them): the new to-do's text, and the edit of a to-do, reopened once
  // the list shows it.
  const [restored] = useState<Draft | null>(() => draftOf(props.userId));
  const [interrupted] = useState(() => restored !== null && wasInterrupted(props.userId));
  const [todos, setTodos] = useState<Item[] | null>(null);
  const [title, setTitle] = useState(restored?.title ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>("all");
  // The row being edited, by its key: a to-do added a moment ago keeps its key when the
  // server's copy (with the server's id) replaces it, so its editor stays open.
  const [editing, setEditing] = useState<string | null>(null);
  // The open editor's text as typed, for the draft.
  const [editDraft, setEditDraft] = useState<{ id: string; text: string } | null>(restored?.edit ?? null);
  useEffect(() => keepDraft(props.userId, { title, edit: editDraft }), [props.userId, title, editDraft]);
  const [message, setMessage] = useState<string | null>(null);
  // What the last add or delete did, shown and announced (the new row may be far below).
  const [status, setStatus] = useState("");
  const newTitle = useRef<HTMLInputElement>(null);

  // An action that removes the focused control (an editor, a deleted row) names the element
  // to focus next, and an add the row to bring into view: state set with the change, so each
  // lands in the render that puts it on the page (without this, focus falls to the body).
  const [focusTarget, setFocusTarget] = useState<{ id: string } | null>(null);
  const [revealTarget, setRevealTarget] = useState<{ id: string } | null>(null);
  useLayoutEffect(() => {
    if (focusTarget) document.getElementById(focusTarget.id)?.focus();
  }, [focusTarget]);
  useLayoutEffect(() => {
    if (revealTarget) document.getElementById(revealTarget.id)?.scrollIntoView({ block: "nearest" });
  }, [revealTarget]);

  // Changes made while the list loads make its answer stale: load again until none did.
  const changes = useRef(0);
  useEffect(() => {
    const load = async (): Promise<void> => {
      const before = changes.current;
      const { todos } = await call(client.GET("/api/todos"));
      if (changes.current !== before) return load();
      // Keep anything still on its way to the server.
      setTodos((list) => [...todos, ...(list ?? []).filter((t) => t.id.startsWith("tmp-"))]);
      const edit = restored?.edit;
      if (edit && todos.some((t) => t.id === edit.id)) setEditing(edit.id);
      else setEditDraft(null);
      if (interrupted) setStatus("What you were typing before you were signed out is back.");
    };
    load().catch(() => setMessage("Your to-dos could not be loaded."));
  }, []);

  const visible = (todos ?? []).filter((t) => (filter === "all" ? true : filter === "done" ? t.done : !t.done));
  const left = (todos ?? []).filter((t) => !t.done).length;

  const fail = (error: unknown, rollback: () => void) => {
    rollback();
    setStatus("");
    setMessage(
      error instanceof LatchkeyError ? `Not saved: ${error.message}` : "Not saved: the server could not be reached.",
    );
  };

  const add = async (event: Event) => {
    event.preventDefault();
    // Said on the field, never cut or dropped in silence: the server takes 1 to 500 characters.
    const refused = titleProblem(title);
    if (refused) {
      setProblem(refused);
      newTitle.current?.focus();
      return;
    }
    const text = title.trim();
    // Where focus was when the to-do was submitted: the field, or the Add button.
    const focused = document.activeElement;
    const now = new Date().toISOString();
    changes.current++;
    const temp: Todo = { id: `tmp-${crypto.randomUUID()}`, title: text, done: false, createdAt: now, updatedAt: now };
    setTodos((list) => [...(list ?? []), temp]);
    setRevealTarget({ id: `row-${temp.id}` });
    setStatus(
      filter === "done" ? `Added “${text}”. The Done filter hides it: choose All to see it.` : `Added “${text}”.`,
    );
    setTitle("");
    setMessage(null);
    try {
      const { todo } = await call(client.POST("/api/todos", { body: { title: text } }));
      // Keep the temporary key so the row (and any focus inside it) survives the swap.
      setTodos((list) => (list ?? []).map((t) => (t.id === temp.id ? { ...todo, key: temp.id } : t)));
      // An edit typed before this answer names the temporary id: the draft must name the
      // server's, the one a forced sign-out's reload finds again.
      setEditDraft((draft) => (draft?.id === temp.id ? { ...draft, id: todo.id } : draft));
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

  const finishEdit = (todo: Item, outcome: EditOutcome) => {
    setEditing(null);
    setEditDraft(null);
    // Enter and Escape put the focus back on the to-do; a click elsewhere leaves it where it went.
    if (outcome.refocus) setFocusTarget({ id: `title-${rowKey(todo)}` });
    if (outcome.refused) setMessage(`The title was not changed: it is still “${todo.title}”. ${outcome.refused}`);
    else if (outcome.title !== undefined && outcome.title !== todo.title) void update(todo, { title: outcome.title });
  };

  const remove = async (todo: Item) => {
    // The row and its button go: focus moves to the next to-do in sight, else the one
    // before, else the field for a new one.
    const at = visible.findIndex((t) => t.id === todo.id);
    const neighbour = visible[at + 1] ?? visible[at - 1];
    setFocusTarget({ id: neighbour ? `title-${rowKey(neighbour)}` : "new-todo" });
    changes.current++;
    const before = todos ?? [];
    setTodos(before.filter((t) => t.id !== todo.id));
    setStatus(`Deleted “${todo.title}”.`);
    setMessage(null);
    try {
      await call(client.DELETE("/api/todos/{id}", { params: { path: { id: todo.id } } }));
    } catch (error) {
      fail(error, () => setTodos(before));
    }
  };

  return (
    <section class="card" aria-labelledby="todo-heading">
      <h2 id="todo-heading" class="sr-only">
        Your list
      </h2>
      <form class="add" onSubmit={add} noValidate>
        <label for="new-todo" class="sr-only">
          New to-do
        </label>
        <input
          id="new-todo"
          ref={newTitle}
          placeholder="What needs doing?"
          value={title}
          aria-invalid={problem !== null || titleLength(title) > MAX_TITLE}
          aria-describedby={ids(
            problem !== null && "new-todo-error",
            titleLength(title) >= COUNT_FROM && "new-todo-count",
          )}
          onInput={(e) => {
            setTitle((e.target as HTMLInputElement).value);
            setProblem(null);
          }}
        />
        <button type="submit" class="primary">
          Add
        </button>
      </form>
      {problem ? (
        <p class="field-error" id="new-todo-error" role="alert">
          {problem}
        </p>
      ) : null}
      <TitleCount id="new-todo-count" text={title} />
      <p class="hint todo-status" role="status">
        {status}
      </p>
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
            <li key={rowKey(todo)} id={`row-${rowKey(todo)}`} class={todo.done ? "done" : ""}>
              <input
                type="checkbox"
                id={`done-${todo.id}`}
                checked={todo.done}
                aria-label={`Done: ${todo.title}`}
                onChange={() => update(todo, { done: !todo.done })}
              />
              {editing === rowKey(todo) ? (
                <EditTitle
                  todo={todo}
                  id={rowKey(todo)}
                  initial={editDraft?.id === todo.id ? editDraft.text : undefined}
                  onInput={(text) => setEditDraft({ id: todo.id, text })}
                  onClose={(outcome) => finishEdit(todo, outcome)}
                />
              ) : (
                <button
                  type="button"
                  id={`title-${rowKey(todo)}`}
                  class="title"
                  onClick={() => setEditing(rowKey(todo))}
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

/**
 * A to-do's title in place: Enter saves, Escape cancels, leaving the field saves. A title
 * the server would refuse keeps the editor open with the reason; left that way, it closes
 * with the old title and says so.
 */
function EditTitle(props: {
  todo: Todo;
  id: string;
  /** The text typed before a forced sign-out, when the editor reopens with it. */
  initial?: string | undefined;
  onInput: (text: string) => void;
  onClose: (outcome: EditOutcome) => void;
}) {
  const [text, setText] = useState(props.initial ?? props.todo.title);
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  // Closing removes the field, and the browser then blurs it: only the first way out counts
  // (else Escape would cancel, then the blur would save).
  const closed = useRef(false);
  const close = (outcome: EditOutcome) => {
    if (closed.current) return;
    closed.current = true;
    props.onClose(outcome);
  };
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
    // Unmounted with the page (a forced sign-out): the browser blurs the removed field,
    // which must not save; the draft keeps the text instead.
    return () => {
      closed.current = true;
    };
  }, []);
  const errorId = `edit-error-${props.id}`;
  const countId = `edit-count-${props.id}`;
  return (
    <div class="edit-field">
      <input
        ref={input}
        class="edit"
        aria-label="Edit the title, Enter to save, Escape to cancel"
        value={text}
        aria-invalid={problem !== null || titleLength(text) > MAX_TITLE}
        aria-describedby={ids(problem !== null && errorId, titleLength(text) >= COUNT_FROM && countId)}
        onInput={(e) => {
          setText((e.target as HTMLInputElement).value);
          props.onInput((e.target as HTMLInputElement).value);
          setProblem(null);
        }}
        onKeyDown={(e) => {
          // The field's own value: the state may not have rendered the last keystroke yet.
          const value = (e.target as HTMLInputElement).value;
          if (e.key === "Enter") {
            e.preventDefault();
            const refused = titleProblem(value);
            if (refused) setProblem(`${refused} Escape keeps “${props.todo.title}”.`);
            else close({ title: value.trim(), refocus: true });
          }
          if (e.key === "Escape") {
            e.preventDefault();
            close({ refocus: true });
          }
        }}
        onBlur={(e) => {
          const value = (e.target as HTMLInputElement).value;
          const refused = titleProblem(value);
          close(refused ? { refused, refocus: false } : { title: value.trim(), refocus: false });
        }}
      />
      {problem ? (
        <p class="field-error" id={errorId} role="alert">
          {problem}
        </p>
      ) : null}
      <TitleCount id={countId} text={text} />
    </div>
  );
}
