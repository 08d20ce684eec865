/** Parsing of flag values; every mistake is a `UsageError` naming the flag and the value. */
import { ConfigError, type KernelConfig, MODES, type Mode, parseKernelSetting } from '@tlblab/core';
import { UsageError, unknownName } from './errors.js';

export function parseInteger(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new UsageError(`${flag} ${text}: not an integer`);
  const n = Number(t);
  if (n < min || n > max) {
    throw new UsageError(
      `${flag} ${text}: must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return n;
}

export function parseNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} ${text}: not a number`);
  if (n < min) throw new UsageError(`${flag} ${text}: must be at least ${min}`);
  return n;
}

export function parseList(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${flag} ${text}: empty name in the list`);
  return items;
}

export function parseHarts(flag: string, text: string): number[] {
  return parseList(flag, text).map((h) => parseInteger(flag, h, 1, 1024));
}

export function parseMode(text: string): Mode {
  if (!(MODES as readonly string[]).includes(text)) throw unknownName('mode', text, MODES);
  return text as Mode;
}

/** `--param k=v`: the value is JSON when it parses as JSON (numbers, booleans), else a string. */
export function parseParam(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--param ${text}: expected key=value`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return [key, value];
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const FAIL_ON = ['incorrect'] as const;

export function parseFailOn(text: string | undefined): boolean {
  if (text === undefined) return false;
  if (text !== 'incorrect') throw unknownName('--fail-on value', text, FAIL_ON);
  return true;
}

/** `--kernel key=value` (repeatable): kernel settings, validated by core (an unknown key or a bad
 *  value is a UsageError naming it and listing the valid keys or values). */
export function parseKernelFlags(list: readonly string[] | undefined): Partial<KernelConfig> {
  const out: Record<string, unknown> = {};
  for (const text of list ?? []) {
    try {
      Object.assign(out, parseKernelSetting(text));
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`--kernel ${text}: ${e.message}`);
      throw e;
    }
  }
  return out as Partial<KernelConfig>;
}
