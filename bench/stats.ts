/** Small statistics for benchmarks: median, percentiles, and a printable summary. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function describe(values: readonly number[], unit = 'ms', digits = 2): string {
  const f = (n: number) => n.toFixed(digits);
  return `n=${values.length} median=${f(median(values))} ${unit} p90=${f(percentile(values, 90))} min=${f(Math.min(...values))} max=${f(Math.max(...values))}`;
}
