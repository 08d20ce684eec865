/** Parsing of flag values; every mistake is a `UsageError` naming the flag and the value. */
import { ConfigError, type KernelConfig, MODES, type Mode, parseKernelSetting } from '@tlblab/core';
import { UsageError, unknownName } from './errors.js';
import { clean } from './output.js';

/** `from 1 to 64`, or `at least 1` / `at most 64` when the other side is open. */
function range(min: number, max: number, n: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return n < min ? `at least ${min}` : `at most ${max}`;
  return `from ${min} to ${max}`;
}

/**
 * A whole number in [min, max]. Decimal digits only: `1e3`, `0x10`, `1.0` and `12abc` are refused
 * (Number() would take the first three, parseInt the last). The range is checked on the digits, so
 * a value past 2^53 is reported against the bound it breaks, not rounded first.
 */
export function parseInteger(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new UsageError(`${flag} ${clean(text)}: not an integer`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${clean(text)}: must be ${range(min, max, n)}`);
  }
  return n;
}

/** A decimal number (no hex, no `Infinity`) in [min, max]. */
export function parseNumber(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
    throw new UsageError(`${flag} ${clean(text)}: not a number`);
  const n = Number(t);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${flag} ${clean(text)}: must be ${range(min, max, n)}`);
  return n;
}

/**
 * The longest timer Node can arm: setTimeout and AbortSignal.timeout take a 32-bit signed count of
 * milliseconds (larger values throw `The value of "delay" is out of range`).
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * `--cell-timeout <seconds>`: from 1 ms to the timer's maximum (24.8 days), rounded to whole
 * milliseconds (`2.01` s is 2009.999... ms in binary floating point, which timers refuse).
 */
export function parseTimeout(flag: string, text: string): number {
  const seconds = parseNumber(flag, text, 0.001, Math.floor(MAX_TIMEOUT_MS / 1000));
  return Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.round(seconds * 1000)));
}

/**
 * The default wall-clock watchdog of a cell: a backstop only. The primary bound of every run is its
 * simulated step budget (`kernel.stepLimit`, outcome `step-limit`), which no machine load changes;
 * ten minutes is far past any cell of the catalog even on a loaded 2-core machine.
 */
export const DEFAULT_CELL_TIMEOUT_MS = 600_000;

/**
 * The default watchdog of a cell of `seeds` runs: ten minutes plus 100 ms per seed — a run takes a
 * few milliseconds, so a big cell (400,000 seeds) is not cut off for being big, only for not ending.
 */
export function defaultCellTimeout(seeds: number): number {
  return Math.min(MAX_TIMEOUT_MS, DEFAULT_CELL_TIMEOUT_MS + 100 * seeds);
}

/** Seeds are 32-bit (core's PRNG takes `seed >>> 0`): a larger seed would alias a smaller one. */
export const MAX_SEED = 0xffff_ffff;

/** Keys that would reach `Object.prototype` through a plain object (prototype pollution). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Refuse a forbidden key anywhere in a JSON value. */
export function checkKeys(flag: string, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const k of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(k)) throw new UsageError(`${flag} ${clean(path)}: the key '${k}' is not allowed`);
    checkKeys(flag, (value as Record<string, unknown>)[k], `${path}.${k}`);
  }
}

export function parseList(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${flag} ${clean(text)}: empty name in the list`);
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
  if (eq <= 0) throw new UsageError(`--param ${clean(text)}: expected key=value`);
  const key = text.slice(0, eq).trim();
  for (const part of key.split('.')) {
    if (FORBIDDEN_KEYS.has(part))
      throw new UsageError(`--param ${clean(text)}: the key '${part}' is not allowed`);
  }
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  checkKeys('--param', value, key);
  return [key, value];
}

export { collect } from './flags.js';

export const FAIL_ON = ['incorrect'] as const;

/**
 * The exit code of a command's verdicts under `--fail-on incorrect`: 1 when any verdict is
 * `incorrect`; 3 when none is but some are `inconclusive` (a budget ran out, so the cell was not
 * shown correct: a gate must not pass, but no strategy is blamed either); else 0.
 */
export function failOnExit(failOn: boolean, verdicts: readonly string[]): number {
  if (!failOn) return 0;
  if (verdicts.includes('incorrect')) return 1;
  return verdicts.includes('inconclusive') ? 3 : 0;
}

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
