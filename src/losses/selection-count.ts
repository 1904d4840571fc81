/** Number of rows the seed keeps: Python's int(n * p), i.e. truncation of the float64 product (host only: config checks use it). */
export function selectionCount(n: number, p: number): number {
  return Math.trunc(n * p);
}
