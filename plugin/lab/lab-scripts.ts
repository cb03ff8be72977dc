import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project's root: the nearest folder above this file with homenet-controller's package.json. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"homenet-controller"/.test(readFileSync(pkg, 'utf8'))) return dir;
    if (dirname(dir) === dir) throw new Error(`homenet-controller's package.json is not above ${__dirname}`);
  }
}

/**
 * The compiled JavaScript of a lab agent script (`probe-agent`,
 * `matter-device-agent`, ...) that the lab runs with `node` inside a
 * namespace. From the compiled tree it is the sibling `.js`; when the lab code
 * runs from TypeScript sources (ts-jest) or from the bundled `dist/homenet.js`,
 * it is `dist/plugin/lab/<name>.js` (built by `npm run build`). Throws with the build command when missing.
 *
 * @example
 * ```ts
 * spawn('ip', ['netns', 'exec', ns, process.execPath, labScript('probe-agent')]);
 * ```
 */
export function labScript(name: string): string {
  const sibling = join(__dirname, `${name}.js`);
  if (existsSync(sibling)) return sibling;
  const compiled = join(repoRoot(), 'dist', 'plugin', 'lab', `${name}.js`);
  if (existsSync(compiled)) return compiled;
  throw new Error(`the lab script ${name}.js is not built (looked in ${sibling} and ${compiled}): run 'npm run build'`);
}
