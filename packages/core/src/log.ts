/**
 * How a library says something to whoever runs it: one line, and how bad
 * it is. No level means info. The process that embeds the library (the
 * `distkv` command) maps these onto its own logger, so a node's fatal
 * storage failure reaches the operator at error level, not among the
 * routine lines.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogLine = (line: string, level?: LogLevel) => void;
