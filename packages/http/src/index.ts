// Public API of @strongbox/http.
export { ALL_PERMISSIONS, type Authenticate, staticTokens } from "./auth.js";
export { errorBody, HttpError, type HttpFailure, toHttpFailure } from "./errors.js";
export { type ApiHandler, type BackupApiOptions, createBackupApi } from "./handler.js";
export type { ServerDirectory } from "./routes.js";
export { backupAttributes, backupObject, listObject } from "./serialize.js";
