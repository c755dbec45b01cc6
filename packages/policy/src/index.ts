// Public API of @strongbox/policy: the composer, each rule on its own (to rebuild or extend), and the types.
export { combinePolicies } from "./combine.js";
export { ALLOW, firstRefusal, refuse } from "./decision.js";
export { checkLimit, limitReached } from "./limit.js";
export { checkLockPermission, checkNotLocked } from "./locks.js";
export { assertValidRetention } from "./options.js";
export { checkPermission, PERMISSIONS, type Permission } from "./permissions.js";
export { createPolicy } from "./policy.js";
export { isInProgress, isSuccessful } from "./records.js";
export { checkServerState, checkSuccessful, RESTORE_BLOCKING_STATES } from "./restore-rules.js";
export { type RetentionDecision, type RetentionPlan, retentionPlan } from "./retention.js";
export { rotateToFit, rotationCandidates } from "./rotation.js";
export { checkThrottle } from "./throttle.js";
export type {
  Actor,
  BackupCopy,
  BackupInput,
  BackupOwner,
  BackupPolicy,
  BackupRecord,
  BackupVerification,
  CreateDecision,
  CreateInput,
  Decision,
  ErrorCode,
  PolicyInput,
  PolicyOptions,
  Refusal,
  RestoreInput,
  RetentionOptions,
  ServerState,
  SetLockedInput,
  ThrottleOptions,
} from "./types.js";
