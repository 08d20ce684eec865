import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { DEFAULT_KERNEL, KERNEL_KEYS, lazyMaxPagesOf, parseKernelSetting } from './kernel-config.js';

describe('kernel settings from outside (--kernel key=value)', () => {
  it('parses numbers, booleans, null and names into typed overrides', () => {
    expect(parseKernelSetting('lazyMaxPages=0')).toEqual({ lazyMaxPages: 0 });
    expect(parseKernelSetting('lazyMaxPages=null')).toEqual({ lazyMaxPages: null });
    expect(parseKernelSetting('strictModuleRwx=false')).toEqual({ strictModuleRwx: false });
    expect(parseKernelSetting('setMemoryFlush=kernel-range')).toEqual({ setMemoryFlush: 'kernel-range' });
  });

  it('names an unknown key and lists the valid ones; names a bad value and its default', () => {
    expect(() => parseKernelSetting('lazy=1')).toThrow(ConfigError);
    expect(() => parseKernelSetting('lazy=1')).toThrow(new RegExp(`valid: ${KERNEL_KEYS.join(', ')}`));
    expect(() => parseKernelSetting('stackCache=-1')).toThrow(/stackCache = "-1": .*\(default 2\)/);
    expect(() => parseKernelSetting('setMemoryFlush=some')).toThrow(/"all"\|"kernel-range"/);
  });

  it('has lazy_max_pages() as the default purge threshold (mm/vmalloc.c)', () => {
    expect(DEFAULT_KERNEL.lazyMaxPages).toBeNull();
    expect(lazyMaxPagesOf(DEFAULT_KERNEL, 2)).toBe(2 * 8192);
    expect(lazyMaxPagesOf({ ...DEFAULT_KERNEL, lazyMaxPages: 5 }, 64)).toBe(5);
  });
});
