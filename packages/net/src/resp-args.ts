/**
 * What the RESP command handlers share: integer arguments parsed as Redis
 * parses them, the error texts Redis uses for bad ones, glob matching for
 * MATCH and CONFIG GET, and how a write's result becomes its reply or the
 * error Redis would send.
 */
import type { CommandResult } from '@distkv/core';
import { globToRegExp } from './glob.js';
import { error } from './resp-server-replies.js';

export const WRONG_INTEGER = error('ERR value is not an integer or out of range');
export const SYNTAX = error('ERR syntax error');
const INT64_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;
export const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function parseInt64(arg: Buffer | undefined): bigint | undefined {
  if (arg === undefined || arg.length > 20) return undefined;
  const text = arg.toString('latin1');
  if (!INT64_TEXT.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** An argument upper-cased for comparing with option names ('' when missing). */
export function upper(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1').toUpperCase();
}

/** Core codes whose Redis reply is a fixed text. */
const REDIS_TEXTS: Readonly<Record<string, string>> = {
  NOT_FLOAT: 'ERR value is not a valid float',
  FLOAT_NOT_FINITE: 'ERR increment would produce NaN or Infinity',
  NO_SUCH_KEY: 'ERR no such key',
  SAME_KEY: 'ERR source and destination objects are the same',
};

/** Turns an operating error returned by the store into the error text Redis would use for it. */
export function resultError(result: CommandResult & { ok: false }): Buffer {
  if (result.code === 'NOT_INTEGER') return WRONG_INTEGER;
  if (result.code === 'INTEGER_OVERFLOW') return error('ERR increment or decrement would overflow');
  const redisText = REDIS_TEXTS[result.code];
  if (redisText !== undefined) return error(redisText);
  if (result.code === 'VALUE_TOO_LARGE' && (result.op === 'append' || result.op === 'setRange'))
    return error('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  return error(`ERR ${result.message}`);
}

type OkResult = Extract<CommandResult, { ok: true }>;

export function writeReply(format: (result: OkResult) => Buffer): (result: CommandResult) => Buffer {
  return (result) => (result.ok ? format(result) : resultError(result));
}

/** A glob as a key test; undefined for `*` (everything matches); a bad glob matches nothing. */
export function matcher(pattern: string | undefined): ((key: string) => boolean) | undefined {
  if (pattern === undefined || pattern === '*') return undefined;
  try {
    const re = globToRegExp(pattern);
    return (key) => re.test(key);
  } catch {
    return () => false;
  }
}
