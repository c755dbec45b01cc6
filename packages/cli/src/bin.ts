import { main } from "./main.js";

// The first Ctrl-C (or a SIGTERM) cancels cleanly through the signal: the running operation removes
// its partial output. A second Ctrl-C exits at once.
const controller = new AbortController();
const cancel = () => {
  controller.abort();
  process.once("SIGINT", () => process.exit(130));
};
process.once("SIGINT", cancel);
process.once("SIGTERM", cancel);

// A reader that went away (`strongbox contents x.tar.gz | head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), { signal: controller.signal });
