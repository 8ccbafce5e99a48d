/**
 * Recovery codes, shown the one time the server answers them (it keeps only their hashes):
 * the list, "Copy" and "Download" (latchkey-recovery-codes.txt), and "Done" once the person
 * says they saved them. The heading takes the focus when the list appears: it replaces the
 * form whose button had it.
 */
import { useEffect, useRef, useState } from "preact/hooks";

/** The file "Download" saves: the codes, one a line, and what they are for. */
function fileText(codes: string[]): string {
  const intro = [
    `latchkey recovery codes (${location.host}), made ${new Date().toLocaleString()}.`,
    "Each code signs you in once in place of a code from your authenticator app or a passkey.",
    "",
  ];
  return `${[...intro, ...codes].join("\n")}\n`;
}

/**
 * @example
 * <RecoveryCodes codes={recoveryCodes} onDone={() => setCodes(null)} />
 */
export function RecoveryCodes(props: { codes: string[]; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [saved, setSaved] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.codes.join("\n"));
      setNote("Copied to the clipboard.");
    } catch {
      // No clipboard (an insecure origin, a refused permission): the codes are on the page.
      setNote("Copying is not allowed here: select the codes and copy them, or download them.");
    }
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([fileText(props.codes)], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "latchkey-recovery-codes.txt";
    link.click();
    // The click has started the download; the object URL is not needed after it.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    setNote("Downloaded as latchkey-recovery-codes.txt.");
  };
  return (
    <div class="recovery">
      <h3 id="recovery-heading" tabIndex={-1} ref={heading}>
        Save your recovery codes
      </h3>
      <p>
        If you lose your phone or security key, each of these codes signs you in once in place of a code from the app or
        a passkey. This is the only time they are shown: keep them somewhere safe, such as a password manager.
      </p>
      <ol class="recovery-codes" aria-label="Recovery codes">
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" class="secondary" onClick={download}>
          Download
        </button>
      </div>
      <p class="muted" role="status">
        {note}
      </p>
      <label class="check">
        <input type="checkbox" checked={saved} onChange={(e) => setSaved((e.target as HTMLInputElement).checked)} />I
        have saved these codes
      </label>
      <div class="actions">
        <button type="button" class="primary" disabled={!saved} onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
