/**
 * `TLBLAB_TIMING=1 tlblab ...`: where a command's wall time goes (issue 13, start-up). Each phase
 * prints one line on stderr — `tlblab timing: <ms since the process started> <phase> (cpu <ms>)`,
 * the CPU time being the process's so far (all threads: on a loaded machine it moves less than the
 * wall time) — and at exit the process's peak resident set (`process.resourceUsage().maxRSS`, main thread and workers
 * together). Off by default; the lines never reach stdout, so results stay byte-identical.
 *
 * Times are from the process's start (`performance.timeOrigin`, which Node sets before it loads
 * any module), so the first line also shows node's own boot. A worker thread has its own
 * `timeOrigin`; its marks are rebased on the main thread's through `TLBLAB_TIMING_ORIGIN`, which
 * the main thread sets before any worker starts (workers copy the environment when they start).
 */
import { isMainThread } from 'node:worker_threads';

const ON =
  process.env.TLBLAB_TIMING !== undefined &&
  process.env.TLBLAB_TIMING !== '' &&
  process.env.TLBLAB_TIMING !== '0';

/** The main thread's time origin (ms since the epoch, fractional). */
const ORIGIN = ON
  ? isMainThread
    ? performance.timeOrigin
    : Number(process.env.TLBLAB_TIMING_ORIGIN ?? performance.timeOrigin)
  : 0;

if (ON && isMainThread) {
  process.env.TLBLAB_TIMING_ORIGIN = String(ORIGIN);
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    process.stderr.write(
      `tlblab timing: ${since().toFixed(1)} exit (cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)}), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB\n`,
    );
  });
}

function since(): number {
  return performance.timeOrigin + performance.now() - ORIGIN;
}

/** Whether timing lines are printed (for callers that would compute something only for them). */
export const timingEnabled = ON;

/** Print one phase line when TLBLAB_TIMING is set; nothing otherwise. */
export function mark(phase: string): void {
  if (!ON) return;
  const cpu = process.cpuUsage();
  process.stderr.write(
    `tlblab timing: ${since().toFixed(1)} ${isMainThread ? '' : 'worker: '}${phase} (cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)})\n`,
  );
}
