/**
 * The client side of the admin API's members (`/v1/members`, membership,
 * chapter 5), shared by `distkv member`, `distkv server --join` and
 * `distkv cluster add-node/remove-node`: find an admin endpoint from the
 * addresses a user gives (client or admin ports, as `status` takes), find
 * the leader from the members it lists, and send it a change.
 */
import type { MemberInfo } from '@distkv/replication';
import { InvalidArgumentError } from 'commander';
import { clusterStatus, parseEndpoints } from './status.js';

/** One member, as `GET /v1/members` lists it (ReplicationNode.memberList, as JSON). */
export type MemberRow = MemberInfo;

/** `GET /v1/members`, and what a change answers (with its `index`). */
export interface MembersAnswer {
  index?: number;
  leader: string | null;
  term: number;
  confIndex: number;
  members: MemberRow[];
}

/** A refusal or failure, with the server's code when it answered one: what the commands print and exit 1 on. */
export class MembersError extends Error {
  constructor(
    message: string,
    /** The server's registered code (MEMBER_UNREACHABLE, CONF_CHANGE_PENDING, NOT_LEADER, …); undefined when no node answered. */
    readonly code?: string,
    /** The node that refused. */
    readonly by?: string,
  ) {
    super(message);
  }
}

// #region admin-auth
let authorization: string | undefined;

/**
 * The credentials every admin request of this process sends (`--auth
 * user:password`, HTTP Basic), for nodes started with `--user` or
 * `--requirepass`: changes need a read-write user, and a backup any user.
 */
export function useAdminAuth(userColonPassword: string | undefined): void {
  if (userColonPassword === undefined) return;
  authorization = `Basic ${Buffer.from(userColonPassword, 'utf8').toString('base64')}`;
}

/** A commander argParser for `--auth`: `user:password`, or exit 2 with one line. */
export function parseAuth(text: string): string {
  if (!/^[^:]+:.+$/.test(text)) throw new InvalidArgumentError('--auth must be user:password');
  return text;
}

/** fetch() with the admin credentials, if any. */
export function adminFetch(url: string, init: RequestInit = {}): Promise<Response> {
  if (authorization === undefined) return fetch(url, init);
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization } });
}
// #endregion admin-auth

/** How long one request to one endpoint may take before the next is tried. */
const LOOKUP_TIMEOUT_MS = 3_000;

/** `http://host:port` for an address as a node reports it (`host:port`, or already a URL). */
export function adminUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

async function getMembers(base: string): Promise<MembersAnswer> {
  const answer = await adminFetch(`${base}/v1/members`, { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS) });
  const body = (await answer.json()) as MembersAnswer & { error?: string; message?: string };
  if (!answer.ok || !Array.isArray(body.members))
    throw new MembersError(`${base}: ${body.error ?? answer.status}: ${body.message ?? ''}`, body.error);
  return body;
}

/**
 * The members as the first node that answers lists them, and that node's
 * admin URL. Each endpoint is tried as an admin endpoint first; if none
 * answers, they are taken as client ports and each node's admin address is
 * learnt from INFO, as `status` does (which also reaches every voter they name).
 */
export async function findMembers(endpoints: string): Promise<{ from: string; answer: MembersAnswer }> {
  const parsed = parseEndpoints(endpoints);
  const tried: string[] = [];
  const tryAll = async (bases: string[]): Promise<{ from: string; answer: MembersAnswer } | undefined> => {
    for (const base of bases) {
      if (tried.includes(base)) continue;
      tried.push(base);
      try {
        return { from: base, answer: await getMembers(base) };
      } catch {
        // not an admin endpoint, or not up: the next one
      }
    }
    return undefined;
  };
  const direct = await tryAll(parsed.map((e) => `http://${e.host}:${e.port}`));
  if (direct !== undefined) return direct;
  const rows = await clusterStatus(parsed);
  // The endpoints' own nodes first, then the ones they named.
  const given = new Set(parsed.map((e) => `${e.host}:${e.port}`));
  const ordered = [...rows.filter((r) => given.has(r.client_addr)), ...rows.filter((r) => !given.has(r.client_addr))];
  const viaInfo = await tryAll(ordered.flatMap((r) => (r.http_addr === null ? [] : [adminUrl(r.http_addr)])));
  if (viaInfo !== undefined) return viaInfo;
  const reachable = rows.filter((r) => r.role !== 'unreachable');
  throw new MembersError(
    reachable.length === 0
      ? `no node answered at ${endpoints} (client or admin endpoints of a running member)`
      : `no admin endpoint answered (nodes ${reachable.map((r) => r.id).join(', ')} answered INFO; start them with --http-port)`,
  );
}

