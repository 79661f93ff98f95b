/** What every name of the CLI is made of: identities, addresses, relay and connection names. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** "." and ".." name directories; an identity named so was stored as a hidden file ("...json"). */
const ONLY_DOTS = /^\.+$/;

/** Why `value` is not a name, as "expected …"; undefined when it is one. */
export function nameProblem(value: string): string | undefined {
  if (!NAME.test(value)) return 'expected 1 to 64 letters, digits, "_", "-" or "."';
  if (ONLY_DOTS.test(value)) return 'expected a name that is not only dots ("." and ".." name directories)';
  return undefined;
}

/**
 * What a file's wrong identifier is told: where to get one, and that the docs' "I9f92…" is one
 * cut short (copied from the reference, it was "expected an identifier" and nothing to do).
 * The value itself is not repeated (a secret key pasted there would be printed); a flag's
 * error names its value and says this its own way (flag-terms.ts).
 */
export const IDENTIFIER_HINT = ' (hopwire identity show <name> prints one; "I9f92…" in the docs is one cut short, to be written whole)';
