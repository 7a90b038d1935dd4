// Preloaded into a server by `pnpm bench cluster --profile <dir>` (node
// --import): SIGUSR2 starts a CPU profile of this process, the next SIGUSR2
// stops it and writes <dir>/<pid>.cpuprofile. So a profile covers the
// measured window only, not start-up or warm-up. Never loaded otherwise.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

// biome-ignore lint/suspicious/noUndeclaredEnvVars: benchmarks do not run through turbo
const dir = process.env.BENCH_PROFILE_DIR;
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err === null && result !== undefined)
        writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
