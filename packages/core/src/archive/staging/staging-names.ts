import { randomBytes } from "node:crypto";

/** Prefix of the hidden folder, inside the target, that an extract writes into before swapping in. */
export const STAGING_PREFIX = ".strongbox-staging-";
/** Prefix of the hidden folder, inside the target, that holds replaced entries until the swap is done. */
export const ASIDE_PREFIX = ".strongbox-aside-";

/** True for the name of a staging or aside folder: never restored, never counted as content. */
export function isWorkFolderName(name: string): boolean {
  return name.startsWith(STAGING_PREFIX) || name.startsWith(ASIDE_PREFIX);
}

/** Fresh, unguessable names for one extract's staging and aside folders. */
export function newWorkFolderNames(): { staging: string; aside: string } {
  const id = randomBytes(8).toString("hex");
  return { staging: `${STAGING_PREFIX}${id}`, aside: `${ASIDE_PREFIX}${id}` };
}
