/** Commander helpers cli.ts needs before any command runs (kept free of imports: start-up). */

/** A repeatable flag: every value, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
