/** Reads {@link readAhead} keeps in flight unless told otherwise. */
const READS_AT_ONCE = 8;

/**
 * `read(item)` for each item, at most `count` (default 8) at once, the results yielded in the items' order: what a
 * list of small objects needs on a storage where each read is a request (S3 answers each in tens of
 * milliseconds; one after another, a thousand index objects would take a minute). Stopping the loop
 * early leaves the reads in flight to finish unobserved.
 */
export async function* readAhead<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R>,
  count = READS_AT_ONCE,
): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  const start = () => {
    const reading = read(items[next++]!);
    // Failures surface in order, when their turn comes; until then they must not count as unhandled.
    reading.catch(() => undefined);
    inFlight.push(reading);
  };
  while (next < items.length && inFlight.length < count) start();
  while (inFlight.length > 0) {
    const result = await inFlight.shift()!;
    if (next < items.length) start();
    yield result;
  }
}
