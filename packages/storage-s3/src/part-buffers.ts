/**
 * Part-sized buffers reused from part to part, so that an upload holds as many as it has parts in use at
 * once (in flight, plus the one being filled) however long it runs. Each is made outside Node's shared
 * pool, as one allocation of its own that nothing else keeps alive.
 */
export class PartBuffers {
  readonly #size: number;
  readonly #free: Buffer[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** A buffer given back earlier, or a new one when none is free. */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  /** Returns `buffer` for reuse: its bytes may be overwritten from now on. */
  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }
}
