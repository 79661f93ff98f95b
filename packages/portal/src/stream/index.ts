export { PortalStream, resetSocket, type StreamOwner } from "./portal-stream.js";
