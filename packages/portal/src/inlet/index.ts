export { createInlet, EARLY_DATA_ASK_AGAIN_MS, Inlet, type InletStreamListener } from "./inlet.js";
