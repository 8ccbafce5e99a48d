/**
 * A second factor's proof as a person types it: the 6-digit code their authenticator app
 * shows, or, a toggle away, one of their recovery codes (the phone is lost). One field at a
 * time, so an `invalid_code` lands on the field that was sent. The sign-in's second step
 * and the "Confirm it's you" prompt both use it.
 */
import type { Ref } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { SecondFactorProof } from "../api.js";
import { Field } from "./form.js";

/** Which proof the field takes: a code from the app, or a recovery code. */
export type ProofKind = "code" | "recovery";

/**
 * The typed value as the proof the server takes; spaces and dashes the person typed (an
 * app shows "492 039") are the server's to ignore, and it does.
 *
 * @example
 * proofOf("code", " 492 039 "); // { code: "492 039" }
 */
export function proofOf(kind: ProofKind, value: string): SecondFactorProof {
  return kind === "code" ? { code: value.trim() } : { recoveryCode: value.trim() };
}

/**
 * What is wrong with the typed value before the server is asked (it checks again), or `null`.
 *
 * @example
 * codeProblem("code", "12345"); // "Enter the 6 digits your authenticator app shows."
 */
export function codeProblem(kind: ProofKind, value: string): string | null {
  const typed = value.replace(/[\s-]/g, "");
  if (kind === "recovery") return typed === "" ? "Enter one of your recovery codes." : null;
  if (typed === "") return "Enter the 6-digit code from your authenticator app.";
  return /^\d{6}$/.test(typed) ? null : "Enter the 6 digits your authenticator app shows.";
}

/**
 * The code field and its "Use a recovery code instead" toggle (and back). Toggling empties
 * the field and moves the focus into it: the person is about to type the other kind.
 *
 * @example
 * <CodeField id="code" kind={kind} onKind={setKind} value={code} onInput={setCode} error={error} />
 */
export function CodeField(props: {
  id: string;
  kind: ProofKind;
  onKind: (kind: ProofKind) => void;
  value: string;
  onInput: (value: string) => void;
  error?: string | null;
  inputRef?: Ref<HTMLInputElement>;
  /** Whether the account may use a recovery code here (the server's `methods`); default yes. */
  recovery?: boolean;
  /** Whether the account has an authenticator app (a passkey's has none to go back to); default yes. */
  app?: boolean;
}) {
  const { id, kind } = props;
  // Only a toggle moves the focus: the field's first render leaves it to its form.
  const toggled = useRef(false);
  useEffect(() => {
    if (!toggled.current) return;
    toggled.current = false;
    document.getElementById(id)?.focus();
  }, [kind]);
  const toggle = () => {
    toggled.current = true;
    props.onInput("");
    props.onKind(kind === "code" ? "recovery" : "code");
  };
  return (
    <>
      {kind === "code" ? (
        <Field
          id={id}
          label="Authentication code"
          autocomplete="one-time-code"
          inputMode="numeric"
          plain
          inputRef={props.inputRef}
          value={props.value}
          onInput={props.onInput}
          hint="The 6-digit code your authenticator app shows now."
          error={props.error}
        />
      ) : (
        <Field
          id={id}
          label="Recovery code"
          autocomplete="off"
          plain
          inputRef={props.inputRef}
          value={props.value}
          onInput={props.onInput}
          hint="One of the codes you saved when you set up the app, like abcd-efgh-jkmn-pqrs. Each works once."
          error={props.error}
        />
      )}
      {(kind === "code" ? props.recovery !== false : props.app !== false) ? (
        <p class="code-toggle">
          <button type="button" class="link" onClick={toggle}>
            {kind === "code" ? "Use a recovery code instead" : "Use your authenticator app instead"}
          </button>
        </p>
      ) : null}
    </>
  );
}
