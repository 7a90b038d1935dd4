// Goal: the operator tools work as a user runs them: `bench` produces a consistent JSON report and a well-formed SVG against a real node; `wal inspect` finds a deliberately corrupted record (file and offset) without changing anything, and `wal repair` keeps the valid prefix; `doctor` prints advice that satisfies the rule it states; `completion` lists every command; every command's --help has examples.
// Method: real `distkv` child processes (a real in-memory server for bench; logs written with @distkv/wal's own Wal in temp dirs), with in-process calls of the same functions where a check needs no new process; assertions on structure and consistency, never on how fast anything ran.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, inspectWal, zshCompletion } from '@distkv/cli';
import { Wal } from '@distkv/wal';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, linkedBinary, type RunningServer, run, startServer } from './helpers.js';

const { bin, root } = linkedBinary();
let server: RunningServer;
beforeAll(async () => {
  server = await startServer(bin, ['--in-memory', '--quiet']);
}, 90_000);
afterAll(async () => {
  await kill(server.child);
  rmSync(root, { recursive: true, force: true });
});

/** Checks that `svg` is well-formed XML as far as an SVG needs: every tag closed in order, attributes quoted, one root. */
function parseSvg(svg: string): { root: string; elements: Array<{ name: string; attributes: Record<string, string> }> } {
  const elements: Array<{ name: string; attributes: Record<string, string> }> = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  let rootName = '';
  for (let m = tag.exec(svg); m !== null; m = tag.exec(svg)) {
    const between = svg.slice(at, m.index);
    if (/[<>]/.test(between)) throw new Error(`stray markup before offset ${m.index}: ${between.slice(0, 40)}`);
    at = m.index + m[0].length;
    const [, closing, name, attrs, selfClosing] = m as unknown as [string, string, string, string, string];
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
      continue;
    }
    if (stack.length === 0) {
      if (rootName !== '') throw new Error('more than one root element');
      rootName = name;
    }
    const attributes = Object.fromEntries([...attrs.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    elements.push({ name, attributes });
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  if (svg.slice(at).trim() !== '') throw new Error('text after the root element');
  return { root: rootName, elements };
}

describe('distkv bench', () => {
  it('runs a small mixed load on a real node; the report adds up and the chart parses', async () => {
    const out = await mkdtemp(join(tmpdir(), 'distkv-bench-'));
    const args = ['bench', '--endpoints', `127.0.0.1:${server.port}`, '--clients', '4', '--ops', '3000'];
    const r = await run(bin, [...args, '--pipeline', '4', '--keys', '50', '--value-bytes', '32', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
    expect(r.stdout).toMatch(/^3000 ops \(\d+ GET, \d+ SET, 0 errors\)/);
    const report = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8'));
    expect(report.config).toMatchObject({ clients: 4, ops: 3000, ratio: 0.5, keys: 50, value_bytes: 32, pipeline: 4 });
    expect(report.ops.requested).toBe(3000);
    expect(report.ops.completed).toBe(3000);
    expect(report.ops.gets + report.ops.sets).toBe(3000);
    expect(report.ops.gets).toBeGreaterThan(0);
    expect(report.ops.sets).toBeGreaterThan(0);
    expect(report.ops.errors).toBe(0);
    const l = report.latency_us;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.p99_9);
    expect(l.p99_9).toBeLessThanOrEqual(l.max);
    expect(report.throughput_ops_s).toBeGreaterThan(0);
    const points = report.timeline.points as Array<{ ops: number; p50_us: number; p99_us: number; max_us: number }>;
    expect(points.reduce((sum, p) => sum + p.ops, 0)).toBe(3000);
    for (const p of points) if (p.ops > 0) expect(p.p50_us <= p.p99_us && p.p99_us <= p.max_us).toBe(true);

    const svg = parseSvg(readFileSync(join(out, 'bench.svg'), 'utf8'));
    expect(svg.root).toBe('svg');
    const lines = svg.elements.filter((e) => e.name === 'polyline');
    expect(lines.map((e) => e.attributes.class)).toEqual(['max', 'p99', 'p50']);
    for (const line of lines) expect(line.attributes.points?.trim().split(/\s+/)).toHaveLength(points.length);
    // The same seed, the same choices: GET/SET counts repeat exactly.
    const again = await run(bin, [...args, '--pipeline', '1', '--keys', '50', '--json', '--out', out]);
    expect(JSON.parse(again.stdout).ops.gets).toBe(report.ops.gets);
    rmSync(out, { recursive: true, force: true });
  });

  it('rejects bad flags with a clear message', async () => {
    const r = await run(bin, ['bench', '--ratio', '1.5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--ratio must be a number from 0 (only SETs) to 1 (only GETs)');
    const down = await run(bin, ['bench', '--endpoints', '127.0.0.1:1', '--ops', '10']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('distkv bench:');
  });
});

/** A log of `count` entries in small segments, written by @distkv/wal itself. */
async function writeLog(dir: string, count: number): Promise<void> {
  const wal = await Wal.open({ dir, fsync: 'none', limits: { segmentBytes: 4096 } });
  for (let i = 1; i <= count; i++) await wal.append({ term: 1, payload: Buffer.from(`entry number ${i} `.repeat(4)) });
  await wal.close();
}

describe('distkv wal inspect and repair', () => {
  it('reports a clean log, then a corrupt record with file and offset, and repair keeps the valid prefix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-wal-'));
    await writeLog(dir, 200);
    const clean = await run(bin, ['wal', 'inspect', dir, '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    const before = JSON.parse(clean.stdout);
    expect(before).toMatchObject({ layout: 'single', firstIndex: 1, lastIndex: 200, verdict: 'clean', corruption: [] });
    expect(before.segments.length).toBeGreaterThan(2);
    // Consecutive ranges covering 1..200.
    let next = 1;
    for (const s of before.segments) {
      expect(s.firstIndex).toBe(next);
      next = s.lastIndex + 1;
    }
    expect(next).toBe(201);

    // Flip one byte inside an entry of the second segment: not a torn tail, so the server would refuse to start.
    const second = before.segments[1];
    const offset = 27 + 10; // past the segment header (27 bytes), inside the first entry's record
    const file = await open(second.file, 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, offset);
    byte[0] = (byte[0] as number) ^ 0xff;
    await file.write(byte, 0, 1, offset);
    await file.close();
    const sizes = before.segments.map((s: { file: string }) => statSync(s.file).size);

    const found = await run(bin, ['wal', 'inspect', dir]);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(`corruption: ${second.file} at offset 27 (entry index ${second.firstIndex}): `);
    expect(found.stdout).toContain('verdict: CORRUPT');
    // Read-only: no file changed size, none was set aside.
    expect(before.segments.map((s: { file: string }) => statSync(s.file).size)).toEqual(sizes);
    const report = await inspectWal(dir);
    expect(report.verdict).toBe('corrupt');
    expect(report.lastIndex).toBe(second.firstIndex - 1);
    expect(report.corruption).toEqual([expect.objectContaining({ file: second.file, offset: 27, index: second.firstIndex })]);

    const repaired = await run(bin, ['wal', 'repair', dir, '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ lastIndex: second.firstIndex - 1 });
    const after = await inspectWal(dir);
    expect(after).toMatchObject({ verdict: 'clean', lastIndex: second.firstIndex - 1 });
    expect(after.setAside.length).toBeGreaterThan(0);
    // The server's own log opens it again, with the valid prefix.
    const wal = await Wal.open({ dir });
    expect(wal.lastIndex).toBe(second.firstIndex - 1);
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls a damaged last record a torn tail, which the server cuts itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-wal-'));
    await writeLog(dir, 20);
    const { segments } = await inspectWal(dir);
    const last = segments[segments.length - 1]?.file as string;
    const bytes = readFileSync(last);
    writeFileSync(last, bytes.subarray(0, bytes.length - 5)); // a write cut short by a crash
    expect(await inspectWal(dir)).toMatchObject({ verdict: 'torn-tail', lastIndex: 19 });
    await expect(inspectWal(join(dir, 'nope'))).rejects.toThrow('no such directory');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('distkv doctor', () => {
  it('recommends timeouts that satisfy the rule it prints, and warns exactly when fsync is too slow', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-doctor-'));
    const r = await run(bin, ['doctor', '--data-dir', dir, '--fsync-count', '20', '--rtt-count', '200', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.fsync_ms.count).toBe(20);
    expect(d.round_trip_ms.count).toBe(200);
    expect(d.fsync_ms.p50).toBeLessThanOrEqual(d.fsync_ms.p99);
    expect(d.round_trip_ms.p99).toBeLessThanOrEqual(d.round_trip_ms.max);
    // etcd's rule, as stated: heartbeat near (at least) the round trip, election at least ten times it.
    expect(d.heartbeat_ms).toBeGreaterThanOrEqual(d.round_trip_ms.p99 + d.fsync_ms.p99);
    expect(d.heartbeat_ms).toBeGreaterThanOrEqual(10);
    expect(d.election_ms).toBeGreaterThanOrEqual(10 * d.heartbeat_ms);
    expect(d.election_ms).toBeGreaterThanOrEqual(10 * d.round_trip_ms.p99);
    expect(d.flags).toBe(`--tick-ms ${d.heartbeat_ms} --heartbeat-ticks 1 --election-ticks 10`);
    expect(d.applies_to).toMatch(/loopback/);
    expect(d.warnings.length > 0).toBe(d.fsync_ms.p99 > 10);
    expect(readdirSync(dir)).toEqual([]); // the scratch file is gone
    const text = await run(bin, ['doctor', '--data-dir', dir, '--fsync-count', '5', '--rtt-count', '20']);
    expect(text.stdout).toContain('Rule: heartbeat = max(10, round_trip_p99 + fsync_p99); election = 10 x heartbeat');
    expect(text.stdout).toMatch(/Recommended: heartbeat (\d+) ms, election timeout (\d+) ms/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('distkv completion and --help', () => {
  const commands = ['server', 'client', 'cluster', 'status', 'bench', 'wal', 'doctor', 'completion'];

  it('prints bash and zsh scripts that list every command and subcommand', async () => {
    const bash = await run(bin, ['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _distkv distkv');
    const top = /"\) words="([^"]*)" ;;/.exec(bash.stdout)?.[1]?.split(' ') ?? [];
    for (const c of commands) expect(top).toContain(c);
    expect(bash.stdout).toContain('"wal") words="inspect repair');
    expect(bash.stdout).toContain('"cluster") words="up');
    const zsh = zshCompletion(buildProgram());
    expect(zsh.startsWith('#compdef distkv')).toBe(true);
    for (const c of commands) expect(zsh).toContain(`'${c}:`);
    const bad = await run(bin, ['completion', 'fish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown shell "fish"');
  });

  it('has examples in the --help of every command (in process: the same program the binary runs)', () => {
    const program = buildProgram();
    const all: Array<{ name: string; command: Command }> = [];
    const walk = (command: Command, name: string): void => {
      all.push({ name, command });
      for (const sub of command.commands) walk(sub, `${name} ${sub.name()}`.trim());
    };
    walk(program, '');
    expect(all.map((c) => c.name)).toEqual(expect.arrayContaining([...commands, 'cluster up', 'wal inspect', 'wal repair']));
    for (const { name, command } of all) {
      let text = '';
      command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      command.outputHelp();
      expect(text, name || 'distkv').toContain('Examples:');
    }
  });
});
