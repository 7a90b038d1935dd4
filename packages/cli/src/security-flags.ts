/**
 * `distkv server`'s security settings (--user, --tls-*, --cluster-secret,
 * --cluster-id, --unsafe-no-auth) turned into the options of @distkv/net's
 * Server and @distkv/cluster's ClusterNode. See docs/security.md.
 */
import type { ClusterSecurityOptions } from '@distkv/cluster';
import { readTlsMaterial } from '@distkv/net';
import type { ServerConfig } from './config.js';

export function securityOf(config: ServerConfig): ClusterSecurityOptions {
  const tlsGiven = config.tlsCert !== undefined || config.tlsKey !== undefined || config.tlsCa !== undefined;
  return {
    ...(config.user === undefined ? {} : { users: config.user }),
    ...(tlsGiven ? { tls: readTlsMaterial({ cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa }) } : {}),
    ...(config.clusterSecret === undefined ? {} : { clusterSecret: config.clusterSecret }),
    ...(config.clusterId === undefined ? {} : { clusterId: config.clusterId }),
    ...(config.unsafeNoAuth === true ? { unsafeNoAuth: true } : {}),
  };
}

/** Errors that mean "this configuration is refused": reported as one line, not a stack trace. */
export const startRefusals: ReadonlySet<string> = new Set([
  'NET_UNSAFE_BIND',
  'CLUSTER_UNSAFE_BIND',
  'TLS_CONFIG_INVALID',
  'USER_INVALID',
  'CONFIG_INVALID',
  'CLUSTER_CONFIG_INVALID',
  'DATA_DIR_LOCKED',
]);
