/**
 * Archive bytes that arrive as messages, each naming a slice of the input ring shared with the main
 * thread, read as an async iterable. The slices are views, not copies: the main thread reuses their
 * memory once the worker acknowledges them as consumed.
 */
export class MessageInput implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly ring: SharedArrayBuffer) {}

  /** The ring slice `[offset, offset + length)` holds the next bytes of the archive. */
  push(offset: number, length: number): void {
    this.chunks.push(new Uint8Array(this.ring, offset, length));
    this.notify();
  }

  /** No more chunks will come (the stream ended, or the job is being stopped). */
  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) yield chunk;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
