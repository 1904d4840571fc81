/**
 * A reorder buffer: outcomes may arrive in any order (prefetching, parallel workers), but they are handed
 * to `emit` strictly by position in the run's sample list, each exactly once. Results that arrive early
 * wait until every earlier position is done, so the run folder always holds a prefix of the sample list and
 * the metrics see samples in the seed's order.
 */
export class OrderedRecordWriter<T> {
  private nextPosition: number;
  private readonly pending = new Map<number, T>();

  constructor(
    startPosition: number,
    private readonly emit: (outcome: T, position: number) => void,
  ) {
    this.nextPosition = startPosition;
  }

  /** The first position not yet emitted. */
  get emittedUpTo(): number {
    return this.nextPosition;
  }

  get waiting(): number {
    return this.pending.size;
  }

  push(position: number, outcome: T): void {
    if (position < this.nextPosition || this.pending.has(position)) {
      throw new Error(`sample position ${position} was delivered twice`);
    }
    this.pending.set(position, outcome);
    for (let next = this.pending.get(this.nextPosition); next !== undefined; next = this.pending.get(this.nextPosition)) {
      this.pending.delete(this.nextPosition);
      this.emit(next, this.nextPosition);
      this.nextPosition += 1;
    }
  }
}