/** The leader's admin URL, from a members answer (undefined while no leader is known, or it has no admin address). */
export function leaderUrlOf(answer: MembersAnswer): string | undefined {
  const leader = answer.members.find((m) => m.id === answer.leader);
  return leader?.httpAddress ? adminUrl(leader.httpAddress) : undefined;
}

/**
 * The leader's members answer and admin URL, asking it directly (only the
 * leader knows each member's match and lag). While no leader is known
 * (an election), asks again until `deadline`.
 */
export async function findLeader(endpoints: string, deadline: number): Promise<{ url: string; answer: MembersAnswer }> {
  for (let attempt = 0; ; attempt++) {
    const { answer } = await findMembers(endpoints);
    const url = leaderUrlOf(answer);
    if (url !== undefined) {
      try {
        const fromLeader = await getMembers(url);
        // The leader's own word, unless it has just lost leadership: then ask again.
        if (fromLeader.members.some((m) => m.self && m.id === fromLeader.leader)) return { url, answer: fromLeader };
      } catch {
        // it went away: ask again
      }
    }
    if (Date.now() + 250 > deadline) {
      throw new MembersError(
        answer.leader === null
          ? 'no leader is known (an election may be under way); try again shortly'
          : `the leader ${answer.leader} has no admin endpoint that answers (start it with --http-port)`,
        undefined,
      );
    }
    await sleep(Math.min(1_000, 100 * 2 ** attempt));
  }
}

/** Ids in order, n2 before n10. */
export function byId(a: { id: string }, b: { id: string }): number {
  return a.id.localeCompare(b.id, 'en', { numeric: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ChangeRequest {
  method: 'POST' | 'DELETE';
  /** Under /v1/members: '' (add), `/<id>` (remove) or `/<id>/promote`. */
  path: string;
  body?: Record<string, unknown>;
}

/**
 * Sends one membership change to the leader and resolves with its answer
 * once it committed. A leader that lost its leadership meanwhile (421
 * NOT_LEADER) is looked up again, until `timeoutMs` has passed. Any other
 * refusal is a MembersError with the server's code and message.
 */
export async function changeMembers(
  endpoints: string,
  change: ChangeRequest,
  timeoutMs: number,
): Promise<{ leader: string; answer: MembersAnswer }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { url, answer: before } = await findLeader(endpoints, deadline);
    const leader = before.leader as string;
    let response: Response;
    try {
      response = await adminFetch(`${url}/v1/members${change.path}`, {
        method: change.method,
        headers: change.body === undefined ? {} : { 'content-type': 'application/json' },
        ...(change.body === undefined ? {} : { body: JSON.stringify(change.body) }),
        signal: AbortSignal.timeout(Math.max(1_000, deadline - Date.now()) + 5_000),
      });
    } catch (err) {
      throw new MembersError(`the leader ${leader} (${url}) did not answer: ${(err as Error).message}`, undefined, leader);
    }
    const body = (await response.json().catch(() => ({}))) as MembersAnswer & { error?: string; message?: string };
    if (response.ok) return { leader, answer: body };
    if (body.error === 'NOT_LEADER' && Date.now() < deadline) {
      await sleep(200);
      continue;
    }
    throw new MembersError(
      `${leader} refused: ${body.error ?? `HTTP ${response.status}`}: ${body.message ?? ''}`.trimEnd(),
      body.error,
      leader,
    );
  }
}
