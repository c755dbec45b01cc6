import { validateDownloadOptions } from "./download-options.js";
import { validateKey, validatePrefix } from "./keys.js";
import { validateRange } from "./ranges.js";
import type { StorageAdapter } from "./types.js";

const validated = new WeakSet<StorageAdapter>();

/**
 * Wraps an adapter so every key, prefix, range and download option is checked (and prefixes put in folder
 * form) before the adapter sees them. Core puts this around every adapter it is given, so adapters may
 * assume valid input. Wrapping twice returns the same wrapper.
 */
export function withKeyValidation(adapter: StorageAdapter): StorageAdapter {
  if (validated.has(adapter)) return adapter;
  const wrapper: StorageAdapter = {
    name: adapter.name,
    async put(key, body, options) {
      return adapter.put(validateKey(key), body, options);
    },
    async get(key, options) {
      validateKey(key);
      validateRange(options?.range);
      return adapter.get(key, options);
    },
    async stat(key) {
      return adapter.stat(validateKey(key));
    },
    async delete(key) {
      return adapter.delete(validateKey(key));
    },
    async *list(prefix) {
      yield* adapter.list(validatePrefix(prefix));
    },
  };
  const downloadUrl = adapter.downloadUrl?.bind(adapter);
  if (downloadUrl) {
    wrapper.downloadUrl = async (key, options) => {
      validateKey(key);
      validateDownloadOptions(options);
      return downloadUrl(key, options);
    };
  }
  const freeSpace = adapter.freeSpace?.bind(adapter);
  if (freeSpace) wrapper.freeSpace = freeSpace;
  validated.add(wrapper);
  return wrapper;
}
