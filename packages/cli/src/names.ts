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
