// The captured bytes of a real miniupnpd 2.3.1 router, kept in the repository under
// test/fixtures/miniupnpd-2.3.1 (see the README there for where and how they were captured).
// No test reads anything outside the repository.
import fs from 'node:fs';
import path from 'node:path';

function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && /"name":\s*"homenet-controller"/.test(fs.readFileSync(pkg, 'utf8'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json of homenet-controller not found above ${__dirname}`);
    dir = up;
  }
}

export const REFERENCE_DIR = path.resolve(repoRoot(), 'test', 'fixtures', 'miniupnpd-2.3.1');

export function referencePath(...parts: string[]): string {
  return path.join(REFERENCE_DIR, ...parts);
}

export function readReference(...parts: string[]): Buffer {
  return fs.readFileSync(referencePath(...parts));
}

export function listReference(dir: string): string[] {
  return fs.readdirSync(referencePath(dir)).sort();
}

/** A captured HTTP message split into its parts. */
export interface HttpCapture {
  startLine: string;
  headers: Map<string, string>;
  body: string;
}

export function readHttpCapture(name: string): HttpCapture {
  const text = readReference('soap', name).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { startLine: head[0], headers, body: text.slice(split + 4) };
}

/** One line of soap/INDEX.txt. */
export interface SoapCase {
  name: string;
  action: string;
  httpStatus: number;
  faultCode?: number;
  faultDescription?: string;
}

export function soapCases(): SoapCase[] {
  const lines = readReference('soap', 'INDEX.txt').toString('utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((line) => {
    const m = /^(\S+)\s+(\w+): HTTP (\d{3})(?:, UPnPError (\d+) ([^,]+))?,/.exec(line);
    if (!m) throw new Error(`Unparsed INDEX line: ${line}`);
    const c: SoapCase = { name: m[1], action: m[2], httpStatus: Number(m[3]) };
    if (m[4]) {
      c.faultCode = Number(m[4]);
      c.faultDescription = m[5].trim();
    }
    return c;
  });
}
