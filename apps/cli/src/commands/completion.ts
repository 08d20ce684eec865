/**
 * `tlblab completion bash|zsh|fish`: a completion script generated from the command tree, so it
 * never falls behind the commands and flags. Install: `tlblab completion bash > ~/.local/share/
 * bash-completion/completions/tlblab`, `tlblab completion zsh > "${fpath[1]}/_tlblab"`,
 * `tlblab completion fish > ~/.config/fish/completions/tlblab.fish`.
 */
import type { Command } from 'commander';
import { unknownName } from '../errors.js';
import type { Io } from '../output.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

interface Tree {
  readonly commands: readonly { name: string; description: string; flags: string[] }[];
  readonly globals: readonly string[];
}

function longFlags(cmd: Command): string[] {
  return cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === 'string'));
}

function treeOf(program: Command): Tree {
  return {
    commands: program.commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      flags: [...longFlags(c), '--help'],
    })),
    globals: [...longFlags(program), '--help'],
  };
}

function bash(t: Tree): string {
  const cases = t.commands
    .map((c) => `    ${c.name}) opts="${c.flags.join(' ')} ${t.globals.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for tlblab (tlblab completion bash)
_tlblab() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${t.commands.map((c) => c.name).join(' ')} ${t.globals.join(' ')}" -- "$cur") )
    return
  fi
  case "$cmd" in
${cases}
    *) opts="${t.globals.join(' ')}" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o default -F _tlblab tlblab
`;
}

function zshQuote(s: string): string {
  return s.replace(/'/g, `'\\''`).replace(/:/g, '\\:');
}

function zsh(t: Tree): string {
  const cmds = t.commands.map((c) => `    '${c.name}:${zshQuote(c.description)}'`).join('\n');
  const cases = t.commands
    .map((c) => `    ${c.name}) _arguments ${c.flags.map((f) => `'${f}'`).join(' ')} '*:file:_files' ;;`)
    .join('\n');
  return `#compdef tlblab
# zsh completion for tlblab (tlblab completion zsh)
_tlblab() {
  local -a commands
  commands=(
${cmds}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _tlblab tlblab
`;
}

function fish(t: Tree): string {
  const lines = ['# fish completion for tlblab (tlblab completion fish)', 'complete -c tlblab -f'];
  for (const c of t.commands) {
    lines.push(
      `complete -c tlblab -n '__fish_use_subcommand' -a ${c.name} -d '${c.description.replace(/'/g, "\\'")}'`,
    );
    for (const f of c.flags.filter((x) => x.startsWith('--'))) {
      lines.push(`complete -c tlblab -n '__fish_seen_subcommand_from ${c.name}' -l ${f.slice(2)}`);
    }
  }
  for (const f of t.globals.filter((x) => x.startsWith('--')))
    lines.push(`complete -c tlblab -l ${f.slice(2)}`);
  return `${lines.join('\n')}\n`;
}

export function completionCommand(io: Io, program: Command, shell: string): number {
  if (!(SHELLS as readonly string[]).includes(shell)) throw unknownName('shell', shell, SHELLS);
  const t = treeOf(program);
  io.stdout.write(shell === 'bash' ? bash(t) : shell === 'zsh' ? zsh(t) : fish(t));
  return 0;
}
