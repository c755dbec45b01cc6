import type { BackupPage } from "@strongbox/core";

/** The panel's pagination meta of one page (as the manager gives it for backups). */
export type Pagination = BackupPage["pagination"];

/** One page of `all` (1-based `page`), with its meta; a page past the end is empty. */
export function pageOf<T>(
  all: readonly T[],
  page: number,
  perPage: number,
): { items: T[]; pagination: Pagination } {
  const items = all.slice((page - 1) * perPage, page * perPage);
  const total = all.length;
  return {
    items,
    pagination: {
      total,
      count: items.length,
      per_page: perPage,
      current_page: page,
      total_pages: Math.max(1, Math.ceil(total / perPage)),
    },
  };
}
