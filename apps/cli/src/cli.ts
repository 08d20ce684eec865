/**
 * The command tree (architecture.md, "Command line"). `main(argv, io)` returns the exit code:
 * 0 success, 1 an incorrect verdict with `--fail-on incorrect`, 2 bad input, 3 an inconclusive
 * verdict (a budget ran out) and no incorrect one with `--fail-on incorrect` — one line on stderr
 * naming the problem (and the close match), never a stack trace unless `--debug`.
 *
 * Start-up (issue 13): this module loads only commander and a few small helpers. Each command's
 * module — and through it the registry, core, zod, piscina, the report renderer, kernel-trace —
 * is imported inside that command's action, so `tlblab --version` and `--help` load none of them
 * and `tlblab run` never loads the report renderer.
 */
import { Command, CommanderError } from 'commander';
import { slurmOptions } from './commands/slurm-options.js';
import type { CommandContext, GlobalOptions } from './context.js';
import { oneLine, UsageError } from './errors.js';
import { collect } from './flags.js';
import { clean, cleanLines, type Io } from './output.js';
import { TOOL_VERSION } from './version.js';

export interface MainOptions {
  /** Load the built-in strategies and scenarios (default true). */
  readonly builtins?: boolean;
}

/** Turn commander's message (`error: unknown option '--jbos'\n(Did you mean --jobs?)`) into one line. */
function commanderLine(message: string): string {
  const text = message.replace(/^error:\s*/i, '').trim();
  const m = /^(.*?)\s*\(Did you mean (.+?)\?\)\s*$/s.exec(text);
  if (m) return clean(`${m[1]!.replace(/\s+/g, ' ')} — did you mean '${m[2]!.trim()}'?`);
  return clean(text.replace(/\s+/g, ' '));
}

