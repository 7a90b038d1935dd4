import { join } from 'node:path';
import { crc32c } from '@distkv/core';
import { walError } from './errors.js';
import { type WalFileSystem, writeFully } from './fs.js';
import { readU64 } from './record.js';

/** What Raft must never forget across a restart: the current term and whom it voted for in it. */
export interface HardState {
  term: number;
  vote: string | null;
}

export const STATE_FILE = 'state';
const STATE_MAGIC = Buffer.from('DKVSTATE', 'latin1');
const STATE_VERSION = 1;
const VOTE_BYTES_MAX = 1024;

/**
 * state file: magic "DKVSTATE" | version u16 | term u64 | has vote u8 |
 * vote length u16 | vote (UTF-8) | crc32c of everything before it u32
 */
function encodeState(state: HardState): Buffer {
  const vote = Buffer.from(state.vote ?? '', 'utf8');
  if (vote.length > VOTE_BYTES_MAX)
    throw walError('WAL_LIMIT_INVALID', `a vote of ${vote.length} bytes exceeds ${VOTE_BYTES_MAX}`);
  const out = Buffer.alloc(8 + 2 + 8 + 1 + 2 + vote.length + 4);
  STATE_MAGIC.copy(out, 0);
  out.writeUInt16LE(STATE_VERSION, 8);
  out.writeUInt32LE(state.term % 0x1_0000_0000, 10);
  out.writeUInt32LE(Math.floor(state.term / 0x1_0000_0000), 14);
  out[18] = state.vote === null ? 0 : 1;
  out.writeUInt16LE(vote.length, 19);
  vote.copy(out, 21);
  out.writeUInt32LE(crc32c(out, 0, 0, out.length - 4), out.length - 4);
  return out;
}

function decodeState(buf: Buffer): HardState {
  const bad = (why: string) => walError('WAL_STATE_CORRUPT', `state file: ${why}`);
  if (buf.length < 25) throw bad(`${buf.length} bytes is too short`);
  if (!buf.subarray(0, 8).equals(STATE_MAGIC)) throw bad('bad magic');
  if (crc32c(buf, 0, 0, buf.length - 4) !== buf.readUInt32LE(buf.length - 4)) throw bad('checksum mismatch');
  if (buf.readUInt16LE(8) !== STATE_VERSION) throw bad(`version ${buf.readUInt16LE(8)} is unknown`);
  const voteBytes = buf.readUInt16LE(19);
  if (21 + voteBytes + 4 !== buf.length) throw bad('length does not match');
  return { term: readU64(buf, 10), vote: buf[18] === 1 ? buf.toString('utf8', 21, 21 + voteBytes) : null };
}

// #region save-state
/**
 * Replaces the state file atomically: write a temp file, fsync it, rename
 * it over the old one, fsync the directory. A crash at any point leaves
 * either the old state or the new one, never a mix or nothing.
 */
export async function saveState(fs: WalFileSystem, dir: string, state: HardState): Promise<void> {
  if (!Number.isSafeInteger(state.term) || state.term < 0) {
    throw walError('WAL_LIMIT_INVALID', `term must be a non-negative integer, got ${state.term}`);
  }
  const bytes = encodeState(state);
  const temp = join(dir, `${STATE_FILE}.tmp`);
  await fs.unlink(temp).catch(() => undefined);
  const file = await fs.open(temp, 'wx');
  try {
    await writeFully(file, bytes, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await fs.rename(temp, join(dir, STATE_FILE));
  await fs.syncDir(dir);
}
// #endregion save-state

export async function loadState(fs: WalFileSystem, dir: string): Promise<HardState> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(join(dir, STATE_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { term: 0, vote: null };
    throw err;
  }
  return decodeState(buf);
}
