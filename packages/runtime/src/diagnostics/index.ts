export type { DeniedEvent, DroppedEvent, DropReason, HandlerErrorEvent, NodeEvents, NodeEventName, RefusedEvent, WorkerFailedEvent } from "./node-events.js";
export type { DeniedWarning, DroppedWarning, HandlerErrorWarning, InboxBacklogWarning, NodeWarning, RefusedWarning, SendQueueBudgetWarning, ShutdownTimeoutWarning, WarningLine, WarningParts, WarningSink, WorkerFailedWarning } from "./warnings.js";
export { WARNING_INTERVAL_MS, MAX_WARNING_CAUSES } from "./warnings.js";
