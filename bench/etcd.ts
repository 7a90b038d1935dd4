// A 3-member etcd cluster on loopback for `pnpm bench cluster` to measure
// beside distkv (Debian's etcd-server; scripts/setup.sh installs it). Every
// member fsyncs as etcd always does; data lives in a temporary directory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './lib.js';

export interface EtcdCluster {
  clientPorts: number[];
  pids: number[];
  /** The client port of the member that leads now. */
  leaderPort(): Promise<number>;
  stop(): void;
}

export async function startEtcd(root: string): Promise<EtcdCluster> {
  const names = ['e1', 'e2', 'e3'];
  const clientPorts = await Promise.all(names.map(() => freePort()));
  const peerPorts = await Promise.all(names.map(() => freePort()));
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');
  const children: ChildProcess[] = names.map((name, i) =>
    spawn(
      'etcd',
      // biome-ignore format: flag pairs
      ['--name', name, '--data-dir', join(root, name),
        '--listen-client-urls', `http://127.0.0.1:${clientPorts[i]}`, '--advertise-client-urls', `http://127.0.0.1:${clientPorts[i]}`,
        '--listen-peer-urls', `http://127.0.0.1:${peerPorts[i]}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'distkv-bench',
        '--log-level', 'error'],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    ),
  );
  const endpoints = clientPorts.map((p) => `http://127.0.0.1:${p}`).join(',');
  const leaderPort = async (): Promise<number> => {
    for (let i = 0; i < 300; i++) {
      const r = spawnSync('etcdctl', ['--endpoints', endpoints, 'endpoint', 'status', '-w', 'json'], {
        encoding: 'utf8',
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: 10_000,
      });
      if (r.status === 0) {
        const status = JSON.parse(r.stdout) as Array<{
          Endpoint: string;
          Status: { header: { member_id: number }; leader: number };
        }>;
        const leader = status.find((s) => s.Status.leader === s.Status.header.member_id && s.Status.leader !== 0);
        if (leader !== undefined) return Number(new URL(leader.Endpoint).port);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('etcd elected no leader within 60 s');
  };
  return {
    clientPorts,
    pids: children.map((c) => c.pid as number),
    leaderPort,
    stop: () => {
      for (const c of children) c.kill('SIGKILL');
    },
  };
}
