/**
 * A throwaway certificate authority for tests and examples: one CA and a
 * certificate per name, each valid for 127.0.0.1 and localhost and usable
 * both as a TLS server and as a TLS client (mutual TLS between peers).
 * Made with the `openssl` command, the same commands docs/security.md shows.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** Path of the CA certificate (PEM), for --tls-ca, --cacert and `ca` options. */
  caPath: string;
  ca: Buffer;
  /** Paths and contents of each name's certificate and key. */
  certs: Map<string, { certPath: string; keyPath: string; cert: Buffer; key: Buffer }>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates `dir` with ca.crt/ca.key and `<name>.crt`/`<name>.key` for each name. `caName` makes a distinct CA. */
export function makeTestPki(dir: string, names: readonly string[], caName = 'distkv-test-ca'): TestPki {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${caName}`], dir);
  writeFileSync(
    join(dir, 'node.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  const certs: TestPki['certs'] = new Map();
  for (const name of names) {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(Date.now() + certs.size),
        '-days',
        '2',
        '-extfile',
        'node.ext',
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
    const certPath = join(dir, `${name}.crt`);
    const keyPath = join(dir, `${name}.key`);
    certs.set(name, { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) });
  }
  const caPath = join(dir, 'ca.crt');
  return { dir, caPath, ca: readFileSync(caPath), certs };
}
