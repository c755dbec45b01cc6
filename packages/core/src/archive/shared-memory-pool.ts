/**
 * Shared memory that operations borrow and give back, so a busy node reuses the few megabyte-sized
 * buffers its concurrent operations need instead of allocating and freeing them for each operation.
 *
 * Freeing such a buffer raises glibc's threshold below which allocations come from its heaps rather than
 * from mappings of their own (up to the buffer's size); the next buffers then fragment those heaps, which
 * keep growing. Measured with `serve`: 50 backups one after another peaked 40-60 MiB higher than 6.
 * The pool keeps at most as many buffers of a size as were borrowed at once.
 */
export class SharedMemoryPool {
  private readonly free = new Map<number, SharedArrayBuffer[]>();

  /** A buffer of `bytes` bytes, holding whatever its last borrower left in it. */
  borrow(bytes: number): SharedArrayBuffer {
    return this.free.get(bytes)?.pop() ?? new SharedArrayBuffer(bytes);
  }

  /** Takes `buffer` back: only once no thread reads or writes it any more. */
  giveBack(buffer: SharedArrayBuffer): void {
    const buffers = this.free.get(buffer.byteLength);
    if (buffers === undefined) this.free.set(buffer.byteLength, [buffer]);
    else buffers.push(buffer);
  }
}
