// The seed's first demo, in distkv: put hello=world, read it, delete it,
// show it is gone. Run: node --loader ts-node/esm examples/hello.ts
import { commands, decodeCommand, encodeCommand, Store } from '@distkv/core';

// #region hello
const store = new Store();

store.put('hello', 'world');
console.log(`GET hello: ${store.getString('hello')}`);

if (store.del('hello')) console.log('deleted hello');
if (!store.has('hello')) console.log('hello not found after deletion');

// Every change is also a value: encode it, ship it, apply it elsewhere.
const bytes = encodeCommand(commands.put('greeting', 'hi there'));
const replica = new Store();
console.log(replica.apply(decodeCommand(bytes)));
console.log(`replica GET greeting: ${replica.getString('greeting')}`);

// Keys are kept in byte order, so prefix scans are cheap.
store.mput([
  ['user:2', 'bob'],
  ['user:1', 'ada'],
  ['task:1', 'write docs'],
]);
for (const [key, value] of store.scan({ prefix: 'user:' })) console.log(`${key} = ${value}`);
// #endregion hello
