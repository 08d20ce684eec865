/**
 * `node --import tsx tools/bench/thread-cpu.ts -- CMD ARGS...`: where a command's CPU time goes,
 * per thread (Linux only). Runs the command, samples `/proc/<pid>/task/<tid>/stat` every 20 ms and
 * prints each thread's last-seen user + system CPU seconds, largest first, with the wall time.
 *
 * Why (issue 13, `--jobs`): `process.cpuUsage()` and GNU time give one number for the process,
 * which adds the workers, the main thread and V8's background threads (concurrent compilation and
 * GC) together. Node 20 names every thread `node`, so a thread is told by its share: in a
 * `compare` the worker threads are the largest, the main thread is the one of ~0.3-1 s that exists
 * from the start, V8's platform threads are the four of similar size. A thread that exits between
 * two samples loses at most 20 ms of its CPU.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const sep = process.argv.indexOf('--');
const argv = sep >= 0 ? process.argv.slice(sep + 1) : process.argv.slice(2);
if (argv.length === 0) {
  process.stderr.write('usage: thread-cpu.ts -- CMD ARGS...\n');
  process.exit(2);
}
const t0 = performance.now();
const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
const last = new Map<string, number>();

function sample(pid: number): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      last.set(tid, (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND);
    } catch {
      // the thread ended since readdir
    }
  }
}

const timer = setInterval(() => sample(child.pid!), 20);
child.on('exit', (code) => {
  clearInterval(timer);
  const wall = (performance.now() - t0) / 1000;
  const cpu = [...last.values()].filter((c) => c > 0).sort((a, b) => b - a);
  const total = cpu.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `exit ${code} wall ${wall.toFixed(2)} s, cpu ${total.toFixed(2)} s; threads (s): ${cpu.map((c) => c.toFixed(2)).join(' ')}\n`,
  );
});
