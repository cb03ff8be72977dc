/**
 * The package as a user gets it: `npm pack` of the built tree, installed into
 * an empty project, then used only through its public surface — every entry of
 * the `exports` map by `require` and by `import`, the `homenet` bin, and the
 * README's library examples (taken from README.md by this test, so the README
 * shows what is tested) compiled strict with `nodenext` resolution, the policy
 * engine one run and its printed line checked.
 *
 * Needs the build (`npm run build`, which `npm test` runs first). The install
 * takes what it can from the npm cache (`--prefer-offline`; `npm ci` filled it)
 * and skips install scripts: better-sqlite3's native addon is then not built,
 * which only the gateway journal's `new Database()` would need.
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..', '..');
const TSC = require.resolve('typescript/bin/tsc', { paths: [REPO] });
const NODE_TYPES = join(REPO, 'node_modules', '@types');

jest.setTimeout(120_000);

/**
 * The environment without what an enclosing `npm test` sets for this
 * repository (its local prefix, package and lifecycle variables), so the
 * nested npm works on the directory it is run in and nothing else.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
  for (const key of Object.keys(env)) {
    if (key === 'npm_config_local_prefix' || key.startsWith('npm_package_') || key.startsWith('npm_lifecycle_')) delete env[key];
  }
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs = 90_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: childEnv() });
  if (result.error) throw result.error;
  return result;
}

function ok(command: string, args: readonly string[], cwd: string): string {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** The fenced code blocks of one language under the README's "## Library" heading. */
function libraryBlocks(readme: string, language: string): string[] {
  const start = readme.indexOf('\n## Library');
  if (start < 0) throw new Error('README.md has no "## Library" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const fence = new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g');
  return [...section.matchAll(fence)].map((m) => m[1]);
}

