import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

// zod bundled into a chunk shared by the two entries; `@tlblab/core/zod` is what the other
// packages' builds import zod from (src/zod.ts, tsup.base.ts).
export default defineConfig(
  packageBuild(['src/index.ts', 'src/zod.ts'], { splitting: true, esbuildPlugins: [] }),
);
