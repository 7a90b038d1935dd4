/**
 * `distkv server`'s configuration from three sources plus defaults:
 * command-line flags > environment (`DISTKV_*`) > a JSON config file
 * (`--config`, or `DISTKV_CONFIG`) > defaults. Every source is validated
 * with the same zod schema, so a bad value is reported with the source it
 * came from: `--port`, `DISTKV_PORT` or `distkv.json: port`.
 */
import { readFileSync } from 'node:fs';
import { DistkvError, isDistkvError } from '@distkv/core';
import { electionConfig, LEASE_CLOCK_DRIFT_TICKS_DEFAULT } from '@distkv/election';
import { parseUserSpec, type UserSpec } from '@distkv/net';
import {
  defaultReplicationLimits,
  electionDefaults,
  loopbackTimings,
  type NodeId,
  type PeerAddress,
  resolveTimingPreset,
  TICK_MS_MAX,
} from '@distkv/replication';
import { z } from 'zod';
import './errors.js';

// #region parse-peers
/**
 * `n2=127.0.0.1:7102,n3=127.0.0.1:7103`: every other voter and its peer
 * address; `none`: no other voter (a one-node Raft cluster). Throws a
 * message naming the bad part.
 */
export function parsePeers(text: string): Map<string, PeerAddress> {
  const peers = new Map<string, PeerAddress>();
  if (text.trim() === 'none') return peers;
  for (const part of text.split(',')) {
    const match = /^([A-Za-z0-9_.-]{1,64})=([^:,=]+):(\d{1,5})$/.exec(part.trim());
    if (match === null) throw new Error(`"${part}" is not id=host:port`);
    const [, id, host, port] = match as unknown as [string, string, string, string];
    if (peers.has(id)) throw new Error(`${id} is listed twice`);
    const portNumber = Number(port);
    if (portNumber < 1 || portNumber > 65_535) throw new Error(`${id} has port ${port}`);
    peers.set(id, { host, port: portNumber });
  }
  return peers;
}
// #endregion parse-peers

// #region parse-join
/**
 * `--join 127.0.0.1:7001,127.0.0.1:7201`: the client or admin endpoints of
 * live members (as `distkv status --endpoints` takes them). Throws a
 * message naming the bad part.
 */
export function parseJoin(text: string): Array<{ host: string; port: number }> {
  const endpoints: Array<{ host: string; port: number }> = [];
  for (const part of text.split(',')) {
    const match = /^([^:,\s]+):(\d{1,5})$/.exec(part.trim());
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535)
      throw new Error(`"${part}" is not host:port (a client or admin endpoint of a member)`);
    endpoints.push({ host: match[1] as string, port });
  }
  return endpoints;
}

/** `--advertise-peer host:port` (or `[v6]:port`): this node's peer address as the others dial it. */
export function parseHostPort(text: string): string {
  const m = /^(?:\[[^\]\s]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[1]);
  if (m === null || port < 1 || port > 65_535) throw new Error(`"${text}" is not host:port`);
  return text.trim();
}
// #endregion parse-join

/** `--user a:rw:pw,b:ro:pw` (or a JSON array in the config file): passwords may not hold commas on the flag. */
function parseUsers(value: string | string[]): UserSpec[] {
  const specs = Array.isArray(value) ? value : value.split(',');
  return specs.map((spec) => parseUserSpec(spec.trim()));
}

const int = (min: number, max = 2 ** 31 - 1) =>
  z.number({ error: `must be an integer from ${min} to ${max}` }).refine((v) => Number.isSafeInteger(v) && v >= min && v <= max, {
    error: `must be an integer from ${min} to ${max}`,
  });
