#!/usr/bin/env node
import { main } from './cli.js';
import { mark } from './timing.js';

mark('cli loaded');

// A closed pipe (`tlblab report r.jsonl | head -1`) is the reader saying it has enough: stop quietly,
// as cat and grep do, instead of dying with an EPIPE stack. Node ignores SIGPIPE, so the write
// fails with EPIPE and the stream emits 'error'.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

// process.exitCode, not process.exit(): stdout may still be draining into a pipe.
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
