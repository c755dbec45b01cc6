/** Running counters of one manager operation, as `onProgress` receives them. */
export interface OperationProgress {
  server: string;
  /** The backup's uuid. */
  backup: string;
  operation: "backup" | "restore" | "migrate" | "verify";
  /** Source bytes packed (`backup`); archive bytes read (`restore`, `verify`) or copied (`migrate`). */
  bytes: number;
  /** Entries packed or extracted (0 for `migrate`, which copies archives whole). */
  files: number;
  /**
   * What `bytes` will reach, when known: the source's size for `backup` (once measured), the archive's
   * size for `restore`, `migrate` and `verify`.
   */
  totalBytes?: number;
}

/** Least time between two progress reports of one operation (at most 4 a second). */
const MIN_INTERVAL_MS = 250;

/** A throttled progress reporter for one operation; `flush` sends the last counters once it ends. */
export interface ProgressReporter {
  update(counters: { bytes: number; files: number; totalBytes?: number }): void;
  flush(): void;
}

/** Wraps `listener` so it hears at most 4 updates a second, plus a final one on `flush`. */
export function createProgressReporter(
  listener: ((progress: OperationProgress) => void) | undefined,
  base: Pick<OperationProgress, "server" | "backup" | "operation">,
): ProgressReporter {
  let last: OperationProgress | undefined;
  let sentAt = 0;
  let pending = false;
  const send = (): void => {
    if (!listener || !last) return;
    sentAt = Date.now();
    pending = false;
    try {
      listener(last);
    } catch {
      // Progress is informational; a broken display must not stop the operation.
    }
  };
  return {
    update(counters) {
      last = { ...base, ...counters };
      pending = true;
      if (Date.now() - sentAt >= MIN_INTERVAL_MS) send();
    },
    flush() {
      if (pending) send();
    },
  };
}
