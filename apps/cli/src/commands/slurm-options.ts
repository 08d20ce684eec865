/**
 * The flags of `tlblab slurm`, apart from the command (cli.ts registers every command without
 * loading its module: see the start-up note there).
 */
import type { Command } from 'commander';
import { collect } from '../flags.js';

/** The options of `tlblab slurm` (declared apart so cli.ts registers the command without loading slurm.ts). */
export function slurmOptions(cmd: Command): Command {
  return cmd
    .description(
      'write (and with --submit, submit) a Slurm job array that runs a sweep in shards, and its merge job',
    )
    .option('--shards <n>', 'number of shards = array tasks (required)')
    .option('-s, --strategies <list>', "strategy sets, comma-separated, or 'all' (as compare)")
    .option('-c, --scenarios <list>', "scenarios, comma-separated, or 'all' (as compare)")
    .option('-m, --machines <list>', "machine profiles, comma-separated, or 'all' (as compare)")
    .option('--mode <list>', 'translation modes, comma-separated (as compare)')
    .option('--harts <list>', 'hart counts, comma-separated (as compare)')
    .option('--seeds <n>', 'seeds per cell (as compare)')
    .option('--seed <s>', 'run this one seed per cell (as compare)')
    .option('--param <scenario.key=value>', 'scenario parameter (repeatable; as compare)', collect)
    .option('--kernel <key=value>', 'kernel setting for every cell (repeatable; as compare)', collect)
    .option('--explore', "explore each cell's choices instead of sampling seeds (as compare)")
    .option('--explore-budget <seconds>', 'per-cell exploration budget (as compare)')
    .option('--cell-timeout <seconds>', 'wall-clock watchdog per cell (as compare)')
    .option(
      '--limit <name=n>',
      'raise a limit in every shard: runs, harts, jobs, memory (as compare; repeatable)',
      collect,
    )
    .option('--dir <folder>', 'folder for the scripts, shard files and logs', 'tlblab-slurm')
    .option('--out <file>', 'merged results file (default <dir>/results.jsonl)')
    .option('--partition <name>', 'sbatch --partition')
    .option('--account <name>', 'sbatch --account')
    .option('--time <limit>', 'time limit per array task (sbatch --time)', '01:00:00')
    .option('--cpus-per-task <n>', 'cores per array task; compare runs that many workers', '4')
    .option('--mem-per-cpu <size>', 'memory per core (sbatch --mem-per-cpu)', '1G')
    .option('--sbatch <option>', "extra sbatch option for both jobs, e.g. '--qos=long' (repeatable)", collect)
    .option('--tlblab <command>', 'how the jobs start tlblab (default: the way this one was started)')
    .option('--submit', 'submit at once: the array, then the merge job after it');
}
