import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A system tool some tests drive, and how to get it (scripts/setup.sh installs each of these as root). */
export interface SystemTool {
  name: string;
  present: () => boolean;
  install: string;
}

/** `name --version` runs and exits 0. */
export function hasCommand(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The tools the test suites need; one list, so each install command is written once. */
export const systemTools = {
  redisCli: { name: 'redis-cli', present: () => hasCommand('redis-cli'), install: 'apt-get install redis-tools' },
  redisBenchmark: {
    name: 'redis-benchmark',
    present: () => hasCommand('redis-benchmark'),
    install: 'apt-get install redis-tools',
  },
  redisServer: { name: 'redis-server', present: () => hasCommand('redis-server'), install: 'apt-get install redis-server' },
  openssl: { name: 'openssl', present: () => hasCommand('openssl'), install: 'apt-get install openssl' },
  chromium: { name: CHROMIUM_PATH, present: () => existsSync(CHROMIUM_PATH), install: 'apt-get install chromium' },
} as const satisfies Record<string, SystemTool>;

function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * Whether the tests that need `tool` must be skipped here, for
 * `describe.skipIf(missingTool(...))`. A tool that is present: false. A
 * missing tool under CI: throws, so the run fails and says what to install —
 * in CI a skip would pass silently without testing anything. Elsewhere:
 * true, after printing the install command.
 */
export function missingTool(tool: SystemTool): boolean {
  if (tool.present()) return false;
  const how = `${tool.name} is missing; install it with \`${tool.install}\` (scripts/setup.sh does, as root)`;
  if (inCi()) throw new Error(`CI=true and ${how}`);
  console.warn(`skipping the tests that need ${tool.name}: ${how}`);
  return true;
}
