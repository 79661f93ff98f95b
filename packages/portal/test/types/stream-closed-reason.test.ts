// The reason an onStreamClosed listener gets is a PortalError (or undefined after a clean
// close), as docs/portals.md says: `reason?.code` type-checks. This file is compiled by
// `tsc -b` (test/types/tsconfig.json is referenced from the root tsconfig.json), so a type
// that widens back to Error fails the build, not only this test.
import { describe, expectTypeOf, it } from "vitest";
import type { Inlet, InletStreamListener, Outlet, PortalError, StreamClosedListener } from "@hopwire/portal";

/** What docs/portals.md shows: branch on the code of the reason. */
export const countByCode = (counts: Map<string, number>): StreamClosedListener => (reason) => {
  const code: string = reason?.code ?? "clean";
  counts.set(code, (counts.get(code) ?? 0) + 1);
};

describe("onStreamClosed's reason (types)", () => {
  it("is PortalError | undefined for inlets and outlets alike", () => {
    expectTypeOf<Parameters<StreamClosedListener>[0]>().toEqualTypeOf<PortalError | undefined>();
    expectTypeOf<Parameters<InletStreamListener>[0]>().toEqualTypeOf<PortalError | undefined>();
    expectTypeOf<Parameters<Parameters<Inlet["onStreamClosed"]>[0]>[0]>().toEqualTypeOf<PortalError | undefined>();
    expectTypeOf<Parameters<Parameters<Outlet["onStreamClosed"]>[0]>[0]>().toEqualTypeOf<PortalError | undefined>();
    expectTypeOf<NonNullable<Parameters<StreamClosedListener>[0]>["code"]>().toEqualTypeOf<string>();
  });
});
