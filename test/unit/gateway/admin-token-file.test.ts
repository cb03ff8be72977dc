import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminTokenFileError, ensureAdminTokenFile, readAdminTokenFile } from '../../../plugin/gateway/admin-token-file';

describe('admin token file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'homenet-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a 32-byte random token, 0600, in a new 0700 directory; the second call reads it', () => {
    const path = join(dir, 'state', 'admin-token');
    const first = ensureAdminTokenFile(path);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(path, 'utf8')).toBe(`${first.token}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    const second = ensureAdminTokenFile(path);
    expect(second).toEqual({ path, token: first.token, created: false });
    expect(ensureAdminTokenFile(join(dir, 'other')).token).not.toBe(first.token);
  });

  it.each(['0644', '0640', '0604', '0660'])('refuses an existing file of mode %s, saying how to fix it', (octal) => {
    const mode = parseInt(octal, 8);
    const path = join(dir, 'admin-token');
    writeFileSync(path, 'a-token-long-enough-0123\n');
    chmodSync(path, mode);
    expect(() => ensureAdminTokenFile(path)).toThrow(AdminTokenFileError);
    expect(() => readAdminTokenFile(path)).toThrow(`admin token file ${path} is readable or writable by group/others (mode ${octal}); run: chmod 600 ${path}`);
  });

  it('refuses a short token and a directory; a missing file is ENOENT for readAdminTokenFile', () => {
    const path = join(dir, 'admin-token');
    writeFileSync(path, 'short\n', { mode: 0o600 });
    expect(() => readAdminTokenFile(path)).toThrow(/at least 16 characters/);
    expect(() => readAdminTokenFile(dir)).toThrow(/not a regular file/);
    expect(() => readAdminTokenFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
