export { createLogger, silentLogger, type Logger, type LoggerOptions, type LogSink } from "./logger.js";
