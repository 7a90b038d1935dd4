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
 * The ports lie below the ephemeral range, so an outgoing connection (a
 * peer's reconnect) never steals one, and they are handed out in turn, so
 * two calls in this process never return the same port.
 */
export async function reservePort(): Promise<number> {
  for (let probe = 0; probe < PROBES_MAX; probe++) {
    const port = nextPort;
    nextPort = nextPort >= PORT_HIGH ? PORT_LOW : nextPort + 1;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${PROBES_MAX} probes of ${PORT_LOW}-${PORT_HIGH}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
