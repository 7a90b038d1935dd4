import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isDistkvError } from '@distkv/core';
import { type Client, RespErrorReply, type RespValue } from '@distkv/net';
import { formatAddress, type Session } from './follow.js';
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

/** A reply as JSON for scripts: text as a string, integers as numbers, arrays as arrays, nil as null. */
export function replyToJson(reply: RespValue | undefined): unknown {
  if (reply === null || reply === undefined) return null;
  if (reply instanceof RespErrorReply) return { error: reply.message };
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'bigint') return Number.isSafeInteger(Number(reply)) ? Number(reply) : String(reply);
  if (typeof reply === 'number' || typeof reply === 'string') return reply;
  return reply.map((item) => replyToJson(item));
}

/** What the REPL talks to: one typed line in, one reply out. */
export interface Conversation {
  protocol: 'resp' | 'line';
  prompt(): string;
  /** Runs one line; the text to print and whether it was an error. */
  run(line: string): Promise<{ text: string; failed: boolean }>;
  close(): Promise<void>;
}

function refusedText(where: string): string {
  return `Could not connect to distkv at ${where}: connection refused. Is \`distkv server\` running?`;
}

/** The seed's line protocol on one node, as before: no leader following. */
export function lineConversation(client: Client): Conversation {
  return {
    protocol: 'line',
    prompt: () => '> ',
    async run(line) {
      try {
        const reply = await client.send(line);
        return { text: Array.isArray(reply) ? [...reply, 'END'].join('\n') : reply, failed: false };
      } catch (err) {
        if (isDistkvError(err, 'SERVER_ERROR')) return { text: err.detail, failed: true };
        if (isDistkvError(err, 'CONNECTION_REFUSED')) return { text: refusedText(`${client.host}:${client.port}`), failed: true };
        return { text: `(error) ${(err as Error).message}`, failed: true };
      }
    },
    close: () => client.close(),
  };
}

/** RESP through a leader-following Session; `json` prints each reply as one JSON value per line. */
export function respConversation(session: Session, options: { json: boolean }): Conversation {
  const errorText = (message: string): string =>
    options.json ? JSON.stringify({ error: message }) : formatReply(new RespErrorReply(message));
  return {
    protocol: 'resp',
    prompt: () => (options.json ? '' : session.prompt()),
    async run(line) {
      const args = splitCommandLine(line);
      if (args === undefined) return { text: errorText('unbalanced quotes'), failed: true };
      if (args.length === 0) return { text: '', failed: false };
      try {
        const reply = await session.call(args);
        return { text: options.json ? JSON.stringify(replyToJson(reply)) : formatReply(reply), failed: false };
      } catch (err) {
        if (isDistkvError(err, 'SERVER_ERROR')) return { text: errorText(err.detail), failed: true };
        if (isDistkvError(err, 'CONNECTION_REFUSED')) {
          const text = refusedText(formatAddress(session.address));
          return { text: options.json ? JSON.stringify({ error: text }) : text, failed: true };
        }
        if (isDistkvError(err, 'CONNECTION_CLOSED') || isDistkvError(err, 'NET_TIMEOUT')) {
          return { text: errorText(`${(err as Error).message}; the command may or may not have been applied`), failed: true };
        }
        return { text: errorText((err as Error).message), failed: true };
      }
    },
    close: () => session.close(),
  };
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
 * The seed's kvstore_client, grown up: a prompt naming the node it talks
 * to (`n1 127.0.0.1:7001> `; `> ` for the line protocol), one reply per
 * line typed, history across sessions, Tab completion, `help`. With
 * options.command it runs that one command and returns the exit code.
 */
export async function runRepl(
  conversation: Conversation,
  options: { names: readonly string[]; command?: string },
): Promise<number> {
  if (options.command !== undefined) {
    const { text, failed } = await conversation.run(options.command);
    process.stdout.write(`${text}\n`);
    await conversation.close();
    return failed ? 1 : 0;
  }
  const interactive = process.stdin.isTTY === true;
  const path = historyFile();
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: conversation.prompt(),
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
  // Ctrl-D at the prompt: end the prompt's line, so the shell's prompt starts on its own.
  if (interactive) rl.once('close', () => process.stdout.write('\n'));
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
      const { text, failed } = await conversation.run(line);
      if (failed) failures++;
      process.stdout.write(`${text}\n`);
      if (failed && text.includes('Could not connect')) break;
    }
    // The node may have changed (the leader moved): the prompt says where the next command goes.
    rl.setPrompt(conversation.prompt());
    rl.prompt();
  }
  rl.close();
  await conversation.close();
  return failures > 0 && !interactive ? 1 : 0;
}
// #endregion repl
