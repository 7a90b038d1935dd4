/**
 * The peer port's security settings, as configured and as checked. Two
 * mechanisms, usable together:
 *
 * - mutual TLS (`tls`): both ends present a certificate signed by the
 *   cluster's CA (`ca`), so the link is encrypted and both ends are known;
 * - a shared cluster secret (`clusterSecret`): an HMAC challenge-response
 *   (peer-handshake.ts) run on every new connection, in both directions.
 *
 * Resolved once, when the transport is built, so a bad certificate or a
 * short secret fails at startup and not at the first connection. The
 * sockets that enforce these settings are in peer-auth.ts.
 * See docs/security.md.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { TlsMaterial } from '@distkv/net';
import { replicationError } from '../errors.js';

export interface PeerSecurity {
  /** This node's certificate and key, and the CA every peer's certificate must chain to (required). */
  tls?: TlsMaterial | undefined;
  /** Shared by every node of the cluster; at least 16 bytes. */
  clusterSecret?: string | undefined;
  /** Names the cluster; nodes with different ids refuse each other. Default `distkv`. */
  clusterId?: string | undefined;
}

export interface ResolvedPeerSecurity {
  readonly tls: (TlsMaterial & { ca: Buffer; caCert: X509Certificate; context: SecureContext }) | undefined;
  readonly secret: Buffer | undefined;
  readonly clusterId: string;
  /** A handshake runs on every connection (a secret or TLS is configured). */
  readonly handshake: boolean;
}

export const CLUSTER_SECRET_BYTES_MIN = 16;

export function resolvePeerSecurity(security: PeerSecurity = {}): ResolvedPeerSecurity {
  const clusterId = security.clusterId ?? 'distkv';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(clusterId)) {
    throw replicationError('CONFIG_INVALID', `cluster id "${clusterId}": 1 to 64 of A-Z a-z 0-9 _ . -`);
  }
  const secret = security.clusterSecret;
  if (secret !== undefined && Buffer.byteLength(secret) < CLUSTER_SECRET_BYTES_MIN) {
    throw replicationError(
      'CONFIG_INVALID',
      `the cluster secret has ${Buffer.byteLength(secret)} bytes; use at least ${CLUSTER_SECRET_BYTES_MIN} (e.g. openssl rand -hex 32)`,
    );
  }
  let tls: ResolvedPeerSecurity['tls'];
  if (security.tls !== undefined) {
    const { cert, key, ca } = security.tls;
    if (ca === undefined) {
      throw replicationError('CONFIG_INVALID', 'TLS on the peer port is mutual: give the CA that signs every node (--tls-ca)');
    }
    let context: SecureContext;
    let caCert: X509Certificate;
    try {
      context = createSecureContext({ cert, key, ca });
      caCert = new X509Certificate(ca);
    } catch (err) {
      throw replicationError('CONFIG_INVALID', `peer TLS: ${(err as Error).message}`);
    }
    tls = { cert, key, ca, caCert, context };
  }
  return {
    tls,
    secret: secret === undefined ? undefined : Buffer.from(secret, 'utf8'),
    clusterId,
    handshake: tls !== undefined || secret !== undefined,
  };
}
