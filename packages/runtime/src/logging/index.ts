export { createLogger, silentLogger, DEFAULT_MAX_LINES_PER_SECOND, type Logger, type LoggerOptions, type LogSink } from "./logger.js";
