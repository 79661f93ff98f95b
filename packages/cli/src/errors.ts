import { HopwireError, registerErrorClasses } from "@hopwire/runtime";

/** Exit code of a configuration or usage error. */
export const EXIT_CONFIG = 2;
/** Exit code of a failure while running (a node that could not start, a refused registration). */
export const EXIT_FAILURE = 1;
/** Exit code when stdout or stderr was closed by its reader (128 + SIGPIPE, as a shell reports a program SIGPIPE killed). */
export const EXIT_BROKEN_PIPE = 141;

/**
 * Thrown when a configuration is wrong. Its message is one line: the file, the key path
 * and what was expected, e.g. `config.yaml: inlets[0].listen: expected "host:port", got 7000`.
 */
export class ConfigError extends HopwireError {
  override readonly code = "CLI_CONFIG_INVALID";
  /** Where (`at`): the key path, as a list of keys and indexes (a key may hold a "."). */
  declare readonly path?: readonly (string | number)[];
  /** What is wrong there (`at`), without the file and the path. */
  declare readonly problem?: string;

  constructor(message = "Invalid configuration", options?: { cause?: unknown; path?: readonly (string | number)[]; problem?: string }) {
    super(message, options);
    if (options?.path !== undefined) this.path = options.path;
    if (options?.problem !== undefined) this.problem = options.problem;
  }

  /** A ConfigError for `file` at key `path` (a list of keys and indexes). */
  static at(file: string, path: readonly (string | number)[], problem: string): ConfigError {
    const said = oneLine(problem);
    return new ConfigError(`${file}: ${formatPath(path)}: ${said}`, { path, problem: said });
  }
}

/** Thrown when a named identity does not exist, or exists already where a new one is asked for. */
export class IdentityStoreError extends HopwireError {
  override readonly code = "CLI_IDENTITY_STORE";
  constructor(message = "Identity store error", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** @internal A command's failure it has already reported on stderr: runCli exits with `exitCode` and prints nothing more. */
export class ReportedFailure extends Error {
  constructor(readonly exitCode: number) {
    super(`failed (exit code ${exitCode}), reported already`);
  }
}

registerErrorClasses(ConfigError, IdentityStoreError);

/** `inlets[0].listen`, or `(top level)` for the empty path. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(top level)";
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
