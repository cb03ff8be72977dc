/**
 * Issue 5 crash test: 20 rounds of `kill -9` of the gateway daemon at a
 * random point of a stream of add / renew / delete requests (IPv6 pinholes
 * and IPv4 port mappings, raw SOAP from the console namespace); after each
 * restart the kernel table, the journal and the engine must agree: zero
 * orphans, zero lost grants, no lease longer than its client's deadline.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { adminGet, entryKeyOf, kernelEntries, streamUntilRouterKilled } from './gateway-lab-support';

jest.setTimeout(300_000);

const ROUNDS = 20;
const PORTS = 12;

/** The request stream, run with node inside the console namespace (plain JS, no build needed). */
const STREAM_AGENT = String.raw`
const http = require('http');
const [host6, client6, client4, seedText, countText] = process.argv.slice(2);
let seed = Number(seedText) >>> 0;
const rand = () => { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const agent6 = new http.Agent({ keepAlive: true, maxSockets: 1 });
const agent4 = new http.Agent({ keepAlive: true, maxSockets: 1 });
const FC = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
const IP = 'urn:schemas-upnp-org:service:WANIPConnection:2';
function soap(v6, service, action, args) {
  const body = '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:' + action + ' xmlns:u="' + service + '">' +
    Object.entries(args).map(([k, v]) => '<' + k + '>' + v + '</' + k + '>').join('') + '</u:' + action + '></s:Body></s:Envelope>';
  return new Promise((resolve) => {
    const req = http.request({ host: v6 ? host6 : '192.168.77.1', port: 5000, method: 'POST', path: v6 ? '/igd/ctl/IPv6Firewall' : '/igd/ctl/IPConnection',
      localAddress: v6 ? client6 : client4, agent: v6 ? agent6 : agent4,
      headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: '"' + service + '#' + action + '"', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = ''; res.on('data', (d) => (text += d)); res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (e) => resolve({ status: 0, text: String(e) }));
    req.end(body);
  });
}
const uids = new Map();
(async () => {
  for (let i = 0; i < Number(countText); i++) {
    const port = (rand() < 0.5 ? 42000 : 43000) + Math.floor(rand() * ${PORTS});
    const v6 = port < 43000;
    const r = rand();
    let op = r < 0.45 ? 'add' : r < 0.7 ? 'renew' : 'delete';
    if (v6 && op !== 'add' && !uids.has(port)) op = 'add';
    console.log(JSON.stringify({ phase: 'start', op, port }));
    let res;
    if (v6 && op === 'add') res = await soap(true, FC, 'AddPinhole', { RemoteHost: '', RemotePort: 0, InternalClient: client6, InternalPort: port, Protocol: 17, LeaseTime: 600 });
    else if (v6 && op === 'renew') res = await soap(true, FC, 'UpdatePinhole', { UniqueID: uids.get(port), NewLeaseTime: 600 });
    else if (v6) res = await soap(true, FC, 'DeletePinhole', { UniqueID: uids.get(port) });
    else if (op === 'delete') res = await soap(false, IP, 'DeletePortMapping', { NewRemoteHost: '', NewExternalPort: port, NewProtocol: 'UDP' });
    else res = await soap(false, IP, 'AddPortMapping', { NewRemoteHost: '', NewExternalPort: port, NewProtocol: 'UDP', NewInternalPort: port, NewInternalClient: client4, NewEnabled: 1, NewPortMappingDescription: 'crash', NewLeaseDuration: 600 });
    const uid = /<UniqueID>(\d+)<\/UniqueID>/.exec(res.text);
    if (uid) uids.set(port, uid[1]);
    if (v6 && op === 'delete' && res.status === 200) uids.delete(port);
    console.log(JSON.stringify({ phase: 'done', op, port, status: res.status }));
  }
})();
`;

type Known = 'present' | 'absent' | 'unknown';

