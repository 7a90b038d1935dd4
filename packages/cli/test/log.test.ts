// Goal: a library's fatal line reaches the operator at error level, routine ones at info.
// Method: feed lineLogger lines with and without a level and read the JSON pino writes.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lineLogger } from '../src/log.js';

describe('lineLogger', () => {
  it('logs each line at the level it names, info when it names none', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = lineLogger(pino({ level: 'info' }, sink));
    log('installed a snapshot');
    log('wal: a write failed; the file was cut back', 'warn');
    log('replication node n1 stopped: disk full', 'error');
    const levels = lines.map((l) => (JSON.parse(l) as { level: number; msg: string }).level);
    expect(levels).toEqual([pino.levels.values.info, pino.levels.values.warn, pino.levels.values.error]);
  });
});
