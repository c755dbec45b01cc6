/** Lists `folder` and everything under it, lstat-ing each entry; returns how many entries there are. */
export function countEntries(folder: string): number;
