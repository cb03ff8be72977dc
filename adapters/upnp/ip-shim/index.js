'use strict';
// node-ssdp (lib/index.js) needs only `ip.address()`, to build a default LOCATION when
// the caller gives none. The real `ip` package carries unfixed advisories
// (CVE-2024-29415), so package.json overrides it with this file.
// Returns the first non-internal IPv4 address, or 127.0.0.1.
const os = require('node:os');

function address() {
  const all = os.networkInterfaces();
  for (const name of Object.keys(all)) {
    for (const info of all[name] || []) {
      if (info.family === 'IPv4' && !info.internal) return info.address;
    }
  }
  return '127.0.0.1';
}

module.exports = { address };
