export { createInlet, Inlet, type InletStreamListener } from "./inlet.js";
