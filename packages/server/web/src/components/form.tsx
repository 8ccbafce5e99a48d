/**
 * The app's one form system: a labelled field with its rule hint and its own error (tied
 * to the input by `aria-describedby`, announced when it appears), and a form-wide error.
 * Forms using it set `noValidate` and check in code, so the browser's validation bubble
 * never mixes with the app's messages, and clear a field's error as soon as it is edited.
 */
import type { ComponentChildren, Ref } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** The ids among `list` that are set, space-separated, or `undefined` for none. */
export const describedBy = (...list: Array<string | false | null | undefined>) =>
  list.filter(Boolean).join(" ") || undefined;

/** A form's problem: on one field (by its id), or the whole form (`"form"`). */
export interface Problem {
  field: string;
  text: string;
}

export interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: "text" | "password" | "email";
  /** Not required (a sign-up's email address): the label says "optional". */
  optional?: boolean;
  autocomplete?: string;
  /** The rule, shown under the field until it is broken (then the error says it). */
  hint?: ComponentChildren;
  error?: string | null;
  inputRef?: Ref<HTMLInputElement>;
  /** Shown under the field, described by it (a strength meter). */
  children?: ComponentChildren;
  /** The id of an element below the field that describes it too. */
  describedBy?: string;
  /** Text fields that take names: no capitals or spelling fixes from a phone keyboard. */
  plain?: boolean;
  /** The keyboard a phone shows: `numeric` for a one-time code. */
  inputMode?: "numeric" | "text";
}

/**
 * A labelled input with its hint and error.
 *
 * @example
 * <Field id="username" label="Username" value={name} onInput={setName} error={errors.username} />
 */
export function Field(props: FieldProps) {
  const { id, error, hint } = props;
  return (
    <div class="field">
      <label for={id}>
        {props.label}
        {props.optional ? <span class="optional"> (optional)</span> : null}
      </label>
      <input
        id={id}
        name={id}
        ref={props.inputRef}
        type={props.type ?? "text"}
        autocomplete={props.autocomplete}
        inputMode={props.inputMode}
        autocapitalize={props.plain ? "none" : undefined}
        spellcheck={props.plain ? false : undefined}
        required={!props.optional}
        value={props.value}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(
          error ? `${id}-error` : null,
          hint && !error ? `${id}-hint` : null,
          props.describedBy,
        )}
        onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
      />
      {hint && !error ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {props.children}
      {error ? (
        <p class="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * An email address field: `type="email"`, `autocomplete="email"`, no capitals or spelling
 * fixes from a phone keyboard.
 *
 * @example
 * <EmailField id="email" label="Email address" value={email} onInput={setEmail} error={errors.email} />
 */
export function EmailField(props: Omit<FieldProps, "type" | "autocomplete" | "plain">) {
  return <Field {...props} type="email" autocomplete="email" plain />;
}

/**
 * A password the person has now, asked for to confirm who they are: `type="password"`,
 * `autocomplete="current-password"`.
 *
 * @example
 * <CurrentPasswordField id="current-password" label="Current password" value={current} onInput={setCurrent} />
 */
export function CurrentPasswordField(props: Omit<FieldProps, "type" | "autocomplete">) {
  return <Field {...props} type="password" autocomplete="current-password" />;
}

/**
 * A form-wide error (wrong credentials, the server out of reach); focusable, so the form
 * can move the focus to it when no field is to blame. `id` defaults to `form-error`.
 */
export function FormError(props: { text: string | null | undefined; id?: string }) {
  if (!props.text) return null;
  return (
    <p class="field-error form-error" id={props.id ?? "form-error"} role="alert" tabIndex={-1}>
      {props.text}
    </p>
  );
}

/** A notice in a tinted box: `warning` for what is about to go wrong, `info`, `ok`, `alert`. */
export function Alert(props: {
  tone: "info" | "ok" | "warning" | "alert";
  id?: string;
  /**
   * Takes the focus when it appears: it replaces the form whose button had it, and the
   * focus would otherwise fall to the page's start, where a keyboard or screen-reader
   * user has lost their place.
   */
  focus?: boolean;
  children: ComponentChildren;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (props.focus) box.current?.focus();
  }, [props.focus]);
  return (
    <div
      ref={box}
      class={`alert tone-${props.tone}`}
      id={props.id}
      role={props.tone === "alert" ? "alert" : "status"}
      tabIndex={props.focus ? -1 : undefined}
    >
      {props.children}
    </div>
  );
}
