/**
 * Who may talk to the client port, and over what: the user table behind
 * AUTH (passwords compared in constant time, failures counted and limited
 * per connection), the read-only permission, TLS material, the rule that
 * refuses to expose an unauthenticated port, and the slow-loris timer.
 * See docs/security.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { defineLimits, type LimitsOf } from '@distkv/core';
import { netError, netLimitError } from './errors.js';
import type { ServerContext, SessionState } from './resp-commands.js';

/** `ro`: reads only (a write is answered `-NOPERM`); `rw`: everything. */
export type Permission = 'ro' | 'rw';

export interface UserSpec {
  name: string;
  password: string;
  permission: Permission;
}

const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const PASSWORD_BYTES_MAX = 4096;

// #region user-spec
/**
 * `--user name:rw:password` or `name:ro:password`. The password is the
 * rest of the text, so it may hold colons. `default` is the user of a
 * one-argument `AUTH password` (--requirepass); it may not be redefined here.
 */
export function parseUserSpec(text: string): UserSpec {
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (first < 0 || second < 0) {
    throw netError('USER_INVALID', `user "${text.split(':')[0]}": expected name:ro:password or name:rw:password`);
  }
  const name = text.slice(0, first);
  const permission = text.slice(first + 1, second);
  const password = text.slice(second + 1);
  const user = { name, password, permission: permission as Permission };
  validateUser(user);
  return user;
}
// #endregion user-spec

function validateUser(user: UserSpec): void {
  const fail = (why: string): never => {
    throw netError('USER_INVALID', `user "${user.name}": ${why}`);
  };
  if (!USER_NAME.test(user.name)) fail('a name is 1 to 64 of A-Z a-z 0-9 _ . @ -');
  if (user.permission !== 'ro' && user.permission !== 'rw') fail(`permission must be ro or rw, got "${user.permission}"`);
  if (user.password.length === 0) fail('the password is empty');
  if (Buffer.byteLength(user.password) > PASSWORD_BYTES_MAX) fail(`the password is longer than ${PASSWORD_BYTES_MAX} bytes`);
}

interface StoredUser {
  readonly digest: Buffer;
  readonly permission: Permission;
}

// #region user-table
/**
 * The users a server knows. Passwords are kept only as keyed digests
 * (HMAC-SHA256 under a key drawn at start), so every comparison is between
 * two 32-byte values, with `timingSafeEqual`: how long a check takes says
 * nothing about how much of a guess was right, nor about its length. An
 * unknown user is checked against a dummy digest, so it costs the same as
 * a known one with a wrong password.
 */
export class UserTable {
  readonly #key = randomBytes(32);
  readonly #users = new Map<string, StoredUser>();
  readonly #dummy: Buffer;
  /** Failed AUTH attempts (RESP, line protocol, HTTP Basic), for INFO and metrics. */
  authFailures = 0;
  /** Commands refused with NOPERM. */
  permissionDenials = 0;
  /** Called on every failed attempt (metrics counters hook in here). */
  onAuthFailure: (() => void) | undefined;

  constructor(users: readonly UserSpec[] = [], requirepass: string | null = null) {
    this.#dummy = this.#digest(randomBytes(16));
    if (requirepass !== null && requirepass !== '') {
      this.#users.set('default', { digest: this.#digest(Buffer.from(requirepass, 'utf8')), permission: 'rw' });
    }
    for (const user of users) {
      validateUser(user);
      if (this.#users.has(user.name)) {
        throw netError(
          'USER_INVALID',
          user.name === 'default'
            ? 'user "default" is the --requirepass user; name the others differently'
            : `user "${user.name}" is defined twice`,
        );
      }
      this.#users.set(user.name, { digest: this.#digest(Buffer.from(user.password, 'utf8')), permission: user.permission });
    }
  }

  /** True when any password is configured: a connection must AUTH first. */
  get required(): boolean {
    return this.#users.size > 0;
  }

  /** True when `AUTH password` (no user name) can succeed. */
  get hasDefault(): boolean {
    return this.#users.has('default');
  }

  get names(): string[] {
    return [...this.#users.keys()];
  }

  #digest(password: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(password).digest();
  }

