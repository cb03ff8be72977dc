/**
 * A gateway's write path run until it is killed: needs, add/renew/delete
 * intents, the firewall change (real nft in a namespace when one is given),
 * and markApplied. Prints one line after each call returns, so the parent
 * knows what was acknowledged before the `kill -9`:
 * `N need` (saved), `A key grant op lease` (applied), `S need` (ending started), `E need` (ended).
 *
 * Usage: node crash-writer.js DB ROUND SEED [NETNS]
 * With HN_CRASH_RETENTION_BYTES set, the journal prunes as it writes (history
 * older than 100 ms, that many bytes, a prune every 7 writes), so kills also
 * land in the middle of prunes.
 */
import { writeSync } from 'node:fs';
import type { Action } from '../../../../policies/model/action';
import { openJournal, desiredEntries } from '../../../../plugin/gateway/journal';
import { createNftablesAdapter, NftablesAdapter } from '../../../../adapters/nftables';

const [db, roundText, seedText, netns] = process.argv.slice(2);
const round = Number(roundText);
let seed = Number(seedText) >>> 0;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
// Synchronous: a line is in the pipe before the writer goes on, so a kill -9 cannot
// drop an acknowledgement that was already given (process.stdout queues in user
// space once the pipe is full, and those lines die with the process).
const say = (line: string) => writeSync(1, line + '\n');

function act(op: Action['op'], needId: string, i: number, family: 'ipv4' | 'ipv6', key: string, lease: number, generation: number): Action {
  const v6 = family === 'ipv6';
  return {
    type: 'action',
    seq: 0,
    at: Date.now(),
    op,
    table: v6 ? 'pinhole' : 'port-mapping',
    key,
    gatewayId: 'gw',
    grantId: `${needId}#${family}`,
    needId,
    generation,
    family,
    protocol: i % 2 ? 'tcp' : 'udp',
    // Unique per need across rounds (i = round * 100000 + counter): no two needs share an element.
    internalClient: v6 ? `2001:db8:77:${Math.floor(i / 100000).toString(16)}::${(i % 100000).toString(16)}` : `192.168.${Math.floor(i / 100000) % 250}.${(i % 250) + 2}`,
    internalPort: 3000 + (i % 100000),
    ...(v6 ? {} : { externalPort: 1024 + ((Math.floor(i / 100000) * 2500 + (i % 100000)) % 64000) }),
    remoteHost: '',
    remotePort: 0,
    leaseSeconds: lease,
    reason: { rule: 'crash-test', code: 'crash-test' } as unknown as Action['reason'],
  };
}

async function main(): Promise<void> {
  const retentionBytes = process.env.HN_CRASH_RETENTION_BYTES;
  const journal = openJournal({ path: db, clock: Date.now, ...(retentionBytes ? { retention: { maxAgeMs: 100, maxBytes: Number(retentionBytes), pruneEveryWrites: 7 } } : {}) });
  const fw: NftablesAdapter | undefined = netns ? createNftablesAdapter({ wanInterfaces: ['wan0'], netns }) : undefined;
  const recovery = journal.recover();
  if (fw) await fw.reconcile(desiredEntries(recovery.grants));
  const live = recovery.needs.map((n) => ({ id: n.id, i: Number(n.request.sessionId ?? 0) }));
  let counter = 0;
  say('ready');
  const change = async (actions: Action[]) => {
    journal.recordIntents(actions);
    if (fw) await fw.apply(actions);
    else await new Promise((r) => setImmediate(r));
    journal.markAppliedMany(actions.map((a) => a.key));
    for (const a of actions) say(`A ${a.key} ${a.grantId} ${a.op} ${a.leaseSeconds}`);
  };
  for (;;) {
    const r = random();
    counter++;
    if (r < 0.45 || live.length < 3) {
      const i = round * 100_000 + counter;
      const id = `r${round}-n${counter}`;
      journal.saveNeed({ id, requester: { deviceId: `d${i % 7}` }, protocol: 'udp', internalPort: 3000, family: 'both', class: 'game-session', sessionId: String(i) });
      say(`N ${id}`);
      const lease = random() < 0.2 ? 2 : 3600;
      const batch = [act('add', id, i, 'ipv6', `add|${id}|ipv6`, lease, 1), act('add', id, i, 'ipv4', `add|${id}|ipv4`, lease, 1)];
      await change(batch);
      live.push({ id, i });
    } else if (r < 0.75) {
      const n = live[Math.floor(random() * live.length)];
      await change([act('renew', n.id, n.i, random() < 0.5 ? 'ipv6' : 'ipv4', `renew|${n.id}|${round}|${counter}`, 3600, 1)]);
    } else {
      const [n] = live.splice(Math.floor(random() * live.length), 1);
      say(`S ${n.id}`); // ending starts: until 'E', the need may or may not have ended
      journal.endNeed(n.id, 'released');
      say(`E ${n.id}`);
      await change([act('delete', n.id, n.i, 'ipv6', `del|${n.id}|ipv6`, 0, 1), act('delete', n.id, n.i, 'ipv4', `del|${n.id}|ipv4`, 0, 1)]);
    }
    if (counter % 5 === 0) journal.appendDecision({ type: 'decision', seq: counter, at: Date.now(), cause: 'tick', needId: 'x', deviceId: 'x', verdict: 'granted', reasons: [], changes: [], grants: [] });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
