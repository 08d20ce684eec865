import { readFileSync } from 'node:fs';

/** This package's version, read once from package.json (beside src/ and dist/ alike). */
export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const TOOL_NAME = 'tlblab';
