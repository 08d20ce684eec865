/** Issue 15: machine `extends` merges deeply (a shallow merge lost `tlb.replacement`). */
import { describe, expect, it } from 'vitest';
import { defineMachine, PROFILES } from './profiles.js';

describe('defineMachine with extends', () => {
  it('overrides one nested field and keeps the preset’s others', () => {
    const m = defineMachine({
      name: 'big-tlb',
      extends: 'caches-invalid',
      tlb: { entries: 128 } as never,
    });
    const base = PROFILES['caches-invalid']!;
    expect(m.tlb).toEqual({ ...base.tlb, entries: 128 });
    expect(m.costs).toEqual(base.costs);
  });

  it('merges costs key by key and ignores prototype keys', () => {
    const m = defineMachine(
      JSON.parse('{"name":"cheap","extends":"emulator","costs":{"ipiSend":1},"__proto__":{"polluted":1}}'),
    );
    expect(m.costs.ipiSend).toBe(1);
    expect(m.costs).toEqual({ ...PROFILES.emulator!.costs, ipiSend: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
