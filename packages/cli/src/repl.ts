import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isDistkvError } from '@distkv/core';
import { type Client, RespErrorReply } from '@distkv/net';
import { formatReply, splitCommandLine } from './format.js';

const HISTORY_LINES_MAX = 1000;

export function historyFile(): string {
  return process.env.DISTKV_HISTORY_FILE ?? join(homedir(), '.distkv_history');
}

function loadHistory(path: string): string[] {
  try {
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const kept = lines.slice(-HISTORY_LINES_MAX);
    if (kept.length < lines.length) writeFileSync(path, `${kept.join('\n')}\n`);
    return kept.reverse(); // readline wants the newest first
  } catch {
    return [];
  }
}

/** Runs one typed line; returns the text to print and whether it was an error. */
async function execute(client: Client, line: string): Promise<{ text: string; failed: boolean }> {
  try {
    if (client.protocol === 'line') {
      const reply = await client.send(line);
      return { text: Array.isArray(reply) ? [...reply, 'END'].join('\n') : reply, failed: false };
    }
    const args = splitCommandLine(line);
    if (args === undefined) return { text: '(error) unbalanced quotes', failed: true };
    if (args.length === 0) return { text: '', failed: false };
    return { text: formatReply(await client.call(...args)), failed: false };
  } catch (err) {
    if (isDistkvError(err, 'SERVER_ERROR')) {
      const message = err.message.replace(/^SERVER_ERROR: /, '');
      return { text: client.protocol === 'line' ? message : formatReply(new RespErrorReply(message)), failed: true };
    }
    if (isDistkvError(err, 'CONNECTION_REFUSED')) {
      return {
        text: `Could not connect to distkv at ${client.host}:${client.port}: connection refused. Is \`distkv server\` running?`,
        failed: true,
      };
    }
    return { text: `(error) ${(err as Error).message}`, failed: true };
  }
}

function help(names: readonly string[]): string {
  return [
    'Type a command and press Enter; Tab completes command names; history is kept in',
    `${historyFile()}. Commands: ${names.join(' ')}.`,
    'Quote arguments with spaces: SET greeting "hello world". Type QUIT (or Ctrl-D) to leave.',
  ].join('\n');
}

// #region repl
/**
 * The seed's kvstore_client, grown up: prompt `> `, one reply per line
 * typed, history across sessions, Tab completion, `help`. With
 * options.command it runs that one command and returns the exit code.
 */
export async function runRepl(client: Client, options: { names: readonly string[]; command?: string }): Promise<number> {
  if (options.command !== undefined) {
    const { text, failed } = await execute(client, options.command);
    process.stdout.write(`${text}\n`);
    await client.close();
    return failed ? 1 : 0;
  }
  const interactive = process.stdin.isTTY === true;
  const path = historyFile();
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: '> ',
    terminal: interactive,
    history: interactive ? loadHistory(path) : [],
    historySize: HISTORY_LINES_MAX,
    completer: (line: string): [string[], string] => {
      const word = line.trimStart().toUpperCase();
      if (word.includes(' ')) return [[], line];
      const hits = options.names.filter((n) => n.startsWith(word));
      return [hits.length > 0 ? hits : [...options.names], line];
    },
  });
  let failures = 0;
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '') {
      rl.prompt();
      continue;
    }
    if (interactive) {
      try {
        appendFileSync(path, `${line}\n`);
      } catch {
        // history is a convenience; a read-only home must not stop the client
      }
    }
    if (line.toLowerCase() === 'help') {
      process.stdout.write(`${help(options.names)}\n`);
    } else if (line.toUpperCase() === 'QUIT' || line.toLowerCase() === 'exit') {
      break;
    } else {
      const { text, failed } = await execute(client, line);
      if (failed) failures++;
      process.stdout.write(`${text}\n`);
      if (failed && text.startsWith('Could not connect')) break;
    }
    rl.prompt();
  }
  rl.close();
  await client.close();
  return failures > 0 && !interactive ? 1 : 0;
}
// #endregion repl
