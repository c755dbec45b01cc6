// Public API of @strongbox/storage-local.
export {
  createDownloadHandler,
  type DownloadHandler,
  type DownloadHandlerOptions,
} from "./download-handler.js";
export {
  createDownloadTokens,
  type DownloadGrant,
  type DownloadTokenOptions,
  type DownloadTokens,
  MIN_SECRET_BYTES,
} from "./download-tokens.js";
export {
  createLocalStorage,
  DOWNLOAD_PATH,
  type LocalDownloadOptions,
  type LocalDownloads,
  type LocalStorage,
  type LocalStorageOptions,
} from "./local-storage.js";
