/**
 * Builds the dashboard into dist/dashboard/ (app.js, app.css, index.html) with
 * esbuild, and prints what a browser transfers; fails when that is over
 * 250 KB. Part of `npm run build`; the admin API serves the result at
 * /dashboard/.
 *
 * Run: `node plugin/dashboard/build-dashboard.js` (from the repository root or anywhere).
 */
const { buildSync } = require('esbuild');
const { copyFileSync, mkdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { gzipSync } = require('node:zlib');
const { readFileSync } = require('node:fs');

const LIMIT_BYTES = 250 * 1024;
const here = __dirname;
const out = join(here, '..', '..', 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'none' };
buildSync({ ...common, entryPoints: [join(here, 'main.ts')], outfile: join(out, 'app.js'), format: 'iife', target: ['es2020'], platform: 'browser' });
buildSync({ ...common, entryPoints: [join(here, 'dashboard.css')], outfile: join(out, 'app.css') });
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));

const files = ['index.html', 'app.js', 'app.css'];
const bytes = files.reduce((sum, f) => sum + statSync(join(out, f)).size, 0);
const gzipped = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(out, f))).length, 0);
process.stdout.write(`dashboard: dist/dashboard/ ${files.join(' + ')} = ${bytes} bytes (${gzipped} gzipped; limit ${LIMIT_BYTES})\n`);
if (bytes > LIMIT_BYTES) {
  process.stderr.write(`dashboard: ${bytes} bytes is over the ${LIMIT_BYTES}-byte budget\n`);
  process.exit(1);
}
