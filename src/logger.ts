import { pino, type Logger } from 'pino';

/**
 * The one root logger. Reporter data and keys are redacted wherever they
 * might appear; log calls pass ids, never tickets.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['reporter', '*.reporter', '*.*.reporter', 'req.headers.authorization', 'headers.authorization', '*.email', '*.phone'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
