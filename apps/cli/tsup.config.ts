import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

// Three entries: the library, the bin, and the worker that piscina loads by file name (it must
// exist as its own file beside bin.js and index.js).
export default defineConfig(packageBuild(['src/index.ts', 'src/bin.ts', 'src/worker.ts']));
