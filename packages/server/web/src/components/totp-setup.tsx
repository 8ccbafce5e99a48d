/**
 * Adding an authenticator app, after `POST /auth/factors/totp` answered its secret: the QR
 * code (the server's SVG, shown as an image from a `data:` URL, never put into the page as
 * markup), the same secret as text in groups of four for typing, and the first code, which
 * `POST /auth/factors/totp/confirm` checks. Confirmed, it answers the recovery codes.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, LatchkeyError } from "../api.js";
import { codeProblem } from "./code-field.js";
import { Field, FormError, type Problem } from "./form.js";

/** What `POST /auth/factors/totp` answered: shown while the set-up is pending, then forgotten. */
export interface Enrolment {
  factorId: string;
  secret: string;
  qrSvg: string;
}

/**
 * An SVG document as a `data:` URL: an `<img>` shows it as a picture, with no script and
 * no access to the page, whatever it holds.
 *
 * @example
 * <img src={svgDataUrl(qrSvg)} alt="QR code" />
 */
export function svgDataUrl(svg: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(svg)) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/**
 * A base32 secret in groups of four, as it is easiest to type and check.
 *
 * @example
 * grouped("JBSWY3DPEHPK3PXP"); // "JBSW Y3DP EHPK 3PXP"
 */
export function grouped(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(" ") ?? secret;
}

/** What a refused first code means. */
function confirmProblem(error: unknown): Problem {
  if (!(error instanceof LatchkeyError)) return { field: "form", text: "The server could not be reached. Try again." };
  switch (error.code) {
    case "invalid_code":
      return {
        field: "totp-code",
        text: "That code is not valid. Check the app added this account, and enter the code it shows now.",
      };
    case "rate_limited": {
      const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
      return {
        field: "form",
        text: `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
      };
    }
    default:
      return { field: "form", text: error.message };
  }
}

/**
 * @example
 * <TotpSetup enrolment={answer} onConfirmed={showCodes} onCancel={close} />
 */
export function TotpSetup(props: {
  enrolment: Enrolment;
  /** The app is set up: the recovery codes the server made with it (none when it kept older ones). */
  onConfirmed: (recoveryCodes: string[]) => void;
  onCancel: () => void;
}) {
  const { factorId, secret, qrSvg } = props.enrolment;
  const heading = useRef<HTMLHeadingElement>(null);
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  // The set-up replaces the button that started it: its heading takes the focus.
  useEffect(() => heading.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const local = codeProblem("code", code);
    if (local) {
      setProblem({ field: "totp-code", text: local });
      return document.getElementById("totp-code")?.focus();
    }
    setBusy(true);
    try {
      const { recoveryCodes } = await call(
        client.POST("/auth/factors/totp/confirm", { body: { factorId, code: code.trim() } }),
      );
      props.onConfirmed(recoveryCodes);
    } catch (error) {
      setBusy(false);
      // A 401 that ended the session is the sign-in page's to explain.
      if (error instanceof LatchkeyError && error.status === 401 && error.code !== "invalid_code") return;
      const found = confirmProblem(error);
      setProblem(found);
      document.getElementById(found.field === "form" ? "totp-form-error" : found.field)?.focus();
    }
  };
  return (
    <div class="totp-setup">
      <h3 id="totp-heading" tabIndex={-1} ref={heading}>
        Set up your authenticator app
      </h3>
      <ol class="setup-steps">
        <li>
          <p>Open your authenticator app and add an account by scanning this QR code.</p>
          <img
            class="qr"
            src={svgDataUrl(qrSvg)}
            alt="QR code to add latchkey to your authenticator app. You can type the setup key below instead."
            width="200"
            height="200"
          />
        </li>
        <li>
          <p>Can't scan it? Choose to enter a setup key, and type this one (time-based, 6 digits):</p>
          <p>
            <code class="totp-secret" id="totp-secret">
              {grouped(secret)}
            </code>
          </p>
        </li>
        <li>
          <form onSubmit={submit} noValidate>
            <Field
              id="totp-code"
              label="Enter the 6-digit code the app shows"
              autocomplete="one-time-code"
              inputMode="numeric"
              plain
              value={code}
              onInput={(value) => {
                setCode(value);
                setProblem(null);
              }}
              error={problem?.field === "totp-code" ? problem.text : null}
            />
            <FormError id="totp-form-error" text={problem?.field === "form" ? problem.text : null} />
            <div class="actions">
              <button type="submit" class="primary" aria-disabled={busy}>
                {busy ? "Checking…" : "Turn on"}
              </button>
              <button type="button" class="secondary" onClick={props.onCancel}>
                Cancel
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}
