export {
  applyPlainOptions,
  checkOptionKeys,
  checkTimeoutOption,
  checkWaitOptions,
  isPlainObject,
  MAX_TIMEOUT_MS,
  nearestOption,
  unknownOptionError,
  WAIT_OPTIONS,
  type PlainOptionHandlers,
} from "./plain-options.js";
