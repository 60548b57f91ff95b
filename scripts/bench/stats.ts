// Summaries and plain-text tables for the benchmark scripts.

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/** Nearest-rank quantile of an ascending array (q in (0, 1]): the value at rank ceil(q * n). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no values');
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Median as the mean of the two middle values for an even count. */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new Error('median of no values');
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summary of the finite values (undefined when there are none). */
export function summarize(values: readonly (number | undefined)[]): Summary | undefined {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return { n: v.length, median: median(v), p90: quantile(v, 0.9), min: v[0]!, max: v[v.length - 1]! };
}

/** Columns padded to their widest cell; numbers right-aligned (cells that look numeric). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = (s: string): boolean => /^[-+]?[\d.]+$/.test(s);
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (numeric(cell) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** "12.3" with `digits` decimals, "-" for undefined. */
export function fmt(x: number | undefined, digits = 1): string {
  return x === undefined ? '-' : x.toFixed(digits);
}

/** One table row: label cells followed by n, median, p90, min, max. */
export function summaryRow(labels: readonly string[], s: Summary | undefined, digits = 1): string[] {
  if (!s) return [...labels, '0', '-', '-', '-', '-'];
  return [...labels, String(s.n), fmt(s.median, digits), fmt(s.p90, digits), fmt(s.min, digits), fmt(s.max, digits)];
}
