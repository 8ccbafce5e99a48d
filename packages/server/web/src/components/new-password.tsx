/**
 * A new password chosen twice: the `new-password` field with its strength meter, then the
 * same again in `confirm-password` (a typo in a password nobody sees would lock the person
 * out). The reset page and the Security page's change form both use it.
 */
import type { ComponentChildren } from "preact";
import { Field } from "./form.js";
import { StrengthMeter } from "./strength.js";

export interface NewPasswordProps {
  value: string;
  onInput: (value: string) => void;
  again: string;
  onAgain: (value: string) => void;
  /** The rule under the first field, until it is broken. */
  hint: ComponentChildren;
  error: string | null;
  againError: string | null;
}

/**
 * The two fields; the meter describes the first once something is typed.
 *
 * @example
 * <NewPassword value={next} onInput={setNext} again={again} onAgain={setAgain}
 *   hint="At least 8 characters." error={errorOf("new-password")} againError={errorOf("confirm-password")} />
 */
export function NewPassword(props: NewPasswordProps) {
  return (
    <>
      <Field
        id="new-password"
        label="New password"
        type="password"
        autocomplete="new-password"
        value={props.value}
        onInput={props.onInput}
        hint={props.hint}
        error={props.error}
        describedBy={props.value !== "" ? "new-password-strength" : undefined}
      >
        <StrengthMeter id="new-password-strength" password={props.value} />
      </Field>
      <Field
        id="confirm-password"
        label="New password, again"
        type="password"
        autocomplete="new-password"
        value={props.again}
        onInput={props.onAgain}
        error={props.againError}
      />
    </>
  );
}
