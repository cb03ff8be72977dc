#!/usr/bin/env node
'use strict';
// The `homenet` bin. Loads the bundled CLI (homenet-bundle.js) through V8's code
// cache (homenet-bundle.js.cache, written by `npm run build` and refreshed when
// V8 rejects it), so a game waiting for its port does not pay for compiling
// the bundle on every start. Falls back to a plain require when anything about
// the cache fails.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, 'homenet-bundle.js');
const cacheFile = `${file}.cache`;

function run() {
  // A shebang is not JavaScript inside the module wrapper: keep the line, comment it out.
  const source = fs.readFileSync(file, 'utf8').replace(/^#!/, '//');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(__dirname);
  const requireFromBundle = (id) => bundle.require(id);
  requireFromBundle.resolve = (request, options) => Module._resolveFilename(request, bundle, false, options);
  requireFromBundle.main = bundle; // the bundle is the program: its `require.main === module` holds
  requireFromBundle.cache = Module._cache;
  process.mainModule = bundle;
  script.runInThisContext().call(bundle.exports, bundle.exports, requireFromBundle, bundle, file, __dirname);
  bundle.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the top level ran, the cache also holds the functions it compiled.
    process.once('exit', () => {
      try {
        fs.writeFileSync(cacheFile, script.createCachedData());
      } catch {
        /* a read-only install keeps working without the cache */
      }
    });
  }
}

run();
