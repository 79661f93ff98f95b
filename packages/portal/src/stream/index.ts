export { PortalStream, resetSocket, type StreamOwner } from "./portal-stream.js";
export { StreamListeners, type StreamClosedListener } from "./stream-listeners.js";
export { Lingering } from "./lingering.js";
export { WindowGrowth } from "./window-growth.js";
export { OpenSockets } from "./open-sockets.js";
