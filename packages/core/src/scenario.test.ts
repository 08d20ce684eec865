import { describe, expect, it } from 'vitest';
import { area, ops, region } from './scenario.js';

describe('scenario builders share equal targets and accesses', () => {
  it('returns one frozen object per distinct target and access', () => {
    expect(region('user', 3)).toBe(region('user', 3, 0));
    expect(area('buf', 1, 8)).toBe(area('buf', 1, 8));
    expect(ops.read(region('user', 3))).toBe(ops.read(region('user', 3)));
    expect(Object.isFrozen(ops.write(area('buf', 1)))).toBe(true);
    expect(Object.isFrozen(area('buf', 1))).toBe(true);
  });

  it('keeps different values apart', () => {
    expect(region('user', 3)).not.toBe(region('user', 4));
    expect(region('user', 3)).not.toBe(region('kernel-data', 3));
    expect(area('user', 3)).not.toEqual(region('user', 3));
    expect(area('buf', 1, 0)).not.toBe(area('buf', 1, 8));
    expect(ops.read(area('buf', 1))).not.toBe(ops.write(area('buf', 1)));
    expect(ops.exec(area('buf', 1))).toEqual({ op: 'access', type: 'execute', target: area('buf', 1) });
    // A plain-JS caller's string page is a different value from the number.
    const loose = area('buf', '1' as unknown as number);
    expect(loose).not.toBe(area('buf', 1));
    expect(loose.page).toBe('1');
  });

  it('builds the same values as plain objects', () => {
    expect(region('direct-map', 2, 16)).toEqual({ region: 'direct-map', page: 2, offset: 16 });
    expect(ops.write(area('x', 5))).toEqual({
      op: 'access',
      type: 'write',
      target: { area: 'x', page: 5, offset: 0 },
    });
    expect(JSON.stringify(ops.read(region('user')))).toBe(
      '{"op":"access","type":"read","target":{"region":"user","page":0,"offset":0}}',
    );
  });
});
