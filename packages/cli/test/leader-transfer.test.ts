// Goal: `distkv leader transfer <id>` hands leadership of a running cluster of real processes to <id>: it finds the
// leader from any endpoint, asks its admin endpoint, exits 0 once <id> leads, and the cluster agrees; a target that
// is not a voter exits 1 with the reason.
// Method: 3 `distkv server` processes with HTTP ports (as `cluster up` starts them); the real binary through a
// node_modules/.bin link; bounded polls while the cluster elects.
import { afterEach, describe, expect, it } from 'vitest';
import { linkedBinary, run } from './helpers.js';
import { type ProcessCluster, processCluster, waitLeader, write } from './process-cluster.js';

let cluster: ProcessCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe('distkv leader transfer', () => {
  it('moves leadership to the named voter, which then serves writes; a non-voter is refused', async () => {
    cluster = await processCluster(3, [], { http: true });
    const c = cluster;
    await c.startAll();
    const leader = await waitLeader(c);
    const target = c.ids.find((id) => id !== leader) as string;
    const asked = c.ids.find((id) => id !== leader && id !== target) as string; // neither side of the hand-over
    const { bin } = linkedBinary();
    const endpoints = ['--endpoints', `127.0.0.1:${c.port(asked)}`];

    const moved = await run(bin, ['leader', 'transfer', target, ...endpoints, '--json', '--timeout-ms', '10000']);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    // `from` is whoever led when the command asked: on a loaded machine an election may have moved it since.
    expect(JSON.parse(moved.stdout)).toMatchObject({ leader: target });
    expect(await waitLeader(c)).toBe(target);
    await write(c, target, 'after-transfer', 'yes');

    const refused = await run(bin, ['leader', 'transfer', 'n9', ...endpoints]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^distkv leader transfer: n9 is not a voter of this cluster/);
  });
});
