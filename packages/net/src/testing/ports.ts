import { createServer } from 'node:net';

/** Ports handed out lie in [PORT_LOW, PORT_HIGH]: below Linux's ephemeral range (32768+). */
const PORT_LOW = 20_000;
const PORT_HIGH = 32_000;
const PROBES_MAX = 200;

let nextPort = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));

/**
 * A port that was free a moment ago on 127.0.0.1, for the one case port 0
 * cannot serve: a port a child process must be told before it starts (a
 * peer port that the other nodes' `--peers` name, or a port a restarted node
 * must come back on). Anything that can bind port 0 and report the port
 * back should do that instead: between this probe and the child's bind,
 * another process may take the port.
 *
 * With `offsets`, a base port such that base + each offset is free (a rule
 * such as `cluster up`'s client, peer and HTTP ports, or admin port = peer
 * port + 1000). The ports lie below the ephemeral range, so an outgoing
 * connection (a peer's reconnect) never steals one, and bases are handed
 * out in turn, so two calls in this process never return the same base.
 */
export async function reservePort(offsets: readonly number[] = [0]): Promise<number> {
  const offsetMax = Math.max(0, ...offsets);
  if (offsets.some((o) => !Number.isInteger(o) || o < 0) || offsetMax > (PORT_HIGH - PORT_LOW) / 2) {
    throw new RangeError(`offsets must be integers in 0..${(PORT_HIGH - PORT_LOW) / 2}, not ${offsets.join(', ')}`);
  }
  for (let probe = 0; probe < PROBES_MAX; probe++) {
    const base = nextPort;
    nextPort = nextPort + 1 + offsetMax > PORT_HIGH ? PORT_LOW : nextPort + 1;
    if (base + offsetMax > PORT_HIGH) continue;
    let free = true;
    for (const offset of offsets) if (!(await bindable(base + offset))) free = false;
    if (free) return base;
  }
  throw new Error(`no free port (offsets ${offsets.join(', ')}) in ${PROBES_MAX} probes of ${PORT_LOW}-${PORT_HIGH}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