const choice = <T extends string>(values: readonly [T, ...T[]]) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });
const text = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });
const flag = z.boolean({ error: 'must be true or false' });
/** What `parse` makes of a value `input` accepts; what `parse` throws is the setting's error message. */
const parsedBy = <In, Out>(input: z.ZodType<In>, parse: (value: In) => Out) =>
  input.transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** The bounds @distkv/replication puts on the catch-up tail (its limits' hard maxima). */
const CATCH_UP_ENTRIES_MAX = 10_000_000;
const CATCH_UP_BYTES_MAX = 2 ** 52;

// #region server-config
/** Every setting of `distkv server`: its schema, its flag's help, and its default (if any). */
export const serverSettings = {
  port: { schema: int(0, 65_535), help: 'TCP port for clients (0 picks a free one)', default: 6380 },
  bind: { schema: text, help: 'address to listen on', default: '127.0.0.1' },
  linePort: {
    schema: int(0, 65_535),
    help: "TCP port for the seed's line protocol (PUT/GET/DEL), on --bind; off unless given (0 picks a free one)",
  },
  dataDir: { schema: text, help: 'where the write-ahead log and snapshots live', default: './data' },
  fsync: {
    schema: choice(['always', 'interval', 'none']),
    help: 'when a write is acknowledged (a single node or --peers none; with peers the Raft log always fsyncs)',
    default: 'always',
  },
  fsyncIntervalMs: { schema: int(1), help: 'for --fsync interval' },
  inMemory: { schema: flag, help: 'no data directory: nothing survives a restart' },
  requirepass: { schema: text, help: 'clients must AUTH first' },
  maxClients: { schema: int(1), help: 'most connected clients' },
  idleTimeoutMs: { schema: int(0), help: 'close idle connections (0: never)' },
  pendingRepliesMax: { schema: int(1), help: 'replies queued per client' },
  bulkBytesMax: { schema: int(1), help: 'longest RESP argument' },
  lineBytesMax: { schema: int(16), help: 'longest line or inline command' },
  argsCountMax: { schema: int(1), help: 'most arguments per request' },
  quiet: { schema: flag, help: 'log only errors' },
  logFormat: {
    schema: choice(['json', 'pretty']),
    help: 'log lines as JSON (pino) or human-readable; default pretty when stderr is a terminal',
  },
  id: { schema: text, help: "this node's id, on every log line; required with --peers" },
  peerPort: { schema: int(1, 65_535), help: 'replication: port for peer traffic' },
  peers: {
    schema: parsedBy(z.string({ error: 'must be a string id=host:port[,...]' }), parsePeers),
    help: 'replication: the other voters, id=host:port[,id=host:port...]; none: a one-node cluster (admin endpoint, same data layout)',
  },
  join: {
    schema: parsedBy(z.string({ error: 'must be a string host:port[,...]' }), parseJoin),
    help: 'replication: join a running cluster: host:port[,...] client or admin endpoints of any live members (instead of --peers); the node asks the leader to add it as a learner, promoted once caught up',
  },
  learner: {
    schema: flag,
    help: 'replication: with --join, join as a learner and stay one (it gets the log, does not vote) until `distkv member promote`',
  },
  advertisePeer: {
    schema: parsedBy(z.string({ error: 'must be a string host:port' }), parseHostPort),
    help: "replication: this node's peer address as the other members dial it (default --bind:--peer-port)",
  },
  joinAuth: {
    schema: text,
    help: "replication: user:password of a read-write user of the members' admin endpoints, when they run with --user or --requirepass (with --join)",
  },
  leader: { schema: text, help: 'replication: a leader fixed by configuration (phase 4); without it the nodes elect one' },
  election: { schema: choice(['raft', 'bully']), help: 'replication: how the nodes elect a leader', default: 'raft' },
  readMode: {
    schema: choice(['read-index', 'lease', 'stale']),
    help: 'replication: how reads are confirmed (default read-index when electing, stale with --leader)',
  },
  replication: { schema: choice(['sync', 'async']), help: 'replication: when a write is acknowledged', default: 'sync' },
  snapshotEvery: { schema: int(1), help: 'replication: snapshot and compact the log every n applied entries' },
  timing: {
    schema: choice(['auto', 'lan', 'loopback']),
    help: 'replication: election timing preset; lan: tick 100 ms, heartbeat 1 tick, election timeout 20 ticks (2-4 s, rides out TCP retransmissions); loopback: tick 10 ms, heartbeat 3 ticks, election 15 ticks (150-300 ms); auto: loopback when --bind and every peer are loopback addresses, else lan',
    default: 'auto',
  },
  tickMs: { schema: int(1, TICK_MS_MAX), help: 'replication: milliseconds per Raft tick (default from --timing)' },
  heartbeatTicks: {
    schema: int(1, 1_000_000),
    help: 'replication: the leader sends heartbeats every n ticks (default from --timing)',
  },
  electionTicks: {
    schema: int(2, 1_000_000),
    help: 'replication: a follower that hears no leader for a random n to 2n ticks campaigns (default from --timing)',
  },
  writeTimeoutMs: { schema: int(1), help: 'replication: a write unanswered this long fails with -TIMEOUT' },
  httpPort: {
    schema: int(0, 65_535),
    help: 'replication: admin HTTP endpoint (/health, /ready, /status, /metrics, /v1/kv/:key); 0 picks one',
  },
  forwardsPendingMax: { schema: int(1), help: 'replication: most writes a follower holds forwarded' },
  // #region catch-up-flags
  snapshotCatchUpEntries: {
    schema: int(0, CATCH_UP_ENTRIES_MAX),
    help: `replication: entries kept before each snapshot so a follower that missed a few gets entries, not the whole store (0: none; default ${defaultReplicationLimits.snapshotCatchUpEntries})`,
  },
  snapshotCatchUpBytes: {
    schema: int(0, CATCH_UP_BYTES_MAX),
    help: `replication: at most this many payload bytes of those entries (0: none; default ${defaultReplicationLimits.snapshotCatchUpBytes})`,
  },
  // #endregion catch-up-flags
  user: {
    schema: parsedBy(z.union([z.string(), z.array(z.string())], { error: 'must be name:ro|rw:password[,...]' }), parseUsers),
    help: 'security: users name:ro|rw:password[,...] for AUTH user password and the admin endpoint (see docs/security.md)',
  },
  tlsCert: { schema: text, help: 'security: TLS certificate (PEM) for the client, admin and peer ports' },
  tlsKey: { schema: text, help: 'security: the key of --tls-cert' },
  tlsCa: { schema: text, help: "security: the CA that signs every node's certificate (peers use mutual TLS)" },
  clusterSecret: { schema: text, help: 'security: peers prove they know it (HMAC); at least 16 bytes' },
  clusterId: { schema: text, help: 'security: nodes of different cluster ids refuse each other (default distkv)' },
  unsafeNoAuth: { schema: flag, help: 'security: allow a non-loopback --bind without passwords or peer authentication' },
} as const;
// #endregion server-config

export type Settings = typeof serverSettings;
export type SettingName = keyof Settings;
export type ServerConfig = { -readonly [K in SettingName]?: z.output<Settings[K]['schema']> } & {
  port: number;
  bind: string;
  dataDir: string;
  fsync: 'always' | 'interval' | 'none';
  election: 'raft' | 'bully';
  replication: 'sync' | 'async';
  timing: 'auto' | 'lan' | 'loopback';
};

export const settingNames = Object.keys(serverSettings) as SettingName[];

/** `dataDir` → `--data-dir`. */
export function flagName(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `dataDir` → `DISTKV_DATA_DIR`. */
export function envName(name: string): string {
  return `DISTKV_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** DISTKV_* variables that are not server settings (the REPL's history file, the config file itself). */
const otherEnv = new Set(['DISTKV_HISTORY_FILE', 'DISTKV_CONFIG']);

/** Numbers some number setting accepts (each has its own minimum: --line-bytes-max 16, --election-ticks 2). */
const numberProbes = [0, 1, 2, 16, 1_000];

/** Flags and environment variables are text: numbers and booleans are read from it before validation. */
function fromText(name: SettingName, raw: string): unknown {
  const setting = serverSettings[name];
  const example = setting.schema.safeParse(true).success
    ? 'boolean'
    : numberProbes.some((v) => setting.schema.safeParse(v).success)
      ? 'number'
      : 'text';
  if (example === 'boolean') {
    if (/^(1|true|yes)$/i.test(raw)) return true;
    if (/^(0|false|no)$/i.test(raw)) return false;
    return raw;
  }
  if (example === 'number' && /^-?\d+$/.test(raw.trim())) return Number(raw);
  return raw;
}

/** CLI_CONFIG_INVALID, with every problem found (not just the first). */
export class ConfigError extends DistkvError<'CLI_CONFIG_INVALID'> {
  constructor(readonly problems: string[]) {
    super('CLI_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export interface ConfigSources {
  /** Flags given on the command line (commander's values whose source is 'cli'). */
  flags: Partial<Record<SettingName, unknown>>;
  env: NodeJS.ProcessEnv;
  /** The config file's path; its content is read here. */
  file?: string | undefined;
}

// #region resolve-config
/**
 * Merges defaults < file < env < flags. Each value is validated on its own,
 * against the schema of its setting, and a failure names where it came
 * from. Returns the config and, per setting, the source that won.
 */
export function resolveServerConfig(sources: ConfigSources): {
  config: ServerConfig;
  origin: Partial<Record<SettingName, string>>;
} {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const origin: Partial<Record<SettingName, string>> = {};
  const take = (name: SettingName, raw: unknown, where: string): void => {
    const parsed = serverSettings[name].schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
      origin[name] = where;
    } else {
      const shown = raw instanceof Map ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(`${where}: ${parsed.error.issues.map((i) => i.message).join('; ')}${shown}`);
    }
  };
  for (const name of settingNames) {
    const d = (serverSettings[name] as { default?: unknown }).default;
    if (d !== undefined) {
      values[name] = d;
      origin[name] = 'default';
    }
  }
  if (sources.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`config file ${sources.file}: ${(err as Error).message}`]);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError([`config file ${sources.file}: must hold a JSON object such as {"port": 7001}`]);
    }
    for (const [key, raw] of Object.entries(parsed)) {
      if (!(key in serverSettings)) {
        problems.push(`config file ${sources.file}: unknown setting "${key}" (known: ${settingNames.join(', ')})`);
        continue;
      }
      take(key as SettingName, raw, `config file ${sources.file}: ${key}`);
    }
  }
  const byEnv = new Map(settingNames.map((n) => [envName(n), n]));
  for (const [key, raw] of Object.entries(sources.env)) {
    if (!key.startsWith('DISTKV_') || raw === undefined || otherEnv.has(key)) continue;
    const name = byEnv.get(key);
    if (name === undefined) {
      problems.push(`environment ${key}: not a distkv setting (known: ${[...byEnv.keys()].join(', ')})`);
      continue;
    }
    take(name, fromText(name, raw), `environment ${key}`);
  }
  for (const name of settingNames) {
    const raw = sources.flags[name];
    if (raw === undefined) continue;
    take(name, typeof raw === 'string' ? fromText(name, raw) : raw, `flag ${flagName(name)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = values as ServerConfig;
  crossCheck(config, origin);
  return { config, origin };
}
// #endregion resolve-config

/** Rules between settings; the message names where each value came from. */
function crossCheck(c: ServerConfig, origin: Partial<Record<SettingName, string>>): void {
  const at = (name: SettingName): string => `${flagName(name)} (from ${origin[name] ?? 'default'})`;
  const problems: string[] = [];
  problems.push(...portClashes(c, at));
  if (c.peers !== undefined && c.join !== undefined)
    problems.push(
      `${at('join')} and ${at('peers')} are mutually exclusive: --peers seeds a new cluster, --join joins a running one`,
    );
  if (c.learner === true && c.join === undefined)
    problems.push(`${at('learner')} needs --join: a node that seeds a cluster with --peers is a voter`);
  if (c.join !== undefined && c.peers === undefined) {
    if (c.id === undefined) problems.push(`${at('join')} needs --id (this node)`);
    if (c.peerPort === undefined) problems.push(`${at('join')} needs --peer-port`);
    if (c.inMemory) problems.push(`${at('inMemory')} cannot replicate: the Raft log lives in --data-dir`);
    if (c.leader !== undefined) problems.push(`${at('leader')}: a joining node needs elections, not a fixed leader`);
    if (c.election === 'bully') problems.push(`${at('election')}: membership changes need raft elections`);
    if (c.joinAuth !== undefined && !/^[^:]+:.+$/.test(c.joinAuth)) problems.push(`${at('joinAuth')} must be user:password`);
    if (c.advertisePeer === undefined && isWildcard(c.bind))
      problems.push(`${at('join')} with --bind ${c.bind} needs --advertise-peer: nobody can dial a wildcard address`);
    try {
      electionConfig({ election: c.election, ...(c.readMode !== undefined ? { readMode: c.readMode } : {}) });
    } catch (err) {
      if (!isDistkvError(err, 'ELECTION_CONFIG_INVALID')) throw err;
      problems.push(`${at('readMode')}: ${err.detail}`);
    }
    problems.push(...timingProblems(c, origin, at));
    if (c.fsync !== 'always' && origin.fsync !== 'default')
      problems.push(`${at('fsync')}: ${c.fsync} applies to a single node only; a replica's Raft log always fsyncs`);
  } else if (c.peers !== undefined) {
    const alone = c.peers.size === 0;
    if (c.id === undefined) problems.push(`${at('peers')} needs --id (this node)`);
    if (c.peerPort === undefined && !alone) problems.push(`${at('peers')} needs --peer-port`);
    if (c.inMemory) problems.push(`${at('inMemory')} cannot replicate: the Raft log lives in --data-dir`);
    if (c.id !== undefined && c.peers.has(c.id))
      problems.push(`${at('peers')} lists this node (${c.id}) too; list only the others`);
    if (c.leader !== undefined && c.leader !== c.id && !c.peers.has(c.leader))
      problems.push(`${at('leader')}: ${c.leader} is neither --id nor in --peers`);
    // Which leaders, elections and read modes go together is @distkv/election's rule, stated once.
    try {
      electionConfig({
        ...(c.leader !== undefined ? { leader: c.leader as NodeId } : { election: c.election }),
        ...(c.readMode !== undefined ? { readMode: c.readMode } : {}),
      });
    } catch (err) {
      if (!isDistkvError(err, 'ELECTION_CONFIG_INVALID')) throw err;
      problems.push(`${at('readMode')}: ${err.detail}`);
    }
    problems.push(...timingProblems(c, origin, at));
    // The Raft log of a replica always fsyncs before it acknowledges (docs/04): refuse rather than ignore.
    // A one-node cluster (--peers none) may relax it, as a single server does.
    if (c.fsync !== 'always' && origin.fsync !== 'default' && !alone)
      problems.push(`${at('fsync')}: ${c.fsync} applies to a single node only; a replica's Raft log always fsyncs`);
  } else {
    // biome-ignore format: one list
    for (const name of ['peerPort', 'leader', 'httpPort', 'tickMs', 'heartbeatTicks', 'electionTicks', 'snapshotCatchUpEntries', 'snapshotCatchUpBytes', 'advertisePeer'] as const) {
      if (c[name] !== undefined) problems.push(`${at(name)} needs --peers or --join (a replicated node)`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The line port is a port of its own: not the client, peer or admin port (0, a free one, never clashes). */
function portClashes(c: ServerConfig, at: (name: SettingName) => string): string[] {
  if (c.linePort === undefined || c.linePort === 0) return [];
  const others = (['port', 'peerPort', 'httpPort'] as const).filter((name) => c[name] === c.linePort);
  return others.map((name) => `${at('linePort')} is also ${at(name)}: the line protocol needs a port of its own`);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

// #region timing-rules
/**
 * The election timing this node will run with (see timingOf in
 * @distkv/replication): the preset's values, each replaced by a flag given.
 */
export function effectiveTiming(c: ServerConfig): {
  preset: 'lan' | 'loopback';
  tickMs: number;
  heartbeatTicks: number;
  electionTicks: number;
} {
  // A joining node's peers are not known yet: the hosts it joins through stand for them.
  const preset = resolveTimingPreset(c.timing, c.bind, c.peers?.values() ?? c.join ?? []);
  const base = preset === 'loopback' ? loopbackTimings : electionDefaults;
  return {
    preset,
    tickMs: c.tickMs ?? base.tickMs,
    heartbeatTicks: c.heartbeatTicks ?? base.heartbeatIntervalTicks,
    electionTicks: c.electionTicks ?? base.electionTimeoutTicks,
  };
}

/** Timing flags that cannot work together, each problem naming its flags and where they came from. */
function timingProblems(
  c: ServerConfig,
  origin: Partial<Record<SettingName, string>>,
  at: (name: SettingName) => string,
): string[] {
  const problems: string[] = [];
  const given = (['timing', 'heartbeatTicks', 'electionTicks'] as const).filter(
    (n) => origin[n] !== undefined && origin[n] !== 'default',
  );
  if (c.leader !== undefined) {
    for (const n of given) problems.push(`${at(n)}: election timing does not apply to a fixed leader (--leader); use --tick-ms`);
    return problems;
  }
  const t = effectiveTiming(c);
  if (t.electionTicks <= t.heartbeatTicks)
    problems.push(
      `${at('electionTicks')}: the election timeout (${t.electionTicks} ticks) must exceed the heartbeat interval (${t.heartbeatTicks} ticks, ${at('heartbeatTicks')}), or followers campaign between heartbeats`,
    );
  if (c.readMode === 'lease' && t.electionTicks <= LEASE_CLOCK_DRIFT_TICKS_DEFAULT)
    problems.push(
      `${at('electionTicks')}: lease reads need an election timeout above the ${LEASE_CLOCK_DRIFT_TICKS_DEFAULT} ticks of clock drift they allow`,
    );
  return problems;
}
// #endregion timing-rules
