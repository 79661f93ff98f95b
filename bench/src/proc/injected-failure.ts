// A test hook: HOPWIRE_BENCH_FAIL=<role>[:<when>] makes the bench child of that role fail, so
// that bench/test/role-failure.test.ts can prove a repetition ends at once with that role's
// error, whatever the scenario is awaiting. <when>:
//   start (default)  it reports an error instead of running (as a bad option or a refused connection would)
//   ready            it reports an error right after announcing ready (its peers are connected or waiting)
//   exit             it writes a line to stderr and exits with code 3 without reporting (a crash)
// The role is the name a scenario spawned the child under (HOPWIRE_BENCH_ROLE): "initiator", "sink"...

export type FailWhen = "start" | "ready" | "exit";

const WHENS: readonly FailWhen[] = ["start", "ready", "exit"];

/** The error an injected failure reports. */
export class InjectedFailure extends Error {
  override readonly name = "InjectedFailure";

  constructor(readonly role: string, readonly when: FailWhen) {
    super(`injected failure of ${role} at ${when} (HOPWIRE_BENCH_FAIL)`);
  }
}

/** When this process must fail, if HOPWIRE_BENCH_FAIL names its role; throws on a value it cannot read. */
export function injectedFailureFor(role: string, spec = process.env.HOPWIRE_BENCH_FAIL): FailWhen | undefined {
  if (!spec) return undefined;
  const [name, when = "start"] = spec.split(":");
  if (!WHENS.includes(when as FailWhen)) throw new Error(`HOPWIRE_BENCH_FAIL=${spec}: <when> must be one of ${WHENS.join(", ")}`);
  return name === role ? (when as FailWhen) : undefined;
}
