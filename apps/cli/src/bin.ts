#!/usr/bin/env node
import { main } from './cli.js';

// process.exitCode, not process.exit(): stdout may still be draining into a pipe.
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
