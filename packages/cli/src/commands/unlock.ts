import type { Command } from "../command.js";
import { lockCommand } from "./lock.js";

/** `strongbox unlock <uuid> --storage URL --server ID`. */
export const command: Command = lockCommand(false);
