/**
 * The peer handshake, pure: two state machines, one for each end of a new
 * peer connection, that turn the frames they receive into the frame to send
 * back and a verdict. No sockets and no timers here (peer-auth.ts carries
 * the frames and enforces the deadlines), so the protocol reads, and is
 * tested, as a conversation.
 *
 * With a cluster secret it is an HMAC challenge-response in both
 * directions, with fresh nonces and the cluster id bound in, so a node with
 * the wrong secret or of another cluster is refused, and the log of both
 * ends says why. The secret never crosses the wire, and a recorded
 * handshake cannot be replayed (the other side's nonce differs each time).
 * What it does not give without TLS: secrecy of the traffic, and
 * protection from an attacker on the path who takes over a connection after
 * its handshake. See docs/security.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResolvedPeerSecurity } from './peer-security.js';

// Handshake frames are control frames (first byte >= 0xf0) the driver never uses.
export const FRAME_AUTH_HELLO = 0xfa; // connector → acceptor: cluster id, nonce
export const FRAME_AUTH_CHALLENGE = 0xfb; // acceptor → connector: cluster id, nonce, proof
export const FRAME_AUTH_PROOF = 0xfc; // connector → acceptor: proof
export const FRAME_AUTH_OK = 0xfd; // acceptor → connector: accepted
export const FRAME_AUTH_FAIL = 0xfe; // either way: refused, and why
/** Handshake frames are small; a longer one is refused before it is parsed. */
export const AUTH_FRAME_BYTES_MAX = 1024;
const NONCE_BYTES = 32;
const VERSION = 1;

function frame(type: number, body: Record<string, unknown>): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body), 'utf8')]);
}

