// Types of bench/soak/judge.mjs.
import type { SoakReport } from "./run.mjs";

export interface SoakCheck {
  name: string;
  /** null when not judged (a steady-state target in a run under 10 minutes). */
  ok: boolean | null;
  figure: unknown;
}
export function flatness(points: number[]): { flat: boolean | null; first: number | null; second: number | null };
export function judge(report: SoakReport, options?: { warmUpSeconds?: number }): SoakCheck[];
