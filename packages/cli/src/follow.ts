/**
 * The client side of "follow the leader". Any node accepts every command
 * (followers forward writes and confirm reads through the leader), so
 * talking to the leader saves a hop, and more importantly a client that
 * knows how to find the leader survives the node it talks to dying.
 *
 * How the leader is found: `INFO` on a node says its `role`, `node_id` and
 * the leader's client address (`leader_addr`). The session asks the node
 * it talks to, then every other address it knows (the ones given, and
 * every leader address it has seen), until one names a leader.
 */
import { isDistkvError } from '@distkv/core';
import { Client, parseInfo, type RespValue, ServerError } from '@distkv/net';

export interface Address {
  host: string;
  port: number;
}

export function formatAddress(a: Address): string {
  return `${a.host}:${a.port}`;
}

export interface SessionOptions {
  /** Where to start; later addresses are asked when the first cannot name a leader. */
  seeds: Address[];
  /** Move to the leader (default); false: stay on the first seed. */
  follow: boolean;
  password?: string | undefined;
  timeoutMs: number;
  /** How long a command may wait for a leader to appear (an election) before it fails. */
  leaderWaitMs: number;
  /** Told about every move, for the user (stderr). */
  onMove: (line: string) => void;
}

/** What INFO says about one node. */
interface NodeView {
  address: Address;
  /** null: a single node (role master), which is its own leader. */
  nodeId: string | null;
  role: string;
  leaderId: string | null;
  leaderAddress: Address | null;
}

/** Addresses learnt from INFO are bounded: a cluster has a handful of nodes, not thousands. */
const KNOWN_ADDRESSES_MAX = 64;
const DISCOVERY_PAUSE_MS = 200;

function parseHostPort(text: string): Address | null {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  if (match === null) return null;
  return { host: match[1] as string, port: Number(match[2]) };
}

const same = (a: Address, b: Address): boolean => a.host === b.host && a.port === b.port;

/**
 * One REPL's connection, moved to the leader when the node it talks to is
 * not the leader, refuses the connection, or answers `-TRYAGAIN` /
 * `-NOT_LEADER` (definite: nothing was done, so the command is retried on
 * the leader). A connection lost mid-request is indefinite: the command is
 * reported as failed and may have been applied; the next one goes to the
 * leader.
 */
export class Session {
  readonly #options: SessionOptions;
  readonly #known: Address[];
  #client: Client;
  address: Address;
  nodeId: string | null = null;

  constructor(options: SessionOptions) {
    if (options.seeds.length === 0) throw new Error('a session needs at least one address');
    this.#options = options;
    this.#known = [...options.seeds];
    this.address = options.seeds[0] as Address;
    this.#client = this.#connect(this.address);
  }

  /** `n2 127.0.0.1:7002> `, or `127.0.0.1:6380> ` for a single node. */
  prompt(): string {
    return `${this.nodeId === null ? '' : `${this.nodeId} `}${formatAddress(this.address)}> `;
  }

  #connect(address: Address): Client {
    return new Client({
      ...address,
      timeoutMs: this.#options.timeoutMs,
      reconnect: { attemptsMax: 1 },
      ...(this.#options.password === undefined ? {} : { password: this.#options.password }),
    });
  }

  async #view(address: Address): Promise<NodeView | null> {
    const client = same(address, this.address) ? this.#client : this.#connect(address);
    try {
      const fields = parseInfo(String(await client.call('INFO')));
      const role = fields.get('role') ?? '';
      if (role === 'master') return { address, nodeId: null, role, leaderId: null, leaderAddress: address };
      const leaderAddress = parseHostPort(fields.get('leader_addr') ?? '');
      return {
        address,
        nodeId: fields.get('node_id') ?? null,
        role,
        leaderId: fields.get('leader_id') || null,
        leaderAddress: role === 'leader' ? address : leaderAddress,
      };
    } catch {
      return null;
    } finally {
      if (client !== this.#client) await client.close().catch(() => undefined);
    }
  }

  #learn(address: Address): void {
    if (!this.#known.some((k) => same(k, address)) && this.#known.length < KNOWN_ADDRESSES_MAX) this.#known.push(address);
  }

  async #moveTo(view: NodeView): Promise<void> {
    if (!same(view.address, this.address)) {
      const from = `${this.nodeId ?? ''} ${formatAddress(this.address)}`.trim();
      await this.#client.close().catch(() => undefined);
      this.address = view.address;
      this.#client = this.#connect(view.address);
      this.#options.onMove(`-> following the leader ${view.nodeId ?? ''} at ${formatAddress(view.address)} (was ${from})`);
    }
    this.nodeId = view.nodeId;
  }

  /**
   * Finds the leader (or, with follow off, just a node that answers) and
   * moves there. Bounded by `leaderWaitMs`; false when no node named one,
   * at once when no known node answers at all.
   */
  async findLeader(): Promise<boolean> {
    return (await this.#findLeader()) === 'found';
  }

  async #findLeader(): Promise<'found' | 'no-leader' | 'unreachable'> {
    const deadline = Date.now() + this.#options.leaderWaitMs;
    for (;;) {
      let answered = 0;
      for (const address of [this.address, ...this.#known.filter((k) => !same(k, this.address))]) {
        const view = await this.#view(address);
        if (view === null) continue;
        answered++;
        if (!this.#options.follow) {
          this.nodeId = view.nodeId;
          return 'found';
        }
        if (view.leaderAddress === null) continue;
        this.#learn(view.leaderAddress);
        // Ask the named leader itself: it may have lost the role since.
        const leader = same(view.leaderAddress, address) ? view : await this.#view(view.leaderAddress);
        if (leader !== null && (leader.role === 'leader' || leader.role === 'master')) {
          await this.#moveTo(leader);
          return 'found';
        }
      }
      // Nobody answered at all: no election is under way that waiting would finish.
      if (answered === 0) return 'unreachable';
      if (Date.now() >= deadline) return 'no-leader';
      await new Promise((r) => setTimeout(r, DISCOVERY_PAUSE_MS));
    }
  }

  // #region follow-call
  /** One command, retried on the leader while the failure is definite (nothing was done) and time remains. */
  async call(args: string[]): Promise<RespValue> {
    const deadline = Date.now() + this.#options.leaderWaitMs;
    for (;;) {
      try {
        return await this.#client.call(...args);
      } catch (err) {
        const refused = isDistkvError(err, 'CONNECTION_REFUSED');
        const noLeader = err instanceof ServerError && (err.replyCode === 'TRYAGAIN' || err.replyCode === 'NOT_LEADER');
        const lost = isDistkvError(err, 'CONNECTION_CLOSED');
        if (!this.#options.follow && !refused) throw err;
        if (!refused && !noLeader && !lost) throw err;
        const found = await this.#findLeader();
        // A lost connection is indefinite: the command may have been applied, so it is not sent again.
        if (lost || found === 'unreachable') throw err;
        if (found === 'no-leader') {
          // Some node answers, but none names a leader yet: definite, and the session goes on.
          throw new Error(
            `no leader within ${this.#options.leaderWaitMs} ms (an election may still be running); nothing was done, retry`,
          );
        }
        if (Date.now() >= deadline) throw err;
      }
    }
  }
  // #endregion follow-call

  close(): Promise<void> {
    return this.#client.close();
  }
}
