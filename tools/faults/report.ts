// The fault suite's result: one row per case or group (cases run, crashes, hangs, leaks, bad statuses, peak
// resident memory of the daemon, pass/fail), printed as one table or written as JSON with the same fields.

export interface CaseRow {
  name: string;
  cases: number;
  /** The daemon died when nobody meant it to. */
  crashes: number;
  /** Calls that did not end before their deadline. */
  hangs: number;
  /** Memory growth beyond the bound, or streams/jobs still active afterwards. */
  leaks: number;
  /** Answers that broke a promise: INTERNAL/UNKNOWN for a client mistake, details over 1 KB, unnamed field, wrong code. */
  badStatus: number;
  /** Peak VmRSS of the daemon while the row ran, MiB (null where /proc is unavailable). */
  peakRssMiB: number | null;
  passed: boolean;
  ms: number;
  /** What went wrong, first few, each one line. */
  failures: string[];
}

export interface FaultReport {
  seed: number;
  rows: CaseRow[];
  passed: boolean;
}

/** Keeps at most this many failure lines per row (the count columns carry the rest). */
export const MAX_FAILURE_LINES = 8;

export class RowBuilder {
  readonly row: CaseRow;
  private readonly t0 = performance.now();
  constructor(name: string) {
    this.row = { name, cases: 0, crashes: 0, hangs: 0, leaks: 0, badStatus: 0, peakRssMiB: null, passed: false, ms: 0, failures: [] };
  }

  fail(kind: 'crashes' | 'hangs' | 'leaks' | 'badStatus', why: string): void {
    this.row[kind] += 1;
    this.note(why);
  }

  /** A failure that is none of the counted kinds (a broken promise of a scenario). */
  note(why: string): void {
    if (this.row.failures.length < MAX_FAILURE_LINES) this.row.failures.push(why.replace(/\s+/g, ' ').slice(0, 300));
  }

  finish(peakRssBytes: number | undefined): CaseRow {
    this.row.ms = Math.round(performance.now() - this.t0);
    this.row.peakRssMiB = peakRssBytes ? Math.round((peakRssBytes / 1024 / 1024) * 10) / 10 : null;
    const r = this.row;
    r.passed = r.crashes + r.hangs + r.leaks + r.badStatus === 0 && r.failures.length === 0;
    return r;
  }
}

export function formatTable(report: FaultReport): string {
  const head = ['case', 'cases', 'crashes', 'hangs', 'leaks', 'bad status', 'peak RSS MiB', 'seconds', 'result'];
  const body = report.rows.map((r) => [r.name, r.cases, r.crashes, r.hangs, r.leaks, r.badStatus, r.peakRssMiB ?? '-', (r.ms / 1000).toFixed(1), r.passed ? 'pass' : 'FAIL'].map(String));
  const total = report.rows.reduce((t, r) => ({ cases: t.cases + r.cases, crashes: t.crashes + r.crashes, hangs: t.hangs + r.hangs, leaks: t.leaks + r.leaks, bad: t.bad + r.badStatus }), { cases: 0, crashes: 0, hangs: 0, leaks: 0, bad: 0 });
  const peak = Math.max(0, ...report.rows.map((r) => r.peakRssMiB ?? 0));
  const secs = report.rows.reduce((t, r) => t + r.ms, 0) / 1000;
  body.push(['total', total.cases, total.crashes, total.hangs, total.leaks, total.bad, peak || '-', secs.toFixed(1), report.passed ? 'pass' : 'FAIL'].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(head), rule, ...body.slice(0, -1).map(line), rule, line(body.at(-1)!)];
  const notes = report.rows.filter((r) => r.failures.length).flatMap((r) => [`${r.name}:`, ...r.failures.map((f) => `  - ${f}`)]);
  if (notes.length) out.push('', `what failed (seed ${report.seed}):`, ...notes);
  return out.join('\n');
}