function parse(data: Buffer): { type: number; body: Record<string, unknown> } | undefined {
  if (data.length < 1 || data.length > AUTH_FRAME_BYTES_MAX) return undefined;
  try {
    const body: unknown = JSON.parse(data.toString('utf8', 1));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    return { type: data[0] as number, body: body as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

function hex(value: unknown, bytes: number): Buffer | undefined {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-f]+$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

// #region proof
/** HMAC-SHA256 under the secret of: version, role, cluster id, and both nonces in the order the role says. */
function proof(secret: Buffer, role: 'acceptor' | 'connector', clusterId: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', secret)
    .update(`distkv-peer-v${VERSION}\0${role}\0${clusterId}\0`)
    .update(first)
    .update(second)
    .digest();
}
// #endregion proof

function proofMatches(expected: Buffer, given: unknown): boolean {
  const bytes = hex(given, 32);
  return bytes !== undefined && timingSafeEqual(expected, bytes);
}

export type HandshakeStep =
  | { readonly state: 'pending'; readonly reply?: Buffer }
  | { readonly state: 'done'; readonly reply?: Buffer }
  | { readonly state: 'failed'; readonly reason: string; readonly reply?: Buffer };

const refuse = (reason: string, tell = reason): HandshakeStep => ({
  state: 'failed',
  reason,
  reply: frame(FRAME_AUTH_FAIL, { reason: tell }),
});

function remoteFailure(data: Buffer): string | undefined {
  const f = parse(data);
  if (f === undefined || f.type !== FRAME_AUTH_FAIL) return undefined;
  return typeof f.body.reason === 'string' ? f.body.reason.slice(0, 300) : 'no reason given';
}

// #region handshake
/** The side that opened the connection: hello, then answer the challenge, then wait for OK. */
export class ConnectorHandshake {
  readonly #security: ResolvedPeerSecurity;
  readonly #nonce = randomBytes(NONCE_BYTES);
  #state: 'challenge' | 'ok' | 'done' = 'challenge';

  constructor(security: ResolvedPeerSecurity) {
    this.#security = security;
  }

  hello(): Buffer {
    return frame(FRAME_AUTH_HELLO, { v: VERSION, cluster: this.#security.clusterId, nonce: this.#nonce.toString('hex') });
  }

  onFrame(data: Buffer): HandshakeStep {
    const refusedBy = remoteFailure(data);
    if (refusedBy !== undefined) return { state: 'failed', reason: `refused by the peer: ${refusedBy}` };
    const f = parse(data);
    const s = this.#security;
    if (this.#state === 'challenge' && f?.type === FRAME_AUTH_CHALLENGE) {
      if (f.body.cluster !== s.clusterId) {
        return refuse(`the peer belongs to cluster "${String(f.body.cluster).slice(0, 64)}", this node to "${s.clusterId}"`);
      }
      const theirs = hex(f.body.nonce, NONCE_BYTES);
      if (theirs === undefined) return refuse('the peer sent a malformed challenge');
      let mac = '';
      if (s.secret !== undefined) {
        if (!proofMatches(proof(s.secret, 'acceptor', s.clusterId, this.#nonce, theirs), f.body.proof)) {
          return refuse(
            'the peer does not know our cluster secret (wrong --cluster-secret?)',
            'your proof does not match this node’s cluster secret (wrong --cluster-secret?)',
          );
        }
        mac = proof(s.secret, 'connector', s.clusterId, theirs, this.#nonce).toString('hex');
      }
      this.#state = 'ok';
      return { state: 'pending', reply: frame(FRAME_AUTH_PROOF, { proof: mac }) };
    }
    if (this.#state === 'ok' && f?.type === FRAME_AUTH_OK) {
      this.#state = 'done';
      return { state: 'done' };
    }
    return refuse('the peer does not speak the distkv peer handshake (is --cluster-secret or TLS set on both?)');
  }
}

/** The side that accepted the connection: expect a hello, challenge it, check its proof. */
export class AcceptorHandshake {
  readonly #security: ResolvedPeerSecurity;
  readonly #nonce = randomBytes(NONCE_BYTES);
  #theirs: Buffer | undefined;

  constructor(security: ResolvedPeerSecurity) {
    this.#security = security;
  }

  onFrame(data: Buffer): HandshakeStep {
    const refusedBy = remoteFailure(data);
    if (refusedBy !== undefined) return { state: 'failed', reason: `refused by the peer: ${refusedBy}` };
    const f = parse(data);
    const s = this.#security;
    if (this.#theirs === undefined) {
      if (f?.type !== FRAME_AUTH_HELLO) {
        return refuse('the peer did not start the handshake (is --cluster-secret or TLS set on it?)');
      }
      if (f.body.v !== VERSION)
        return refuse(`the peer speaks handshake version ${String(f.body.v).slice(0, 16)}, not ${VERSION}`);
      if (f.body.cluster !== s.clusterId) {
        return refuse(`the peer belongs to cluster "${String(f.body.cluster).slice(0, 64)}", this node to "${s.clusterId}"`);
      }
      const theirs = hex(f.body.nonce, NONCE_BYTES);
      if (theirs === undefined) return refuse('the peer sent a malformed hello');
      this.#theirs = theirs;
      const mac = s.secret === undefined ? '' : proof(s.secret, 'acceptor', s.clusterId, theirs, this.#nonce).toString('hex');
      return {
        state: 'pending',
        reply: frame(FRAME_AUTH_CHALLENGE, { cluster: s.clusterId, nonce: this.#nonce.toString('hex'), proof: mac }),
      };
    }
    if (f?.type !== FRAME_AUTH_PROOF) return refuse('the peer did not answer the challenge');
    if (
      s.secret !== undefined &&
      !proofMatches(proof(s.secret, 'connector', s.clusterId, this.#nonce, this.#theirs), f.body.proof)
    ) {
      return refuse(
        'the peer does not know our cluster secret (wrong --cluster-secret?)',
        'your proof does not match this node’s cluster secret (wrong --cluster-secret?)',
      );
    }
    return { state: 'done', reply: frame(FRAME_AUTH_OK, {}) };
  }
}
// #endregion handshake
