/**
 * A readable device description from a User-Agent header, for the device list. Parsed
 * with `bowser` (maintained, MIT); an empty or unknown agent is "Unknown".
 */
import Bowser from "bowser";
import { memoize } from "../core/memo.js";

/** What the device list shows. */
export interface DeviceView {
  browser: string;
  os: string;
  /** `desktop`, `mobile`, `tablet`, `tv`, `bot`, or `unknown`. */
  type: string;
}

/**
 * @example
 * describeDevice("Mozilla/5.0 (X11; Linux x86_64) … Chrome/130.0 …"); // { browser: "Chrome 130", os: "Linux", type: "desktop" }
 */
export const describeDevice: (userAgent: string) => DeviceView = memoize(parseDevice, 1000);

function parseDevice(userAgent: string): DeviceView {
  if (userAgent.trim() === "") return UNKNOWN;
  try {
    const parsed = Bowser.parse(userAgent);
    const major = parsed.browser.version?.split(".")[0];
    return {
      browser: parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ""}` : "Unknown",
      os: [parsed.os.name, parsed.os.versionName ?? parsed.os.version].filter(Boolean).join(" ") || "Unknown",
      type: parsed.platform.type ?? "unknown",
    };
  } catch {
    // An agent the parser cannot read is just "Unknown".
    return UNKNOWN;
  }
}

const UNKNOWN: DeviceView = { browser: "Unknown", os: "Unknown", type: "unknown" };
