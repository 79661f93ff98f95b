export { FlowControls, type FlowControlId, type ProducerInfo } from "./flow-controls.js";
