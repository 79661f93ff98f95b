import type { FlowControlId, Node, RouteLike } from "@hopwire/runtime";

/** What the CLI needs of @hopwire/portal: an outlet and an inlet, each stoppable. */
export interface PortalApi {
  createOutlet(node: Node, options: { address: string; to: string; allow?: string[]; asConsumer: FlowControlId[] }): Promise<unknown>;
  createInlet(node: Node, options: { listen: string; route: RouteLike }): Promise<{ readonly address: string }>;
}

/** Loads @hopwire/portal on first use. */
export async function loadPortals(): Promise<PortalApi> {
  const specifier = "@hopwire/portal";
  return (await import(specifier)) as PortalApi;
}