  /** The user's permission when the password is right; undefined (and counted) otherwise. */
  verify(user: string, password: Buffer | string): Permission | undefined {
    const stored = this.#users.get(user);
    const given = this.#digest(typeof password === 'string' ? Buffer.from(password, 'utf8') : password);
    const match = timingSafeEqual(given, stored?.digest ?? this.#dummy);
    if (match && stored !== undefined) return stored.permission;
    this.authFailures++;
    this.onAuthFailure?.();
    return undefined;
  }
}
// #endregion user-table

// #region security-limits
export const securityLimitTable = {
  /**
   * A request whose first byte arrived but which is not complete after this
   * long is dropped with its connection (slow-loris); also the longest TLS
   * handshake. 0 means never.
   */
  requestTimeoutMs: { default: 30_000, min: 0, max: 2_147_483_647 },
  /** Failed AUTH attempts one connection may make; the next failure closes it. */
  authFailuresMax: { default: 10, min: 1, max: 1_000_000 },
} as const;
// #endregion security-limits

export type SecurityLimits = LimitsOf<typeof securityLimitTable>;
export const { defaults: defaultSecurityLimits, resolve: resolveSecurityLimits } = defineLimits(
  securityLimitTable,
  netLimitError,
);

/** PEM certificate chain and key, and the CA that peers' (and optionally clients') certificates must chain to. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer | undefined;
}

/** The client port's security settings, as `Server.listen` takes them. */
export interface ClientPortSecurityOptions {
  /** When set, a connection must AUTH before anything but AUTH, HELLO and QUIT. */
  requirepass?: string | null;
  /** Named users with a password and `ro`/`rw` permission (`AUTH user password`). */
  users?: readonly UserSpec[];
  /** Serve TLS instead of plain TCP (node:tls); clients authenticate with passwords, not certificates. */
  tls?: TlsMaterial | undefined;
  securityLimits?: Partial<SecurityLimits>;
  /** Allow a non-loopback `host` without any password (refused otherwise: see checkClientExposure). */
  unsafeNoAuth?: boolean;
}

/** Reads `--tls-cert`, `--tls-key` and `--tls-ca` files, with an error that names the file. */
export function readTlsMaterial(paths: {
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
}): TlsMaterial {
  if (paths.cert === undefined || paths.key === undefined) {
    throw netError('TLS_CONFIG_INVALID', 'TLS needs both a certificate (--tls-cert) and its key (--tls-key)');
  }
  const read = (what: string, path: string): Buffer => {
    try {
      const data = readFileSync(path);
      if (!data.includes('-----BEGIN')) throw new Error('not a PEM file');
      return data;
    } catch (err) {
      throw netError('TLS_CONFIG_INVALID', `${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const cert = read('--tls-cert', paths.cert);
  const key = read('--tls-key', paths.key);
  return { cert, key, ...(paths.ca === undefined ? {} : { ca: read('--tls-ca', paths.ca) }) };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

// #region exposure
/**
 * Redis's protected mode, made stricter: a client port reachable from
 * other machines must ask for a password, or the operator must say
 * `--unsafe-no-auth` (tests, or a network that is itself the boundary).
 * TLS alone is not enough: it hides the traffic, it does not say who the
 * client is.
 */
export function checkClientExposure(options: { host: string; authRequired: boolean; unsafeNoAuth: boolean }): void {
  if (options.unsafeNoAuth || options.authRequired || isLoopbackHost(options.host)) return;
  throw netError(
    'NET_UNSAFE_BIND',
    `refusing to listen for clients on ${options.host} without a password: anyone who can reach it could read and change every key. ` +
      'Set --requirepass or --user name:rw:password (and --tls-cert/--tls-key to encrypt), bind 127.0.0.1, ' +
      'or pass --unsafe-no-auth if the network itself is the boundary',
  );
}
// #endregion exposure

// #region partial-request-timer
/**
 * The slow-loris guard: armed while a connection holds part of a request
 * and waits for the rest, disarmed once nothing partial is left. A client
 * that starts a request and never finishes it is dropped after `ms`, even
 * if it trickles a byte now and then (an idle timeout would be reset by
 * each byte).
 */
export class PartialRequestTimer {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, onExpire: () => void) {
    this.#ms = ms;
    this.#onExpire = onExpire;
  }

  update(partial: boolean): void {
    if (this.#ms === 0) return;
    if (!partial) {
      this.stop();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#onExpire();
    }, this.#ms);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
// #endregion partial-request-timer

/** Redis's wording for a command the user may not run. */
export function noPermissionText(user: string, command: string): string {
  return `NOPERM User ${user} has no permissions to run the '${command}' command`;
}

/** `Authorization: Basic base64(user:password)`, or undefined. A missing user name means `default`. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon) === '' ? 'default' : decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// #region authenticate
/**
 * One AUTH attempt on a connection. `ok`: the session is now that user,
 * with its permission. `wrongpass`: refused and counted. `closed`: that was
 * the connection's `authFailuresMax`-th failure, so the caller answers and
 * closes it: an attacker gets a bounded number of guesses per TCP (and TLS)
 * handshake, which keeps a guessing loop slow without any timer.
 */
export function authenticate(
  session: SessionState,
  server: ServerContext,
  user: string,
  password: Buffer | string,
): 'ok' | 'wrongpass' | 'closed' {
  const permission = server.users.verify(user, password);
  if (permission !== undefined) {
    session.authenticated = true;
    session.user = user;
    session.readOnly = permission === 'ro';
    return 'ok';
  }
  session.authFailures++;
  return session.authFailures >= server.securityLimits.authFailuresMax ? 'closed' : 'wrongpass';
}
// #endregion authenticate

/** Said before closing a connection that used up its AUTH attempts. */
export const TOO_MANY_AUTH_FAILURES = 'too many failed AUTH attempts on this connection (authFailuresMax), closing';

/**
 * The line protocol's `AUTH password` or `AUTH user password`. A password
 * may hold spaces (the seed's `AUTH` took the rest of the line), so the
 * two-word form is used only when its first word names a configured user.
 */
export function lineAuthArguments(rest: Buffer, users: UserTable): { user: string; password: Buffer } {
  const space = rest.indexOf(32);
  if (space > 0) {
    const name = rest.toString('latin1', 0, space);
    if (name !== 'default' && users.names.includes(name)) return { user: name, password: rest.subarray(space + 1) };
  }
  return { user: 'default', password: rest };
}

/** Counts and words a refused write of a read-only user. */
export function refuseWrite(session: SessionState, server: ServerContext, command: string): string {
  server.users.permissionDenials++;
  return noPermissionText(session.user ?? 'default', command);
}