describeInLab('homenet gateway survives kill -9 (issue 5 crash test)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;

  beforeAll(async () => {
    lab = await startTestLab('gc');
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await stopTestLab(lab);
  });

  it(`${ROUNDS} rounds of kill -9 during add/renew/delete: zero orphans, zero lost grants`, async () => {
    const plan = lab!.plan;
    const client6 = plan.hosts.console.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
    const client4 = plan.hosts.console.interfaces[0].ipv4[0].address;
    const script = `${plan.runDir}/crash-stream.js`;
    writeFileSync(script, STREAM_AGENT);
    const keyOf = (port: number) => (port < 43000 ? `pinhole|ipv6|udp|${client6}|${port}|-` : `port-mapping|ipv4|udp|${client4}|${port}|${port}`);
    const model = new Map<string, Known>();
    const report: string[] = [];
    let seed = 20251129;

    for (let round = 1; round <= ROUNDS; round++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const killAfterMs = seed % 400;
      // Kill the daemon at a random point of the stream, once it has started sending.
      const out = await streamUntilRouterKilled(plan.hosts.console.namespace, script, [plan.lan.routerIpv6, client6, client4, String(seed), '400'], router.process.pid, killAfterMs);

      // What the clients were told: 200 to an add/renew = must exist; 200 to a delete = must not; anything else unknown.
      let ops = 0;
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const e = JSON.parse(line) as { phase: string; op: string; port: number; status?: number };
        const key = keyOf(e.port);
        if (e.phase === 'start') {
          model.set(key, 'unknown');
          ops++;
        } else if (e.status === 200) model.set(key, e.op === 'delete' ? 'absent' : 'present');
      }

      router = await restartHomenetRouter(plan, router.process, 'SIGKILL');
      const kernel = await kernelEntries(lab!);
      const grants = await adminGet<{ id: string; needId: string; table: string; family: string; protocol: string; internalClient: string; internalPort: number; externalPort?: number; state: string }[]>(lab!, router, '/api/grants');
      const needs = await adminGet<{ id: string; deadline: number; verdict: string }[]>(lab!, router, '/api/needs');
      const db = new Database(router.paths.journal, { readonly: true, fileMustExist: true });
      const journalNeeds = (db.prepare('SELECT id FROM needs WHERE ended_at IS NULL').all() as { id: string }[]).map((r) => r.id).sort();
      const journalGrants = (db.prepare('SELECT id FROM grants').all() as { id: string }[]).map((r) => r.id).sort();
      db.close();

      const kernelKeys = kernel.map((e) => entryKeyOf(e)).sort();
      const engineKeys = grants.map((g) => entryKeyOf({ ...g, kind: g.table })).sort();
      const context = `round ${round} (seed ${seed}, kill ${killAfterMs} ms into the stream, ${ops} requests started)`;
      // Zero orphans and zero lost grants: the kernel holds exactly the engine's grants, each owned by one.
      expect({ context, kernel: kernelKeys }).toEqual({ context, kernel: engineKeys });
      for (const e of kernel) expect({ context, owner: e.owner }).toEqual({ context, owner: expect.stringMatching(/#ipv[46]$/) });
      expect({ context, owners: kernel.map((e) => e.owner).sort() }).toEqual({ context, owners: grants.map((g) => g.id).sort() });
      // The journal holds the same needs as the running daemon, and a grant row for each grant.
      expect({ context, journal: journalNeeds }).toEqual({ context, journal: needs.map((n) => n.id).sort() });
      expect({ context, journalGrants }).toEqual({ context, journalGrants: grants.map((g) => g.id).sort() });
      // Every promise kept, every delete honoured.
      for (const [key, known] of model) {
        if (known === 'unknown') continue;
        expect({ context, key, inKernel: kernelKeys.includes(key) }).toEqual({ context, key, inKernel: known === 'present' });
      }
      // No lease longer than its client's deadline.
      const deadlineOf = new Map(needs.map((n) => [n.id, n.deadline]));
      const now = Date.now();
      for (const e of kernel) {
        const needId = (e.owner ?? '').replace(/#ipv[46]$/, '');
        const left = ((deadlineOf.get(needId) ?? 0) - now) / 1000;
        expect({ context, owner: e.owner, tooLong: (e.expiresInSeconds ?? 0) > left + 2 }).toEqual({ context, owner: e.owner, tooLong: false });
      }
      // The model now knows what exists.
      for (const key of model.keys()) model.set(key, kernelKeys.includes(key) ? 'present' : 'absent');
      report.push(`${context}: ${kernel.length} entries, ${needs.length} needs`);
    }
    // The stream really exercised the daemon: requests were in flight, entries were there to lose.
    expect(report.every((line) => !/, 0 requests started/.test(line))).toBe(true);
    expect([...model.values()].filter((k) => k === 'present').length).toBeGreaterThan(0);
    process.stdout.write(`${report.join('\n')}\n`);
  });
});