describe('the packed package, installed into an empty project', () => {
  let work: string;
  let project: string;
  let packedFiles: string[];
  let installMs: number;

  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist', 'plugin', 'index.js')) || !existsSync(join(REPO, 'dist', 'homenet.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    }
    work = mkdtempSync(join(tmpdir(), 'homenet-packed-'));
    const packed = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', work], REPO)) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed[0].files.map((f) => f.path);
    const tarball = join(work, packed[0].filename);

    project = join(work, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
    const started = Date.now();
    ok('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], project);
    installMs = Date.now() - started;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs in under a minute', () => {
    // Printed so a slow registry or cache shows in the test log.
    console.log(`npm install of the tarball: ${installMs} ms`);
    expect(installMs).toBeLessThan(60_000);
  });

  it('packs the built tree, the bin, the ip shim and the capture helpers, and no sources, tests, maps or V8 cache', () => {
    for (const f of [
      'package.json',
      'README.md',
      'dist/homenet.js',
      'dist/homenet-bundle.js',
      'dist/plugin/index.js',
      'dist/plugin/index.d.ts',
      'dist/plugin/agent/index.js',
      'dist/plugin/gateway/index.js',
      'dist/policies/index.js',
      'adapters/upnp/ip-shim/index.js',
      'adapters/observe/helpers/ra_capture.py',
      'adapters/observe/helpers/dhcp_sniff.py',
      'adapters/observe/helpers/die_with_parent.py',
    ]) {
      expect(packedFiles).toContain(f);
    }
    const stray = packedFiles.filter((f) => /\.map$|\.cache$|^test\/|^dist\/test\/|^dist\/bench\/|^(plugin|policies)\/|^adapters\/(?!upnp\/ip-shim\/|observe\/helpers\/[a-z0-9_]+\.py$)/.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)));
    expect(stray).toEqual([]);
  });

  it('every entry loads with require and gives its documented names', () => {
    const script = `
      const names = (id) => Object.keys(require(id)).sort();
      console.log(JSON.stringify({
        root: names('homenet-controller'),
        agent: names('homenet-controller/agent'),
        policies: names('homenet-controller/policies'),
        gateway: names('homenet-controller/gateway'),
      }));`;
    const loaded = JSON.parse(ok(process.execPath, ['-e', script], project)) as Record<string, string[]>;
    expect(loaded.root).toEqual(expect.arrayContaining(['openPort', 'closePort', 'createPolicyEngine']));
    expect(loaded.agent).toEqual(expect.arrayContaining(['openPort', 'closePort', 'OpenedPortsStore', 'InternalClientError', 'UpnpError']));
    expect(loaded.agent).not.toContain('createPolicyEngine');
    expect(loaded.policies).toEqual(expect.arrayContaining(['createPolicyEngine', 'EVENT_TYPES', 'REASON_CODES']));
    expect(loaded.gateway).toEqual(expect.arrayContaining(['startGatewayDaemon', 'loadGatewayConfig', 'parseGatewayConfig', 'GatewayConfigError']));
  });

  it('every entry gives named exports to ES modules', () => {
    writeFileSync(
      join(project, 'named.mjs'),
      [
        "import { openPort, createPolicyEngine as rootEngine } from 'homenet-controller';",
        "import { closePort } from 'homenet-controller/agent';",
        "import { createPolicyEngine } from 'homenet-controller/policies';",
        "import { startGatewayDaemon, loadGatewayConfig } from 'homenet-controller/gateway';",
        'console.log([openPort, rootEngine, closePort, createPolicyEngine, startGatewayDaemon, loadGatewayConfig].map((f) => typeof f).join(" "));',
      ].join('\n'),
    );
    expect(ok(process.execPath, ['named.mjs'], project).trim()).toBe(Array(6).fill('function').join(' '));
  });

  it('refuses deep imports past the exports map', () => {
    const result = run(process.execPath, ['-e', "require('homenet-controller/dist/plugin/agent/open-port')"], project);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it("runs the installed bin: 'homenet --help' and 'homenet open --help'", () => {
    const bin = join(project, 'node_modules', '.bin', 'homenet');
    expect(ok(bin, ['--help'], project)).toMatch(/^usage: homenet <command>/);
    expect(ok(bin, ['open', '--help'], project)).toContain('homenet open --protocol udp|tcp --port N');
  });

  it("compiles the README's library examples strict with nodenext resolution and runs the policy engine one", () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const examples = libraryBlocks(readme, 'ts');
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const engineExample = examples.findIndex((e) => e.includes('createPolicyEngine'));
    expect(engineExample).toBeGreaterThanOrEqual(0);
    const src = join(project, 'examples');
    mkdirSync(src, { recursive: true });
    // .mts: ES modules, so the examples' top-level await compiles as written.
    examples.forEach((code, i) => writeFileSync(join(src, `example-${i + 1}.mts`), code));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          typeRoots: [NODE_TYPES],
          types: ['node'],
          skipLibCheck: true,
          noEmitOnError: true,
          outDir: 'out',
        },
        include: ['examples'],
      }),
    );
    const compiled = run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
    expect(`${compiled.stdout}${compiled.stderr}`).toBe('');
    expect(compiled.status).toBe(0);

    const printed = ok(process.execPath, [join('out', `example-${engineExample + 1}.mjs`)], project);
    const documented = /\/\/ prints: (.+)/.exec(examples[engineExample]);
    expect(documented).not.toBeNull();
    expect(printed.trim()).toBe(documented![1].trim());
  });

  it("the README's CommonJS example gets real functions from require", () => {
    const blocks = libraryBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'), 'js');
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    const names = blocks.flatMap((b) => [...b.matchAll(/const \{([^}]+)\} = require\(/g)].flatMap((m) => m[1].split(',').map((n) => n.trim())));
    expect(names.length).toBeGreaterThan(0);
    const check = `${blocks.join('\n')}\nconsole.log(JSON.stringify({ ${names.map((n) => `${n}: typeof ${n}`).join(', ')} }));`;
    writeFileSync(join(project, 'readme-cjs.cjs'), check);
    const types = JSON.parse(ok(process.execPath, ['readme-cjs.cjs'], project)) as Record<string, string>;
    expect(Object.keys(types).sort()).toEqual([...names].sort());
    for (const name of names) expect([name, types[name]]).toEqual([name, 'function']);
  });

  it('type-checks subpath imports with the older node (node10) resolution too, through typesVersions', () => {
    const dir = join(project, 'node10');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { openPort, Reachability } from 'homenet-controller/agent';",
        "import { createPolicyEngine, Decision } from 'homenet-controller/policies';",
        "import { parseGatewayConfig, GatewayConfig } from 'homenet-controller/gateway';",
        "import { closePort } from 'homenet-controller';",
        'export const used: [typeof openPort, typeof createPolicyEngine, typeof parseGatewayConfig, typeof closePort] = [openPort, createPolicyEngine, parseGatewayConfig, closePort];',
        'export type Used = [Reachability, Decision, GatewayConfig];',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', moduleResolution: 'node10', typeRoots: [NODE_TYPES], types: ['node'], skipLibCheck: true, noEmit: true, ignoreDeprecations: '5.0' },
        include: ['use.ts'],
      }),
    );
    const checked = run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
    expect(`${checked.stdout}${checked.stderr}`).toBe('');
    expect(checked.status).toBe(0);
  });
});
