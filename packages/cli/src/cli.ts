import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { escapeControl } from "@hopwire/runtime";
import { identityCommand } from "./commands/identity.js";
import { nodeCommands, once } from "./commands/node.js";
import { ConfigError, EXIT_CONFIG, EXIT_FAILURE, IdentityStoreError, ReportedFailure } from "./errors.js";
import { HOPWIRE_HOME_ENV } from "./home.js";

/** Where the CLI writes: results and lifecycle lines to `out`, errors (one line each) to `err`. */
export interface CliIo {
  /** Writes one line of results or lifecycle log (stdout by default). */
  out: (line: string) => void;
  /** Writes one line of error (stderr by default). */
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Runs the `hopwire` command with `argv` (process.argv: node, script, args...). Resolves
 * with the exit code for commands that finish; `node` and the one-liners keep running
 * until a signal (see runNode). Configuration and usage errors exit 2, other failures 1.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = new Command("hopwire")
    .description("Hopwire nodes from the command line: identities, relays, TCP inlets and outlets over secure channels")
    .version(packageVersion(), "-V, --version", "print the version of hopwire")
    .option("--home <dir>", `where identities are kept (default: $${HOPWIRE_HOME_ENV}, else ~/.hopwire)`, once("--home"))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // A usage error is one line like every other error: "hopwire: unknown option '--listn' (Did you mean --listen?)".
      outputError: (s, write) => {
        // Said in the catch below, naming the arguments (commander gives only their count).
        if (/^error: too many arguments/.test(s)) return;
        write(`hopwire: ${s.trim().replace(/^error: /, "").replace(/\s*\n\s*/g, " ")}`);
      },
    });
  // A running node's lines name what peers sent (addresses, relay names, errors): escaped, one line each.
  // Its warnings are stamped as its log lines are: under a supervisor the two streams are often one.
  const stamp = (line: string): void => io.out(escapeControl(`${new Date().toISOString()} ${line}`));
  const stampWarning = (line: string): void => io.err(escapeControl(`${new Date().toISOString()} hopwire: ${line}`));
  identityCommand(program, io);
  nodeCommands(program, stamp, stampWarning);
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.excessArguments") io.err(`hopwire: ${excessArguments(program)}`);
      return error.exitCode === 0 ? 0 : EXIT_CONFIG; // commander printed the others
    }
    if (error instanceof ReportedFailure) return error.exitCode;
    if (error instanceof ConfigError || error instanceof IdentityStoreError) {
      io.err(`hopwire: ${error.message}`);
      return EXIT_CONFIG;
    }
    io.err(`hopwire: ${(error as Error)?.message ?? String(error)}${(error as { code?: string })?.code ? ` (${(error as { code: string }).code})` : ""}`);
    return EXIT_FAILURE;
  }
}

/**
 * "unexpected argument "extra" for 'relay' …": which arguments were too many, as a shell
 * variable that expanded to nothing (`--trust $ALICE`) leaves a value where a flag was meant.
 */
function excessArguments(program: Command): string {
  const command = withExcess(program);
  if (command === undefined) return "too many arguments";
  const extra = command.args.slice(command.registeredArguments.length);
  const takes = command.registeredArguments.length === 0 ? "it takes none" : `it takes ${command.registeredArguments.length}`;
  const s = extra.length === 1 ? "" : "s";
  return (
    `unexpected argument${s} ${extra.map((a) => JSON.stringify(a)).join(" ")} for '${command.name()}' (${takes}): ` +
    `is the flag before it missing, or a shell variable before it empty?`
  );
}

/** The parsed command with more arguments than it declares, if any. */
function withExcess(command: Command): Command | undefined {
  for (const sub of command.commands) {
    const found = withExcess(sub);
    if (found !== undefined) return found;
  }
  return command.args.length > command.registeredArguments.length && command.parent !== null ? command : undefined;
}

/**
 * The version in @hopwire/cli's package.json: two directories up from the bundle's chunks
 * (dist/bundle/), one from the tsc files (dist/).
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 3; up++, dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === "@hopwire/cli" && typeof manifest.version === "string") return manifest.version;
    } catch {
      // not here: one directory up
    }
  }
  return "unknown";
}
