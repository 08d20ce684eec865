/**
 * Issue 15: the kit is test-runner agnostic (ESLint's RuleTester takes `describe`/`it`): the suite
 * registers with whatever runner is passed, and without `expect` a failing case throws an Error
 * listing its problems.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { failingStrategy, probes, runStrategyConformance, type TestRunner } from './index.js';

function recordingRunner(): { runner: TestRunner; tests: Map<string, () => void>; path: string[] } {
  const tests = new Map<string, () => void>();
  const path: string[] = [];
  const runner: TestRunner = {
    describe: (name, fn) => {
      path.push(name);
      fn();
      path.pop();
    },
    it: (name, fn) => {
      tests.set([...path, name].join(' > '), fn);
    },
  };
  return { runner, tests, path };
}

describe('runStrategyConformance with an injected runner', () => {
  it('registers every case with the runner, not with vitest', () => {
    const { runner, tests } = recordingRunner();
    runStrategyConformance(failingStrategy('setup'), {
      runner,
      valid: [{ scenario: probes.kernelNofaultWrite, seeds: 1 }],
    });
    expect(tests.size).toBeGreaterThan(1);
    expect([...tests.keys()].every((k) => k.includes(': conformance'))).toBe(true);
  });

  it('throws the problems from a failing case when the runner has no expect', () => {
    const { runner, tests } = recordingRunner();
    runStrategyConformance(failingStrategy('setup'), {
      runner,
      valid: [{ scenario: probes.kernelNofaultWrite, seeds: 1 }],
    });
    const valid = [...tests.entries()].find(([k]) => k.includes('> valid >'))!;
    expect(valid[1]).toThrow(/expected correct/);
  });

  it('is shaped for a registry: zod and the baseline are dependencies, vitest an optional peer', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      devDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@tlblab/strategy-baseline', 'zod']);
    expect(pkg.peerDependenciesMeta.vitest?.optional).toBe(true);
    expect(pkg.devDependencies.zod).toBeUndefined();
    const baseline = JSON.parse(
      readFileSync(new URL('../../strategy-baseline/package.json', import.meta.url), 'utf8'),
    ) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string> };
    // No cycle: the baseline does not depend on the kit in any way.
    expect(
      { ...baseline.dependencies, ...baseline.devDependencies }['@tlblab/strategy-tester'],
    ).toBeUndefined();
  });
});
