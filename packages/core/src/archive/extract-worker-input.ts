/**
 * Bytes that arrive as messages, read as an async iterable. `onConsumed` fires as each chunk is taken,
 * which is the sender's signal to send more (backpressure across the thread boundary).
 */
export class MessageInput implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly onConsumed: (bytes: number) => void;

  constructor(onConsumed: (bytes: number) => void) {
    this.onConsumed = onConsumed;
  }

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
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
      if (chunk) {
        this.onConsumed(chunk.length);
        yield chunk;
      } else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
