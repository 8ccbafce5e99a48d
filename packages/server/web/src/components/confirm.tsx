/**
 * A confirmation step as a modal dialog (the native `<dialog>`: focus stays inside, Escape
 * cancels, focus returns where it was), never `window.confirm`, which a screen reader
 * user, a test and a theme all meet as a foreign object. Cancel comes first, so it has
 * the focus when the dialog opens: a stray Enter never confirms a destructive action.
 */
import { useEffect, useRef, useState } from "preact/hooks";

/** What a confirmation asks, and what confirming does. */
export interface Confirmation {
  title: string;
  body: string;
  /** The confirm button's label: the action itself ("Disable alice"), never "OK". */
  action: string;
  danger?: boolean;
  run: () => Promise<void>;
}

export function ConfirmDialog(props: { confirmation: Confirmation; onClose: () => void }) {
  const { title, body, action, danger, run } = props.confirmation;
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    return () => element?.close();
  }, []);
  const confirm = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await run();
    } finally {
      props.onClose();
    }
  };
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) props.onClose();
      }}
    >
      <form onSubmit={confirm}>
        <h2 id="confirm-title">{title}</h2>
        <p id="confirm-body">{body}</p>
        <div class="actions">
          <button type="button" class="secondary" disabled={busy} onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={danger ? "danger" : "primary"} disabled={busy}>
            {action}
          </button>
        </div>
      </form>
    </dialog>
  );
}
