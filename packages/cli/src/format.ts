/** `1 file`, `3 files`, `2 directories`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

/** `3 files, 1 directory, 0 symlinks`: the counters of a pack or extract. */
export function describeCounts(counts: { files: number; directories: number; symlinks: number }): string {
  return [
    plural(counts.files, "file"),
    plural(counts.directories, "directory", "directories"),
    plural(counts.symlinks, "symlink"),
  ].join(", ");
}
