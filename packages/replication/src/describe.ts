/**
 * Text forms of entries, messages and Readys, as the transcript tests and
 * the simulator's failure reports print them (etcd's style:
 * `1->2 MsgApp Term:1 Log:1/5 Commit:4 Entries:[1/6]`, entries as term/index).
 */
import { decodeCommand } from '@distkv/core';
import { decodeConfEntry, describeConfChange, isConfPayload } from './membership.js';
import type { Ready } from './raft.js';
import type { Entry, Message } from './types.js';

export type PayloadFormatter = (payload: Uint8Array) => string;

/** Decodes a core Command when it can, so transcripts read `put x=1`. */
export const describeCommandPayload: PayloadFormatter = (payload) => {
  if (payload.byteLength === 0) return 'noop';
  if (isConfPayload(payload)) {
    const entry = decodeConfEntry(payload);
    return entry === undefined ? 'conf (unknown)' : `conf ${describeConfChange(entry.change)}`;
  }
  try {
    const c = decodeCommand(payload);
    const s = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
    switch (c.op) {
      case 'put':
        return `put ${s(c.key)}=${s(c.value)}`;
      case 'del':
        return `del ${c.keys.map(s).join(' ')}`;
      case 'incrBy':
        return `incrby ${s(c.key)} ${c.delta}`;
      default:
        return c.op;
    }
  } catch {
    return `${payload.byteLength} bytes`;
  }
};

export function describeEntryId(e: Entry): string {
  return `${e.term}/${e.index}`;
}

export function describeEntry(e: Entry, format: PayloadFormatter = describeCommandPayload): string {
  return `${e.term}/${e.index} ${format(e.payload)}`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} Log:${m.prevTerm}/${m.prevIndex} Commit:${m.commit}${m.entries.length > 0 ? ` Entries:[${m.entries.map(describeEntryId).join(' ')}]` : ''}`;
    case 'MsgAppResp':
      return m.reject ? `${head} Log:${m.index} Rejected (Hint: ${m.hintTerm}/${m.hintIndex})` : `${head} Log:${m.index}`;
    case 'MsgHeartbeat':
      return `${head} Commit:${m.commit}${m.seq !== undefined && m.seq > 0 ? ` Seq:${m.seq}` : ''}`;
    case 'MsgHeartbeatResp':
      return m.seq !== undefined && m.seq > 0 ? `${head} Seq:${m.seq}` : head;
    case 'MsgSnap':
      return `${head} Snapshot:${m.meta.term}/${m.meta.index} Bytes:${m.offset}+${m.chunk.byteLength}/${m.totalBytes}`;
    case 'MsgSnapResp':
      return `${head} Snapshot:${m.meta.term}/${m.meta.index} Offset:${m.offset}${m.reject ? ' Rejected' : ''}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} Log:${m.lastTerm}/${m.lastIndex}${m.transfer ? ' Transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return m.reject ? `${head} Rejected` : head;
    case 'MsgTimeoutNow':
      return head;
    case 'MsgPolicy':
      return `${head} ${m.kind}`;
  }
}

export function describeReady(rd: Ready, format: PayloadFormatter = describeCommandPayload): string[] {
  const out: string[] = [];
  if (rd.softState !== undefined) out.push(`Role:${rd.softState.role} Leader:${rd.softState.leader ?? 'none'}`);
  if (rd.hardState !== undefined)
    out.push(`HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote ?? 0} Commit:${rd.hardState.commit}`);
  if (rd.snapshot !== undefined)
    out.push(`Snapshot ${rd.snapshot.meta.term}/${rd.snapshot.meta.index} (${rd.snapshot.data.byteLength} bytes)`);
  if (rd.entries.length > 0) {
    out.push('Entries:');
    for (const e of rd.entries) out.push(`  ${describeEntry(e, format)}`);
  }
  if (rd.leaderDurableIndex !== undefined) out.push(`LeaderDurable:${rd.leaderDurableIndex}`);
  if (rd.readStates !== undefined && rd.readStates.length > 0) {
    out.push(`ReadStates:${rd.readStates.map((r) => ` ${r.id}@${r.index}`).join('')}`);
  }
  if (rd.earlyMessages.length > 0) {
    out.push('EarlyMessages:');
    for (const m of rd.earlyMessages) out.push(`  ${describeMessage(m)}`);
  }
  if (rd.messages.length > 0) {
    out.push('Messages:');
    for (const m of rd.messages) out.push(`  ${describeMessage(m)}`);
  }
  if (rd.committedEntries.length > 0) {
    out.push('CommittedEntries:');
    for (const e of rd.committedEntries) out.push(`  ${describeEntry(e, format)}`);
  }
  return out;
}
