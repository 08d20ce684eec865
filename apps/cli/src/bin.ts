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

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
// Every command has awaited its own work when `main` returns; what is left is output still
// draining (stdout into a socket: pipes, files and terminals are written synchronously on Linux)
// and V8's idle-time tasks, such as finishing an incremental GC the run started — 15-50 ms
// of a 400 ms `tlblab run` (issue 13). So wait for the output only, then exit.
await Promise.all([process.stdout, process.stderr].map(drained));
mark('output drained');
process.exit();

function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('drain', resolve);
    stream.once('close', resolve);
  });
}
