/**
 * UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then a 12-bit counter that keeps ids
 * made in the same millisecond in creation order, then random bits. Ids of to-dos, users
 * and events therefore sort by creation, which gives stable orders without a sequence.
 */
import { randomBytes } from "node:crypto";

let lastMs = -1;
let counter = 0;

/**
 * @example
 * uuidv7(clock.now()); // "01890a5d-ac96-774b-bcce-b302099a8057"
 */
export function uuidv7(nowMs: number): string {
  // A clock that stands still (or steps back) keeps counting from the last id.
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = randomBytes(2).readUInt16BE(0) & 0x3ff;
  } else {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
  }
  const bytes = randomBytes(16);
  const ms = lastMs;
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
