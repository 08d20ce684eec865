/**
 * Writing the files the user names (`--out`, `--trace`, `new --dir`), issue 15 "The edges":
 *
 * - every problem with the path (empty, missing folder, a folder, read-only, a loop of links) is a
 *   `UsageError` naming the flag and the path, found *before* any work is done;
 * - the write goes through the path the user named: a device, FIFO or `/dev/null` is written in
 *   place (a temp file + rename would replace `/dev/null` with a regular file), and a symbolic link
 *   is followed, so its target is updated and the link stays a link;
 * - only a regular file (or a new one) is written as temp file + `fsync` + `rename` + `fsync` of the
 *   folder (rename(2) is atomic within a filesystem; the folder sync makes the new name durable,
 *   see fsync(2) "Calling fsync() does not necessarily ensure that the entry in the directory
 *   containing the file has also reached disk");
 * - the temp file is named `<file>.tlblab-<pid>.tmp` beside its target, so `--resume` can find and
 *   remove the temps a killed run left (`removeStaleTemps`).
 */
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { clean } from './output.js';

/** A checked output path. */
export interface OutputTarget {
  /** The flag that named it (`--out`), for messages. */
  readonly flag: string;
  /** The path as the user typed it. */
  readonly given: string;
  /** The file written: symbolic links resolved. */
  readonly file: string;
  /** Not a regular file (a character device, FIFO or socket): written in place, never renamed over. */
  readonly direct: boolean;
  /** The file exists already. */
  readonly exists: boolean;
}

function codeOf(e: unknown): string {
  return (e as { code?: string }).code ?? '';
}

function reason(e: unknown): string {
  switch (codeOf(e)) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ENOENT':
      return 'no such file or folder';
    case 'ENXIO':
      return 'no reader on the other end (FIFO or device)';
    case 'EBUSY':
      return 'the file is busy';
    default:
      return codeOf(e) || (e instanceof Error ? e.message : String(e));
  }
}

/** `--out /x/y: <why>`, one line, the path stripped of control characters. */
export function pathError(flag: string, given: string, why: string): UsageError {
  return new UsageError(`${flag} ${clean(JSON.stringify(given))}: ${why}`);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Check an output path before any work. `forResume` also requires an existing regular file the
 * run can append to.
 */
export function outputTarget(flag: string, given: string, cwd: string): OutputTarget {
  if (given === '') throw pathError(flag, given, 'empty path');
  if (given.includes('\0')) throw pathError(flag, given, 'the path holds a NUL character');
  let abs = resolve(cwd, given);
  try {
    // A dangling symbolic link names the file to create at its target.
    for (let hops = 0; hops < 40; hops++) {
      const l = lstatOrNull(abs);
      if (l === null || !l.isSymbolicLink()) break;
      const target = resolve(dirname(abs), readlinkSync(abs));
      if (statOrNull(target) !== null) {
        abs = realpathSync(abs);
        break;
      }
      abs = target;
    }
    const st = statOrNull(abs);
    if (st !== null) {
      if (st.isDirectory()) throw pathError(flag, given, 'is a folder, not a file');
      const direct = !st.isFile();
      try {
        accessSync(abs, constants.W_OK);
      } catch (e) {
        throw pathError(flag, given, `cannot write: ${reason(e)}`);
      }
      if (!direct) accessFolder(flag, given, dirname(abs));
      return { flag, given, file: direct ? abs : realpathSync(abs), direct, exists: true };
    }
    const folder = dirname(abs);
    const fst = statOrNull(folder);
    if (fst === null) throw pathError(flag, given, `the folder ${clean(folder)} does not exist`);
    if (!fst.isDirectory()) throw pathError(flag, given, `${clean(folder)} is not a folder`);
    accessFolder(flag, given, folder);
    return { flag, given, file: join(realpathSync(folder), basename(abs)), direct: false, exists: false };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw pathError(flag, given, reason(e));
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return null;
    throw e;
  }
}

function accessFolder(flag: string, given: string, folder: string): void {
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw pathError(flag, given, `cannot create files in ${clean(folder)}: ${reason(e)}`);
  }
}

/** The temp file beside `file` for this process. */
export function tempOf(file: string, pid = process.pid): string {
  return `${file}.tlblab-${pid}.tmp`;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** fsync a folder so a rename in it is durable; filesystems that cannot (EINVAL) are skipped. */
function syncFolder(folder: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch (e) {
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EACCES', 'ENOTSUP'].includes(codeOf(e))) throw e;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Write `text` to a checked target: in place for a device or FIFO, else temp + fsync + rename +
 * folder fsync. Any failure is a `UsageError` naming the flag and the path, and leaves no temp.
 */
export function writeOutput(target: OutputTarget, text: string): void {
  const { flag, given, file } = target;
  if (target.direct) {
    let fd: number | null = null;
    try {
      fd = openSync(file, 'w');
      writeAll(fd, text);
    } catch (e) {
      throw pathError(flag, given, `cannot write: ${reason(e)}`);
    } finally {
      if (fd !== null) closeSync(fd);
    }
    return;
  }
  const tmp = tempOf(file);
  let mode = 0o666;
  try {
    mode = statSync(file).mode & 0o7777;
  } catch {
    // a new file: the umask decides
  }
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', mode);
    writeAll(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
    syncFolder(dirname(file));
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw pathError(flag, given, `cannot write: ${reason(e)}`);
  }
}

/** Check the path and write; for one-shot outputs (`report --out`, `--trace`, `merge --out`). */
export function writeOutputFile(flag: string, given: string, cwd: string, text: string): void {
  writeOutput(outputTarget(flag, given, cwd), text);
}

/** Whether a process with this id is alive (a temp of a live run must not be removed). */
function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

/** Remove the temps of `file` that runs no longer alive left behind; returns their names. */
export function removeStaleTemps(file: string): string[] {
  const folder = dirname(file);
  const prefix = `${basename(file)}.tlblab-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length, -'.tmp'.length));
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      unlinkSync(join(folder, name));
      removed.push(name);
    } catch {
      // gone already
    }
  }
  return removed;
}
