/**
 * The gateway's PCP front under `kill -9` (issue 10, as issue 5's crash test for UPnP): rounds
 * of a stream of PCP MAP / delete requests (IPv6 pinholes and IPv4 mappings, raw datagrams
 * from the console namespace), the daemon killed at a random point; after each restart the
 * kernel table, the journal and the engine agree, every SUCCESS answered is held and every
 * delete answered SUCCESS is gone.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { adminGet, entryKeyOf, kernelEntries, streamUntilRouterKilled } from './gateway-lab-support';

jest.setTimeout(300_000);

const ROUNDS = 8;
const PORTS = 10;

/** The request stream, plain JS run with node inside the console namespace. */
const STREAM_AGENT = String.raw`
const dgram = require('dgram');
const [server6, server4, client6, client4, seedText, countText] = process.argv.slice(2);
let seed = Number(seedText) >>> 0;
const rand = () => { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
function addr16(a) {
  if (a.includes('.')) return Buffer.from([0,0,0,0,0,0,0,0,0,0,255,255, ...a.split('.').map(Number)]);
  const [h, t] = a.split('::'); const hp = h ? h.split(':') : []; const tp = t ? t.split(':') : [];
  const parts = [...hp, ...Array(8 - hp.length - tp.length).fill('0'), ...tp];
  const b = Buffer.alloc(16); parts.forEach((p, i) => b.writeUInt16BE(parseInt(p, 16), i * 2)); return b;
}
const s6 = dgram.createSocket('udp6'); const s4 = dgram.createSocket('udp4');
function ask(v6, port, lifetime) {
  const client = v6 ? client6 : client4;
  const m = Buffer.alloc(60); m[0] = 2; m[1] = 1; m.writeUInt32BE(lifetime, 4); addr16(client).copy(m, 8);
  Buffer.from(('nonce-' + port).padEnd(12, '-')).copy(m, 24); m[36] = 17; m.writeUInt16BE(port, 40); m.writeUInt16BE(v6 ? 0 : port, 42);
  addr16(v6 ? '::' : '0.0.0.0').copy(m, 44);
  const s = v6 ? s6 : s4;
  return new Promise((resolve) => {
    const timer = setTimeout(() => { s.removeListener('message', on); resolve(-1); }, 3000);
    const on = (d) => { if (d.length >= 60 && d.readUInt16BE(40) === port) { clearTimeout(timer); s.removeListener('message', on); resolve(d[3]); } };
    s.on('message', on);
    s.send(m, 5351, v6 ? server6 : server4);
  });
}
Promise.all([new Promise((r) => s6.bind({ address: client6 }, r)), new Promise((r) => s4.bind({ address: client4 }, r))]).then(async () => {
  for (let i = 0; i < Number(countText); i++) {
    const port = (rand() < 0.5 ? 44000 : 45000) + Math.floor(rand() * ${PORTS});
    const v6 = port < 45000;
    const op = rand() < 0.6 ? 'map' : 'delete';
    console.log(JSON.stringify({ phase: 'start', op, port }));
    const result = await ask(v6, port, op === 'map' ? 600 : 0);
    console.log(JSON.stringify({ phase: 'done', op, port, result }));
  }
  process.exit(0);
});
`;

type Known = 'present' | 'absent' | 'unknown';

describeInLab('homenet gateway PCP front survives kill -9', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;

  beforeAll(async () => {
    lab = await startTestLab('pc');
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await stopTestLab(lab);
  });

  it(`${ROUNDS} rounds of kill -9 during a PCP MAP / delete stream: kernel = engine = journal, every answer kept`, async () => {
    const plan = lab!.plan;
    const client6 = plan.hosts.console.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
    const client4 = plan.hosts.console.interfaces[0].ipv4[0].address;
    const script = `${plan.runDir}/pcp-crash-stream.js`;
    writeFileSync(script, STREAM_AGENT);
    const keyOf = (port: number) => (port < 45000 ? `pinhole|ipv6|udp|${client6}|${port}|-` : `port-mapping|ipv4|udp|${client4}|${port}|${port}`);
    const model = new Map<string, Known>();
    const report: string[] = [];
    let seed = 20261129;
    let answered = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const killAfterMs = seed % 300;
      // Kill the daemon at a random point of the stream, once it has started sending.
      const out = await streamUntilRouterKilled(plan.hosts.console.namespace, script, [plan.lan.routerIpv6, plan.lan.routerIpv4, client6, client4, String(seed), '400'], router.process.pid, killAfterMs);

      let ops = 0;
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const e = JSON.parse(line) as { phase: string; op: string; port: number; result?: number };
        const key = keyOf(e.port);
        if (e.phase === 'start') {
          model.set(key, 'unknown');
          ops++;
        } else if (e.result === 0) {
          answered++;
          model.set(key, e.op === 'delete' ? 'absent' : 'present');
        }
      }

      router = await restartHomenetRouter(plan, router.process, 'SIGKILL');
      const kernel = await kernelEntries(lab!);
      const grants = await adminGet<{ id: string; table: string; family: string; protocol: string; internalClient: string; internalPort: number; externalPort?: number }[]>(lab!, router, '/api/grants');
      const needs = await adminGet<{ id: string }[]>(lab!, router, '/api/needs');
      const db = new Database(router.paths.journal, { readonly: true, fileMustExist: true });
      const journalNeeds = (db.prepare('SELECT id FROM needs WHERE ended_at IS NULL').all() as { id: string }[]).map((r) => r.id).sort();
      db.close();

      const kernelKeys = kernel.map((e) => entryKeyOf(e)).sort();
      const engineKeys = grants.map((g) => entryKeyOf({ ...g, kind: g.table })).sort();
      const context = `round ${round} (seed ${seed}, kill ${killAfterMs} ms into the stream, ${ops} requests started)`;
      expect({ context, kernel: kernelKeys }).toEqual({ context, kernel: engineKeys });
      expect({ context, journal: journalNeeds }).toEqual({ context, journal: needs.map((n) => n.id).sort() });
      for (const [key, known] of model) {
        if (known === 'unknown') continue;
        expect({ context, key, inKernel: kernelKeys.includes(key) }).toEqual({ context, key, inKernel: known === 'present' });
      }
      for (const key of model.keys()) model.set(key, kernelKeys.includes(key) ? 'present' : 'absent');
      report.push(`${context}: ${kernel.length} entries, ${needs.length} needs`);
    }
    expect(answered).toBeGreaterThan(ROUNDS);
    expect([...model.values()].filter((k) => k === 'present').length).toBeGreaterThan(0);
    process.stdout.write(`${report.join('\n')}\nSUCCESS answers: ${answered}\n`);
  });
});
