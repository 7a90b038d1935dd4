/**
 * Where each voter can be reached by clients and admins, and when each was
 * last heard. A node tells its own addresses to every peer in a hello (on
 * each new connection, and now and then again) and learns theirs from
 * their hellos, so INFO on any node can name the leader's client address
 * and every member's (`distkv status`). Only members are recorded: a hello
 * is a peer's word about itself, and a stranger's would grow these maps.
 */

import { performance } from 'node:perf_hooks';
import type { NodeId } from '../types.js';
import { type ControlFrame, encodeControl } from './control-frames.js';

/** Milliseconds between repeated hellos. */
const HELLO_EVERY_MS = 1_000;

/** The part of the transport the address book uses. */
export interface HelloSender {
  setHello(frame: Buffer): void;
  sendControl(to: NodeId, frame: Buffer): boolean;
}

export class AddressBook {
  readonly #self: NodeId;
  /** The members in force, read each time: they change with membership. */
  readonly #members: () => readonly NodeId[];
  readonly #transport: HelloSender;
  readonly #helloEveryTicks: number;
  #ticks = 0;
  /** Client addresses by node id: our own, and each peer's from its hello. */
  readonly #clientAddresses = new Map<string, string>();
  /** Admin HTTP addresses by node id, the same way (empty: the node has none, or has not said). */
  readonly #httpAddresses = new Map<string, string>();
  /** When (performance.now()) a Raft message last arrived from each peer. */
  readonly #lastHeard = new Map<string, number>();

  constructor(self: NodeId, members: () => readonly NodeId[], transport: HelloSender, tickMs: number) {
    this.#self = self;
    this.#members = members;
    this.#transport = transport;
    this.#helloEveryTicks = Math.max(1, Math.round(HELLO_EVERY_MS / tickMs));
  }

  clientAddress(id: string): string | undefined {
    return this.#clientAddresses.get(id);
  }

  httpAddress(id: string): string | undefined {
    return this.#httpAddresses.get(id);
  }

  /** Sets our own client address and tells every peer at once. */
  setClientAddress(address: string): void {
    this.#clientAddresses.set(this.#self, address);
    this.#announce();
  }

  /** Sets our own admin HTTP address and tells every peer at once. */
  setHttpAddress(address: string): void {
    this.#httpAddresses.set(this.#self, address);
    this.#announce();
  }

  /** The admin HTTP addresses the peers told us in their hellos (for the dashboard). */
  peerHttpAddresses(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [id, address] of this.#httpAddresses) if (id !== this.#self && address !== '') out.set(id, address);
    return out;
  }

  onHello(f: Extract<ControlFrame, { type: 'hello' }>): void {
    if (!this.#members().includes(f.id as NodeId) || f.id === this.#self) return;
    this.#clientAddresses.set(f.id, f.clientAddress);
    this.#httpAddresses.set(f.id, f.httpAddress);
  }

  /** A Raft message arrived from `from`. Members only: the maps stay as small as the configuration. */
  heard(from: NodeId): void {
    const members = this.#members();
    if (!members.includes(from)) return;
    this.#lastHeard.set(from, performance.now());
    if (this.#lastHeard.size > members.length) this.#forgetFormer(members);
  }

  /** A node that left is forgotten once a newer member is heard: the maps never outgrow the members. */
  #forgetFormer(members: readonly NodeId[]): void {
    for (const map of [this.#lastHeard, this.#clientAddresses, this.#httpAddresses]) {
      for (const id of [...map.keys()]) if (id !== this.#self && !members.includes(id as NodeId)) map.delete(id);
    }
  }

  /** Milliseconds since a Raft message came from `id`, or undefined if none ever did. */
  sinceHeardMs(id: string): number | undefined {
    const at = this.#lastHeard.get(id);
    return at === undefined ? undefined : Math.max(0, Math.round(performance.now() - at));
  }

  /**
   * Called once per timer tick. The hello goes out on every new connection;
   * repeating it now and then also reaches a peer whose node was not
   * listening for it yet.
   */
  tick(): void {
    if (++this.#ticks % this.#helloEveryTicks === 0) this.#sendHello();
  }

  #hello(): Buffer | undefined {
    const clientAddress = this.#clientAddresses.get(this.#self);
    if (clientAddress === undefined) return undefined;
    return encodeControl({
      type: 'hello',
      id: this.#self,
      clientAddress,
      httpAddress: this.#httpAddresses.get(this.#self) ?? '',
    });
  }

  #announce(): void {
    const hello = this.#hello();
    if (hello === undefined) return;
    this.#transport.setHello(hello);
    this.#sendHello();
  }

  #sendHello(): void {
    const hello = this.#hello();
    if (hello === undefined) return;
    for (const id of this.#members()) if (id !== this.#self) this.#transport.sendControl(id, hello);
  }
}