export async function main(argv: readonly string[], io: Io, options: MainOptions = {}): Promise<number> {
  let debug = argv.includes('--debug');
  let exitCode = 0;
  const program = new Command('tlblab');
  const ctxOf = (cmd: Command): CommandContext => {
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    debug = globals.debug === true;
    return { io, globals, builtins: options.builtins !== false, argv };
  };
  const need = (opts: Record<string, unknown>, key: string, flag: string) => {
    if (opts[key] === undefined) throw new UsageError(`missing ${flag}`);
  };
  const done = (code: number) => {
    exitCode = code;
  };

  program
    .description(
      'Simulate RISC-V harts, TLBs and Linux kernel mapping paths to judge kernel TLB-maintenance strategies.',
    )
    .version(TOOL_VERSION, '-V, --version', 'print the version')
    .option('--config <file>', 'config file (default: tlblab.config.{ts,mts,mjs,js,json} from here upward)')
    .option('--plugin <package-or-path>', 'load a strategy or scenario package (repeatable)', collect)
    .option(
      '--limit <name=n>',
      'raise a limit (repeatable): runs (seeds x cells), harts, jobs, memory (MB per worker), import (seconds)',
      collect,
    )
    .option('--debug', 'print stack traces of errors')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Errors are printed by `main` as one line.
      outputError: () => {},
    });

  program
    .command('list')
    .description('list the strategies (and named sets), scenarios or machines')
    .argument('<what>', 'strategies | scenarios | machines')
    .option('--json', 'print one JSON document')
    .action(async (what: string, opts, cmd: Command) =>
      done(await (await import('./commands/list.js')).listCommand(ctxOf(cmd), what, opts)),
    );

  program
    .command('run')
    .description('run one cell (strategy set x scenario x machine x harts) over N seeds')
    .option('-s, --strategy <names>', "a strategy (on the baseline), a named set, or members 'a,b' in order")
    .option('-c, --scenario <id>', 'the scenario')
    .option('-m, --machine <name>', 'the machine profile', 'caches-invalid')
    .option('--mode <mode>', 'translation mode: sv32 | sv39 | sv48 | sv57 (default sv39)')
    .option('--harts <n>', 'number of harts (default: max(2, the scenario minimum))')
    .option('--seeds <n>', 'number of seeds, from 0 (default 20)')
    .option('--seed <s>', 'run this one seed')
    .option('--param <key=value>', 'scenario parameter (repeatable; JSON values)', collect)
    .option('--kernel <key=value>', 'kernel setting, e.g. lazyMaxPages=0 (repeatable; validated)', collect)
    .option('--json', 'print the cell record as one JSON document')
    .option(
      '--trace <file>',
      'write the trace of the first failing seed (or of --seed): .jsonl = JSON Lines, else text',
    )
    .option('--fail-on <what>', "exit 1 when the verdict is 'incorrect', 3 when 'inconclusive'")
    .option(
      '--cell-timeout <seconds>',
      'wall-clock watchdog of the cell, a backstop (default 600 s + 0.1 s per seed)',
    )
    .option(
      '--limit <name=n>',
      'raise a limit: runs (seeds x cells), harts, jobs, memory (MB per worker)',
      collect,
    )
    .action(async (opts, cmd: Command) => {
      need(opts, 'strategy', '-s, --strategy <names>');
      need(opts, 'scenario', '-c, --scenario <id>');
      done(await (await import('./commands/run.js')).runCommand(ctxOf(cmd), opts));
    });

  program
    .command('compare')
    .description('sweep strategy sets x scenarios x machines x hart counts x seeds into a results document')
    .option('-s, --strategies <list>', "strategy sets, comma-separated, or 'all'")
    .option('-c, --scenarios <list>', "scenarios, comma-separated, or 'all'")
    .option('-m, --machines <list>', "machine profiles, comma-separated, or 'all'")
    .option('--mode <list>', 'translation modes, comma-separated (default sv39)')
    .option('--harts <list>', 'hart counts, comma-separated (default 1,2,4)')
    .option('--seeds <n>', 'seeds per cell, from 0 (default 10)')
    .option('--seed <s>', 'run this one seed per cell')
    .option('--param <scenario.key=value>', 'scenario parameter (repeatable; JSON values)', collect)
    .option('--kernel <key=value>', 'kernel setting, e.g. lazyMaxPages=0 (repeatable; validated)', collect)
    .option(
      '--jobs <n>',
      'worker threads (default: built-in cells start in this thread and move to one worker per core only when what is left is long enough to pay for them; with a config, a plugin, --cell-timeout, --explore or --limit memory: one per core)',
    )
    .option(
      '--shard <i/n>',
      'run the deterministic slice i of n (a fixed hash of each cell index picks its shard)',
    )
    .option('--resume', 'continue an interrupted results file without redoing finished cells')
    .option('--out <file>', 'results file (JSON Lines; required)')
    .option(
      '--explore',
      "explore each cell's choices within the default bound instead of sampling seeds; a cell whose budget runs out is sampled over --seeds, marked as a fallback",
    )
    .option(
      '--explore-budget <seconds>',
      'per-cell exploration budget (default 30), as an execution count at 1000 executions/s so the result is deterministic',
    )
    .option(
      '--cell-timeout <seconds>',
      'wall-clock watchdog per cell, a backstop (default 600 s + 0.1 s per seed, + 10x the explore budget)',
    )
    .option(
      '--limit <name=n>',
      'raise a limit: runs (seeds x cells), harts, jobs, memory (MB per worker)',
      collect,
    )
    .option('--json', 'print a JSON summary instead of the text one')
    .option('--fail-on <what>', "exit 1 when any verdict is 'incorrect', else 3 when any is 'inconclusive'")
    .action(async (opts, cmd: Command) => {
      need(opts, 'out', '--out <file>');
      done(await (await import('./commands/compare.js')).compareCommand(ctxOf(cmd), opts));
    });

  program
    .command('explore')
    .description('enumerate one cell within a bound: a proof, or the shortest counterexample (issue 17)')
    .option('-s, --strategy <names>', "a strategy (on the baseline), a named set, or members 'a,b' in order")
    .option('-c, --scenario <id>', 'the scenario')
    .option('-m, --machine <name>', 'the machine profile', 'caches-invalid')
    .option('--mode <mode>', 'translation mode (default sv39)')
    .option('--harts <n>', 'number of harts (default: max(2, the scenario minimum))')
    .option('--param <key=value>', 'scenario parameter (repeatable; JSON values)', collect)
    .option(
      '--kernel <key=value>',
      'kernel setting, e.g. stepLimit=100000 (repeatable; validated; recorded for replay)',
      collect,
    )
    .option(
      '--bound <spec>',
      'budgets over the default, e.g. schedule=2,speculate=1,stale-read=1,total=3,depth=200',
    )
    .option('--no-deepen', 'enumerate the full bound at once (no iterative deepening on cost)')
    .option('--no-reduce', 'full enumeration: no reductions (docs/explore.md, Reductions)')
    .option(
      '--exact-size',
      "explore only the cell's own instance (no deepening from the scenario's smallest sizes)",
    )
    .option(
      '--shorten <n>',
      'executions spent searching for a shorter counterexample (default 20000; 0: off)',
    )
    .option('--time-limit <seconds>', 'stop cleanly after this long, with what was proved')
    .option('--memory-limit <MiB>', 'stop cleanly when the resident set exceeds this')
    .option('--max-executions <n>', 'stop cleanly after this many executions')
    .option(
      '--jobs <n>',
      'worker threads exploring each level (default: the cores, at most 8; 1: this thread)',
    )
    .option('--out <file>', 'write a results document (replayable with tlblab replay)')
    .option('--timeline [file]', "print (or write) the counterexample's step-by-step trace")
    .option('--progress', 'progress on stderr even when it is not a terminal')
    .option('--json', 'print one JSON document')
    .option('--fail-on <what>', "exit 1 when the verdict is 'incorrect', 3 when 'inconclusive'")
    .action(async (opts, cmd: Command) => {
      need(opts, 'strategy', '-s, --strategy <names>');
      need(opts, 'scenario', '-c, --scenario <id>');
      done(await (await import('./commands/explore.js')).exploreCommand(ctxOf(cmd), opts));
    });

  program
    .command('merge')
    .description('join shard files into the document one unsharded run produces')
    .argument('<files...>', 'shard results files')
    .option('--out <file>', "merged results file ('-' for stdout; required)")
    .action(async (files: string[], opts, cmd: Command) => {
      need(opts, 'out', '--out <file>');
      done(await (await import('./commands/merge.js')).mergeCommand(ctxOf(cmd), files, opts));
    });

  slurmOptions(program.command('slurm')).action(async (opts, cmd: Command) =>
    done(await (await import('./commands/slurm.js')).slurmCommand(ctxOf(cmd), opts)),
  );

  program
    .command('report')
    .description('render a results document (via @tlblab/report)')
    .argument('<results>', 'results file')
    .option('--format <format>', 'text | md | csv | json | html', 'text')
    .option('--out <file>', "output file, or '-' for stdout", '-')
    .option('--full', 'text: everything, not the mail-sized digest')
    .option('--strategy <list>', 'only these strategy sets (comma-separated)')
    .option('--scenario <list>', 'only these scenarios')
    .option('--machine <list>', 'only these machines')
    .option('--mode <list>', 'only these modes')
    .option('--harts <list>', 'only these hart counts')
    .option('--partial', 'render a document that lacks cells of its plan or repeats one (says so)')
    .action(async (results: string, opts, cmd: Command) =>
      done(await (await import('./commands/report.js')).reportCommand(ctxOf(cmd), results, opts)),
    );

  program
    .command('diff')
    .description('what changed between two results documents: verdicts, and costs beyond a noise threshold')
    .argument('<before>', 'results file before the change')
    .argument('<after>', 'results file after the change')
    .option('--threshold <pct>', 'relative cost change counted as noise (default 5%)')
    .option('--format <format>', 'text | md | json', 'text')
    .option('--fail-on <what>', "exit 1 on any 'regression'")
    .option('--overlap', 'compare the cells both documents have when their plans differ')
    .option('--partial', 'compare documents that lack cells of their plan or repeat one (says so)')
    .option('--out <file>', "output file, or '-' for stdout", '-')
    .action(async (before: string, after: string, opts, cmd: Command) =>
      done(await (await import('./commands/diff.js')).diffCommand(ctxOf(cmd), before, after, opts)),
    );

  program
    .command('replay')
    .description("re-run a cell's first failing seed exactly, from the results file")
    .argument('<results>', 'results file')
    .option('--cell <id>', 'cell id (strategy|scenario|machine|mode|hN)')
    .option('--trace <file>', 'write the trace there (.jsonl = JSON Lines, else text) instead of stdout')
    .option('--partial', 'accept a document that lacks cells of its plan or repeats one')
    .option('--cell-timeout <seconds>', 'wall-clock watchdog of the replay (default 600)')
    .action(async (results: string, opts, cmd: Command) => {
      need(opts, 'cell', '--cell <id>');
      done(await (await import('./commands/replay.js')).replayCommand(ctxOf(cmd), results, opts));
    });

  program
    .command('import-trace')
    .description("turn a real kernel's ftrace log (pnpm capture) into a workload file")
    .argument('<log>', 'ftrace text log (trace.txt or trace.txt.gz)')
    .option('--out <file>', "workload JSON file ('-' for stdout; required)")
    .option('--strict', 'an event the importer does not know is an error (exit 2)')
    .action(async (log: string, opts, cmd: Command) => {
      need(opts, 'out', '--out <file>');
      done(await (await import('./commands/import-trace.js')).importTraceCommand(ctxOf(cmd), log, opts));
    });

  program
    .command('new')
    .description('scaffold a plugin package (builds and passes its tests at once)')
    .argument('<kind>', 'strategy | scenario')
    .argument('<name>', 'kebab-case name')
    .option('--dir <folder>', 'folder to create (default <kind>-<name>)')
    .option('--package-name <name>', 'npm package name (default tlblab-<kind>-<name>)')
    .action(async (kind: string, name: string, opts, cmd: Command) =>
      done(await (await import('./commands/new.js')).newCommand(ctxOf(cmd), kind, name, opts)),
    );

  program
    .command('describe')
    .description("show a scenario's parameters, a strategy's members and options, or a machine's fields")
    .argument('<kind>', 'scenario | strategy | machine')
    .argument('<name>', 'its name')
    .option('--json', 'print one JSON document')
    .action(async (kind: string, name: string, opts, cmd: Command) =>
      done(await (await import('./commands/describe.js')).describeCommand(ctxOf(cmd), kind, name, opts)),
    );

  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash | zsh | fish')
    .action(async (shell: string) =>
      done((await import('./commands/completion.js')).completionCommand(io, program, shell)),
    );

  try {
    if (argv.length === 0) {
      io.stderr.write(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      ) {
        return e.exitCode === 0 ? 0 : 2;
      }
      io.stderr.write(`tlblab: ${commanderLine(e.message)}\n`);
      return 2;
    }
    if (debug && e instanceof Error && e.stack) {
      io.stderr.write(`${cleanLines(e.stack)}\n`);
    } else if (e instanceof UsageError) {
      io.stderr.write(`tlblab: ${oneLine(e)}\n`);
    } else {
      io.stderr.write(`tlblab: ${oneLine(e)} (internal error; --debug prints the stack)\n`);
    }
    return 2;
  }
}
