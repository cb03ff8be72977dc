import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNftablesAdapter } from '../../../adapters/nftables/nftables-adapter';
import { NftCommandError, NftInvalidEntryError } from '../../../adapters/nftables/nft-errors';
import { NftResult, NftRunner } from '../../../adapters/nftables/nft-runner';
import { action, mapping } from './support';

const fixture = readFileSync(join(__dirname, '../../fixtures/nftables/table-mixed.json'), 'utf8');
const missing = readFileSync(join(__dirname, '../../fixtures/nftables/missing-table.stderr'), 'utf8');

/** A scripted nft: answers in order, records every call. */
function scripted(answers: Partial<NftResult>[]): { run: NftRunner; calls: { args: readonly string[]; input?: string }[] } {
  const calls: { args: readonly string[]; input?: string }[] = [];
  const run: NftRunner = async (args, input) => {
    calls.push({ args, input });
    const a = answers.shift() ?? {};
    return { code: 0, stdout: '', stderr: '', argv: ['nft', ...args], ...a };
  };
  return { run, calls };
}

const EEXIST = { code: 1, stderr: 'Error: Could not process rule: File exists\nadd element inet homenet portmap_ipv4 { udp . 3074 : 192.168.77.10 . 3074 }\n' };

describe('createNftablesAdapter', () => {
  it('applies a batch of actions in one nft -f transaction', async () => {
    const { run, calls } = scripted([{}]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run });
    const report = await fw.apply([action(), mapping({ op: 'delete', key: 'del' }), action({ op: 'renew', key: 'ren', leaseSeconds: 60 })]);
    expect(report.path).toBe('fast');
    expect(report.feedback).toEqual([
      { type: 'action-succeeded', key: action().key },
      { type: 'action-succeeded', key: 'del' },
      { type: 'action-succeeded', key: 'ren' },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0].args).toEqual(['-f', '-']);
    expect(calls[0].input!.trim().split('\n')).toEqual([
      'add element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 }',
      'delete element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 }',
      'add element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 timeout 3600s comment "n1#ipv6" }',
      'add element inet homenet portmap_ipv4 { udp . 3074 : 192.168.77.10 . 3074 }',
      'delete element inet homenet portmap_ipv4 { udp . 3074 }',
      'add element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 }',
      'delete element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 }',
      'add element inet homenet pinhole_ipv6 { 2001:db8:77::10 . udp . 3074 timeout 60s comment "n1#ipv6" }',
    ]);
  });

  it('rejects an invalid action before touching the kernel', async () => {
    const { run, calls } = scripted([]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run });
    await expect(fw.apply([action(), action({ key: 'bad', internalClient: 'not-an-address' })])).rejects.toThrow(NftInvalidEntryError);
    await expect(fw.apply([action({ key: 'bad', internalClient: 'x' })])).rejects.toThrow(/invalid firewall entry bad: internalClient="x"/);
    expect(calls).toHaveLength(0);
  });

  it('falls back to a read-back when a map element holds other data: deletes it first, or leaves it when deleting', async () => {
    // The fixture maps udp 3074 to 192.168.77.10 (console-a).
    const { run, calls } = scripted([EEXIST, { stdout: fixture }, {}]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run });
    const report = await fw.apply([mapping({ key: 'b', internalClient: '192.168.77.11', grantId: 'b#ipv4' }), mapping({ op: 'delete', key: 'gone', externalPort: 4000 })]);
    expect(report.path).toBe('exact');
    expect(calls.map((c) => c.args.join(' '))).toEqual(['-f -', '-j list table inet homenet', '-f -']);
    expect(calls[2].input!.trim().split('\n')).toEqual([
      'delete element inet homenet portmap_ipv4 { udp . 3074 }',
      'add element inet homenet portmap_ipv4 { udp . 3074 timeout 3600s comment "b#ipv4" : 192.168.77.11 . 3074 }',
    ]);

    const again = scripted([EEXIST, { stdout: fixture }, {}]);
    const fw2 = createNftablesAdapter({ wanInterfaces: ['wan0'], run: again.run });
    const r2 = await fw2.apply([mapping({ op: 'delete', key: 'not-mine', internalClient: '192.168.77.99' })]);
    expect(r2.skipped).toEqual(['not-mine']);
    expect(again.calls).toHaveLength(2); // nothing left to write
  });

  it('throws a typed error carrying nft stderr for other failures', async () => {
    const { run } = scripted([{ code: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' }]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run });
    const error = await fw.apply([action()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NftCommandError);
    expect((error as NftCommandError).stderr).toContain('Operation not permitted');
    expect((error as NftCommandError).script).toContain('add element inet homenet pinhole_ipv6');
    expect((error as NftCommandError).exitCode).toBe(1);
  });

  it('reads a missing table as absent, and reconcile installs it then adds the desired', async () => {
    const { run, calls } = scripted([{ code: 1, stderr: missing }, {}, { stdout: '{"nftables":[{"table":{"family":"inet","name":"homenet"}},{"chain":{"table":"homenet","name":"forward"}},{"chain":{"table":"homenet","name":"prerouting"}}]}' }, {}]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run, clock: () => 10_000 });
    const report = await fw.reconcile([
      { kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::10', internalPort: 1, remoteHost: '', remotePort: 0, leaseSeconds: 60, expiresAt: 40_000, owner: 'g' },
    ]);
    expect(report.installed).toBe(true);
    expect(calls[1].input).toContain('add table inet homenet');
    expect(calls[3].input).toContain('add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 1 timeout 60s expires 30s comment "g" }');
  });

  it('reconciles the captured table against a journal that knows one grant', async () => {
    const { run, calls } = scripted([{ stdout: fixture }, {}]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run, clock: () => 0 });
    const report = await fw.reconcile([
      { kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8:77::10', internalPort: 3074, remoteHost: '', remotePort: 0, leaseSeconds: 3600, expiresAt: 3600_000, owner: 'console-a/3074#ipv6' },
    ]);
    expect(report.plan.unchanged).toBe(1);
    expect(report.plan.remove).toHaveLength(6);
    const deletes = calls[1].input!.split('\n').filter((l) => l.startsWith('delete'));
    expect(deletes).toHaveLength(6);
    expect(deletes).toContain('delete element inet homenet portmap_ipv4_rhp { 198.51.100.2 . tcp . 2222 . 40000 }');
  });

  it('canonicalises desired addresses, and refuses a bad one before touching the kernel', async () => {
    const { run, calls } = scripted([{ stdout: fixture }, {}]);
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], run, clock: () => 0 });
    const entry = { kind: 'pinhole' as const, family: 'ipv6' as const, protocol: 'udp' as const, internalClient: '2001:DB8:77:0::10', internalPort: 3074, remoteHost: '', remotePort: 0, leaseSeconds: 3600, expiresAt: 3600_000, owner: 'console-a/3074#ipv6' };
    expect((await fw.reconcile([entry])).plan.unchanged).toBe(1);
    await expect(fw.reconcile([{ ...entry, internalClient: 'nope' }])).rejects.toThrow(/console-a\/3074#ipv6: internalClient="nope"/);
    await expect(fw.reconcile([{ ...entry, leaseSeconds: -5 }])).rejects.toThrow(/leaseSeconds=-5/);
    expect(calls).toHaveLength(2);
  });
});
