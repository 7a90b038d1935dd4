/**
 * What the command definitions share: the parser of an integer flag (so
 * every command words a bad value the same way) and a command group with
 * its examples.
 */
import { type Command, InvalidArgumentError } from 'commander';

/** A commander argParser for an integer flag within [min, max]; anything else is exit code 2 with one line. */
export function integer(name: string, min: number, max: number): (text: string) => number {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return value;
  };
}

/** A command that only holds subcommands (`cluster up`, `wal inspect`), with the examples its help ends on. */
export function commandGroup(program: Command, name: string, description: string, examples: readonly string[]): Command {
  return program
    .command(name)
    .description(description)
    .addHelpText('after', ['', 'Examples:', ...examples.map((e) => `  ${e}`)].join('\n'));
}
