/**
 * The server's logger: pino, one JSON object per line on stderr (for log
 * shippers and `jq`), or pino-pretty's one-line text when a person watches
 * the terminal. Every line carries the node's id. stdout stays for the one
 * machine-read line, `distkv listening on host:port ...`.
 */
import type { LogLine } from '@distkv/core';
import { type Logger, pino, stdTimeFunctions } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

// #region logger
export function createLogger(options: { node: string; format?: LogFormat | undefined; quiet?: boolean | undefined }): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const settings = {
    base: { node: options.node },
    level: options.quiet ? 'error' : 'info',
    timestamp: stdTimeFunctions.isoTime,
  };
  if (format === 'json') return pino(settings, pino.destination({ dest: 2, sync: true }));
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    ignore: 'pid,hostname,node',
    messageFormat: '{node} {msg}',
    translateTime: 'HH:MM:ss.l',
  });
  return pino(settings, stream);
}
// #endregion logger

/** The `LogLine` that lower layers take, at the level each line names (info when it names none). */
export function lineLogger(logger: Logger): LogLine {
  return (line, level = 'info') => logger[level](line);
}
