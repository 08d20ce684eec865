import { PROFILES, simulate, prepareCell } from '@tlblab/core';
import { flatten } from '../../../packages/core/src/kernel/program.js';
import { scenarios } from '@tlblab/scenarios';
import { builtinParts, createRegistry, resolveStrategySet } from '../src/registry.js';
const reg = createRegistry(builtinParts());
const strat = process.argv[2] ?? 'linux-6.12';
const harts = (process.argv[3] ?? '1,2,4,8,16,32,64').split(',').map(Number);
const only = process.argv[4] ? process.argv[4].split(',') : undefined;
const seeds = Number(process.argv[5] ?? 2);
const machine = PROFILES[process.env.M ?? 'caches-invalid']!;
console.error("n", scenarios.length, harts, only);
for (const sc of scenarios) {
  if (only && !only.includes(sc.id)) continue;
  for (const h of harts) {
    if (h < sc.minHarts) continue;
    const cell = { strategy: resolveStrategySet(reg, strat), scenario: sc, machine, harts: h, kernel: { stepLimit: 1e8, ...JSON.parse(process.env.K ?? '{}') } };
    let prep;
    try { prep = prepareCell(cell as any); } catch (e) { console.error(sc.id, h, String(e)); continue; }
    let ops = 0; for (const p of prep.programs.programs) ops += flatten(p as any).length;
    const t0 = performance.now();
    const st: number[] = []; const oc: string[] = [];
    for (let s = 0; s < seeds; s++) { const r = simulate(cell, s); st.push(r.metrics.steps); oc.push(r.outcome); }
    const ms = performance.now() - t0;
    const mean = st.reduce((a, b) => a + b, 0) / st.length;
    console.log(JSON.stringify({ sc: sc.id, h, ops, steps: st, max: Math.max(...st), perOp: +(mean / ops).toFixed(2), msPerStep: +(ms / st.reduce((a,b)=>a+b,0)).toFixed(5), oc: [...new Set(oc)] }));
  }
}
