/**
 * A password strength meter: a rough, honest estimate from length and variety, with the
 * obvious patterns (one character repeated, a run like "1234" or "abcd", a very common
 * password) counted for what they are. Not zxcvbn (hundreds of kilobytes of word lists):
 * the server is the judge, refusing too short and very common passwords; this only says
 * early whether a password is worth sending.
 */

/** A few of the most common passwords and their stems (the server's list is far longer). */
const COMMON =
  /^(password|passw0rd|qwerty|azerty|letmein|welcome|iloveyou|admin|monkey|dragon|football|baseball|abc123|111111|123123|latchkey)/i;

/** The estimate: a level from 0 (refused) to 4, in words, and a tip. */
export interface Strength {
  level: 0 | 1 | 2 | 3 | 4;
  label: string;
  tip: string;
}

/** How many distinct symbols an attacker guessing by brute force must try per character. */
function alphabet(password: string): number {
  let size = 0;
  if (/[a-z]/.test(password)) size += 26;
  if (/[A-Z]/.test(password)) size += 26;
  if (/[0-9]/.test(password)) size += 10;
  if (/[^a-zA-Z0-9]/.test(password)) size += 33;
  return size;
}

/** The characters left once runs ("aaaa", "1234", "abcd") count as one each. */
function effectiveLength(chars: string[]): number {
  let length = chars.length > 0 ? 1 : 0;
  for (let i = 1; i < chars.length; i++) {
    const step = (chars[i]?.codePointAt(0) ?? 0) - (chars[i - 1]?.codePointAt(0) ?? 0);
    const before = i > 1 ? (chars[i - 1]?.codePointAt(0) ?? 0) - (chars[i - 2]?.codePointAt(0) ?? 0) : Number.NaN;
    // A character continuing a run of the same step (0, +1, -1) adds almost nothing.
    if (Math.abs(step) <= 1 && step === before) continue;
    length++;
  }
  return length;
}

/**
 * Estimates `password`'s strength in bits, then in words.
 *
 * @example
 * strengthOf("correct horse battery staple").label; // "Very strong"
 */
export function strengthOf(password: string): Strength {
  const chars = [...password];
  if (chars.length < 8) return { level: 0, label: "Too short", tip: "Use at least 8 characters." };
  if (COMMON.test(password) || new Set(chars).size < 3) {
    return { level: 1, label: "Weak", tip: "This is a common pattern: add unrelated words." };
  }
  const bits = effectiveLength(chars) * Math.log2(Math.max(alphabet(password), 10));
  if (bits < 40) return { level: 1, label: "Weak", tip: "Longer is better: a few unrelated words work well." };
  if (bits < 60) return { level: 2, label: "Fair", tip: "Add a word or two to make it strong." };
  if (bits < 80) return { level: 3, label: "Strong", tip: "Good. Use it only for this account." };
  return { level: 4, label: "Very strong", tip: "Excellent. Use it only for this account." };
}

/**
 * The meter under a new-password field: a bar of four segments and the estimate in words
 * (announced politely as it changes). Nothing while the field is empty.
 */
export function StrengthMeter(props: { id: string; password: string }) {
  if (props.password === "") return <p id={props.id} class="strength" hidden />;
  const { level, label, tip } = strengthOf(props.password);
  return (
    <div id={props.id} class={`strength level-${level}`}>
      <span class="strength-bar" aria-hidden="true">
        {[1, 2, 3, 4].map((segment) => (
          <span key={segment} class={segment <= level ? "on" : ""} />
        ))}
      </span>
      <p class="strength-text" aria-live="polite">
        Strength: <strong>{label}</strong>. {tip}
      </p>
    </div>
  );
}
