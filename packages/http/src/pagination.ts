/** The panel's pagination meta of one page. */
export interface Pagination {
  total: number;
  count: number;
  per_page: number;
  current_page: number;
  total_pages: number;
}

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
