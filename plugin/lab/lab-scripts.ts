import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..', __dirname.includes(`${'/'}dist${'/'}`) ? '..' : '.');

/**
 * The compiled JavaScript of a lab agent script (`probe-agent`,
 * `matter-device-agent`, ...) that the lab runs with `node` inside a
 * namespace. From the compiled tree it is the sibling `.js`; when the lab code
 * runs from TypeScript sources (ts-jest), it is the same file under `dist/`
 * (built by `npm run build`). Throws with the build command when missing.
 *
 * @example
 * ```ts
 * spawn('ip', ['netns', 'exec', ns, process.execPath, labScript('probe-agent')]);
 * ```
 */
export function labScript(name: string): string {
  const sibling = join(__dirname, `${name}.js`);
  if (existsSync(sibling)) return sibling;
  const compiled = join(REPO_ROOT, 'dist', relative(REPO_ROOT, __dirname), `${name}.js`);
  if (existsSync(compiled)) return compiled;
  throw new Error(`the lab script ${name}.js is not built (looked in ${sibling} and ${compiled}): run 'npm run build'`);
}
