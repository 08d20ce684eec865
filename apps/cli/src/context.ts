import { findConfig, type LoadedRegistry, loadRegistry, type RegistrySpec } from './config.js';
import type { Io } from './output.js';

/** Options every command that needs the registry accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly plugin?: readonly string[];
  readonly debug?: boolean;
}

export interface CommandContext {
  readonly io: Io;
  readonly globals: GlobalOptions;
  /** Load the built-in strategies and scenarios (programmatic callers and tests may turn it off). */
  readonly builtins: boolean;
  /** The command line as given (for the `--resume` hint after Ctrl-C). */
  readonly argv?: readonly string[];
}

export function registrySpec(ctx: CommandContext): RegistrySpec {
  return {
    cwd: ctx.io.cwd,
    config: findConfig(ctx.io.cwd, ctx.globals.config),
    plugins: [...(ctx.globals.plugin ?? [])],
    builtins: ctx.builtins,
  };
}

export async function loadContextRegistry(
  ctx: CommandContext,
): Promise<LoadedRegistry & { spec: RegistrySpec }> {
  const spec = registrySpec(ctx);
  return { ...(await loadRegistry(spec)), spec };
}
