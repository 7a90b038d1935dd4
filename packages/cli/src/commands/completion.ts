import type { Command } from 'commander';

/** Every command path (`cluster up`, `wal inspect`) and its flags, read from the program itself so completion never drifts. */
export function commandTree(program: Command): Array<{ path: string[]; flags: string[] }> {
  const out: Array<{ path: string[]; flags: string[] }> = [];
  const walk = (command: Command, path: string[]): void => {
    const flags = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
    out.push({ path, flags: [...flags, '--help'] });
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

// #region completion
/** The commands one level below `path`. */
function subcommandsOf(tree: Array<{ path: string[] }>, path: string[]): Array<{ path: string[] }> {
  return tree.filter((t) => t.path.length === path.length + 1 && path.every((p, i) => t.path[i] === p));
}

/**
 * The body of the loop over the words typed so far, alike in bash and zsh:
 * flags are skipped, and a word that names a deeper command extends
 * `cmdpath`.
 */
function cmdpathStep(tree: Array<{ path: string[] }>): string {
  const known = tree.filter((t) => t.path.length > 0).map((t) => `      "${t.path.join(' ')}") cmdpath="${t.path.join(' ')}" ;;`);
  return `    [[ "$w" == -* ]] && continue
    case "\${cmdpath:+$cmdpath }$w" in
${known.join('\n')}
    esac`;
}

/**
 * bash: one function that looks at the words typed so far, finds the
 * deepest command they name, and offers its subcommands and flags.
 */
export function bashCompletion(program: Command): string {
  const tree = commandTree(program);
  const cases = tree.map(({ path, flags }) => {
    const subs = subcommandsOf(tree, path);
    const words = [...subs.map((s) => s.path[s.path.length - 1]), ...flags].join(' ');
    return `    "${path.join(' ')}") words="${words}" ;;`;
  });
  return `# distkv bash completion: source <(distkv completion bash)
_distkv() {
  local cur cmdpath="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
${cmdpathStep(tree)}
  done
  local words=""
  case "$cmdpath" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _distkv distkv
`;
}

/** zsh: the same tree through compdef, with each subcommand's description. */
export function zshCompletion(program: Command): string {
  const tree = commandTree(program);
  const describe = (path: string[]): string => {
    let command: Command | undefined = program;
    for (const p of path) command = command?.commands.find((c) => c.name() === p);
    return (command?.description() ?? '').replace(/'/g, "'\\''").replace(/:/g, '\\:');
  };
  const cases = tree.map(({ path, flags }) => {
    const subs = subcommandsOf(tree, path);
    const items = [
      ...subs.map((s) => `'${s.path[s.path.length - 1]}:${describe(s.path)}'`),
      ...flags.map((f) => `'${f.replace(/:/g, '\\:')}'`),
    ];
    return `    "${path.join(' ')}") items=(${items.join(' ')}) ;;`;
  });
  return `#compdef distkv
# distkv zsh completion: source <(distkv completion zsh), or save as _distkv in your $fpath
_distkv() {
  local cmdpath="" w
  local -a items
  for w in \${words[2,CURRENT-1]}; do
${cmdpathStep(tree)}
  done
  case "$cmdpath" in
${cases.join('\n')}
  esac
  _describe 'distkv' items
}
compdef _distkv distkv
`;
}
// #endregion completion

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for bash or zsh')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  source <(distkv completion bash)                 # this shell only',
        '  distkv completion bash > /etc/bash_completion.d/distkv',
        '  distkv completion zsh > ~/.zfunc/_distkv           # with fpath+=(~/.zfunc) in ~/.zshrc',
      ].join('\n'),
    )
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else {
        process.stderr.write(`distkv completion: unknown shell "${shell}" (bash or zsh)\n`);
        process.exit(2);
      }
    });
}
