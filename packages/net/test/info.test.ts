// Goal: parseInfo reads an INFO reply into fields the way Redis clients do.
// Method: a reply with sections, CRLF and LF endings, a value containing ':'.
import { parseInfo } from '@distkv/net';
import { describe, expect, it } from 'vitest';

describe('parseInfo', () => {
  it('maps field to value, skipping section headers and blank lines', () => {
    const info = parseInfo('# Replication\r\nrole:leader\r\nleader_addr:127.0.0.1:7001\r\n\r\n# Server\nnode_id:n1\n');
    expect([...info]).toEqual([
      ['role', 'leader'],
      ['leader_addr', '127.0.0.1:7001'],
      ['node_id', 'n1'],
    ]);
  });
});
