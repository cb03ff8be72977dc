/**
 * The admin API's token file: read with its permissions checked, or created
 * on a first start — a random 32-byte token (64 hex characters) in a file of
 * mode 0600, in a directory created with mode 0700. A file that group or
 * others can read is refused: anyone who reads the token can open the
 * router's firewall.
 *
 * @example
 * ```ts
 * const t = ensureAdminTokenFile('/var/lib/homenet/admin-token');
 * t.created; // true on the first start
 * t.path;    // where to read it: cat /var/lib/homenet/admin-token
 * ```
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AdminTokenFile {
  readonly path: string;
  readonly token: string;
  /** True when this call made the file. */
  readonly created: boolean;
}

/** The token file cannot be used; the message says why and what to do. */
export class AdminTokenFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminTokenFileError';
  }
}

/** At least 16 characters, no white space (as `admin.token`). */
function checkToken(path: string, text: string): string {
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token)) throw new AdminTokenFileError(path, `admin token file ${path} must hold a token of at least 16 characters without spaces`);
  return token;
}

/**
 * Reads an existing token file, refusing one that group or others can read.
 *
 * @throws AdminTokenFileError (wrong mode, not a file, bad token); the fs error when it cannot be read (ENOENT when missing).
 */
export function readAdminTokenFile(path: string): AdminTokenFile {
  const stat = statSync(path);
  if (!stat.isFile()) throw new AdminTokenFileError(path, `admin token file ${path} is not a regular file`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new AdminTokenFileError(path, `admin token file ${path} is readable or writable by group/others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`);
  }
  return { path, token: checkToken(path, readFileSync(path, 'utf8')), created: false };
}

/**
 * Reads the token file, or creates it (and its directory, mode 0700) with a
 * fresh random token when it does not exist. Creation is exclusive: two
 * daemons starting at once do not overwrite each other's token.
 */
export function ensureAdminTokenFile(path: string): AdminTokenFile {
  try {
    return readAdminTokenFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readAdminTokenFile(path);
    throw new AdminTokenFileError(path, `cannot create admin token file ${path}: ${(error as Error).message}`);
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { path, token, created: true };
}
