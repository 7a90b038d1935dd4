// Entry point of the `distkv` command (bin/distkv.mjs imports this file).
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
