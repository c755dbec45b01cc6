// Public API of @strongbox/cli: run the command line in-process (the `strongbox` binary calls `main`).
export type { Command, CommandContext, OutputStream } from "./command.js";
export { COMMANDS, main } from "./main.js";
