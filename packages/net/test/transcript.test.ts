// Goal: the seed's line protocol still works byte for byte, on its own port (--line-port). Method: replay the blog's kvstore_client session over a raw socket to the line port, then the additions (SIZE, SCAN, PING, spaces in values).

import type { Server } from '@distkv/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket, startServer } from './helpers.js';

let server: Server;
let port: number;
beforeAll(async () => {
  // The line protocol lives on the line port; the Redis port would read `GET hello` as an inline command.
  ({ server, linePort: port } = await startServer());
});
afterAll(() => server.close());

describe('the seed transcript (blog part 3)', () => {
  it('answers PUT/GET/DEL/QUIT exactly as kvstore_server did', async () => {
    const raw = await RawSocket.open(port);
    const exchanges: Array<[string, string]> = [
      ['PUT hello world\n', 'OK\n'],
      ['GET hello\n', 'world\n'],
      ['DEL hello\n', 'OK\n'],
      ['GET hello\n', 'NOT_FOUND\n'],
    ];
    let expected = '';
    for (const [request, reply] of exchanges) {
      raw.write(request);
      expected += reply;
      expect(await raw.until((t) => t.length >= expected.length)).toBe(expected);
    }
    raw.write('QUIT\n');
    await raw.waitClosed();
    expect(raw.received.toString('latin1')).toBe(expected); // QUIT has no reply: the server just closes
  });

  it('keeps spaces in values, answers unknown commands, and adds SIZE, SCAN, PING', async () => {
    const raw = await RawSocket.open(port);
    raw.write(
      'PUT greeting hello big  world\r\nGET greeting\nDEL nothing\nFROB x\nPUT a 1\nPUT ab 2\nSIZE\nSCAN a\nPING\nQUIT\n',
    );
    await raw.waitClosed();
    expect(raw.received.toString('latin1')).toBe(
      'OK\nhello big  world\nNOT_FOUND\nERROR UNKNOWN COMMAND\nOK\nOK\n3\na\nab\nEND\nPONG\n',
    );
  });

  it('does not care how the bytes are split into chunks (the seed read 1 KiB at a time)', async () => {
    const raw = await RawSocket.open(port);
    const big = 'v'.repeat(5000);
    const request = `PUT big ${big}\nGET big\nQUIT\n`;
    for (let i = 0; i < request.length; i += 7) {
      raw.write(request.slice(i, i + 7));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.waitClosed();
    expect(raw.received.toString('latin1')).toBe(`OK\n${big}\n`);
  });
});
