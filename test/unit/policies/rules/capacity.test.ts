import { admitToTable } from '../../../../policies/rules/capacity';
import { consoleDevice, gateway, harness, need } from '../support';

const rank = (classRank: number, priority: number, order: number) => ({ classRank, priority, order });

describe('rule: capacity', () => {
  it('admits while there is room', () => {
    expect(admitToTable({ gatewayId: 'gw', table: 'pinhole', used: 1, capacity: 2 }, rank(1, 0, 1), 'n', 'ipv6')).toEqual({
      admit: { code: 'admitted', rule: 'capacity', family: 'ipv6' },
    });
  });

  it('queues a need that does not outrank the weakest, naming the gateway', () => {
    const r = admitToTable({ gatewayId: 'gw', table: 'pinhole', used: 2, capacity: 2, weakest: { needId: 'w', rank: rank(1, 0, 1) } }, rank(1, 0, 5), 'n', 'ipv6');
    expect(r).toMatchObject({ queue: { code: 'capacity-full', conflictsWith: { kind: 'gateway', id: 'gw' } } });
  });

  it('pre-empts the weakest for a higher class; both sides name each other', () => {
    const r = admitToTable({ gatewayId: 'gw', table: 'port-mapping', used: 2, capacity: 2, weakest: { needId: 'w', rank: rank(0, 0, 1) } }, rank(2, 0, 5), 'voice', 'ipv4');
    expect(r).toMatchObject({
      admit: { code: 'preempted-lower-class', conflictsWith: { kind: 'need', id: 'w' } },
      victim: 'w',
      victimReason: { code: 'preempted', conflictsWith: { kind: 'need', id: 'voice' } },
    });
  });

  it('in the engine: never exceeds the table, queues, pre-empts and admits from the queue in rank order', () => {
    const h = harness();
    h.send(gateway({ pinholeCapacity: 2 }));
    for (let i = 1; i <= 5; i++) h.send(consoleDevice(`d${i}`, 10 + i));
    expect(h.engine.request(need('s1', 'd1', { family: 'ipv6', class: 'service' })).verdict).toBe('granted');
    expect(h.engine.request(need('g2', 'd2', { family: 'ipv6' })).verdict).toBe('granted');
    const g3 = h.engine.request(need('g3', 'd3', { family: 'ipv6' }));
    // the service need is weaker than a game session: it is pre-empted
    expect(g3).toMatchObject({ verdict: 'granted', reasons: [{ code: 'preempted-lower-class', conflictsWith: { kind: 'need', id: 's1' } }] });
    expect(h.decisions.filter((d) => d.needId === 's1').map((d) => d.verdict)).toEqual(['granted', 'queued']);
    const g4 = h.engine.request(need('g4', 'd4', { family: 'ipv6' }));
    expect(g4).toMatchObject({ verdict: 'queued', reasons: [{ code: 'capacity-full', conflictsWith: { kind: 'gateway', id: 'gw' } }] });
    expect(h.engine.snapshot().grants).toHaveLength(2);

    const end = h.send({ type: 'need-ended', needId: 'g2' });
    // g4 (game-session) outranks s1 (service) in the queue
    expect(end.decisions.map((d) => [d.needId, d.verdict])).toEqual([['g2', 'withdrawn'], ['g4', 'granted']]);
    expect(end.actions.map((a) => `${a.op}:${a.needId}`)).toEqual(['delete:g2', 'add:g4']);
    const end3 = h.send({ type: 'need-ended', needId: 'g3' });
    expect(end3.decisions.map((d) => [d.needId, d.verdict])).toEqual([['g3', 'withdrawn'], ['s1', 'granted']]);
    expect(h.engine.snapshot().grants.map((g) => g.needId)).toEqual(['g4', 's1']);
  });

  it('in the engine: lowering the capacity evicts the weakest', () => {
    const h = harness();
    h.send(gateway());
    for (let i = 1; i <= 3; i++) h.send(consoleDevice(`d${i}`, 10 + i));
    h.engine.request(need('a', 'd1', { family: 'ipv6', class: 'voice' }));
    h.engine.request(need('b', 'd2', { family: 'ipv6' }));
    h.engine.request(need('c', 'd3', { family: 'ipv6', priority: 5 }));
    const step = h.send(gateway({ pinholeCapacity: 2 }));
    expect(step.decisions.map((d) => [d.needId, d.verdict])).toEqual([['b', 'queued']]);
    expect(h.engine.snapshot().grants.map((g) => g.needId)).toEqual(['a', 'c']);
  });

  it('in the engine: two needs for the very same pinhole share one router entry', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('pc', 0x20));
    h.engine.request(need('game', 'pc', { family: 'ipv6' }));
    const second = h.engine.request(need('launcher', 'pc', { family: 'ipv6' }));
    expect(second).toMatchObject({ verdict: 'granted', grants: [], reasons: [{ code: 'pinhole-shared', rule: 'capacity', conflictsWith: { kind: 'need', id: 'game' } }] });
    expect(h.actions).toHaveLength(1);
    const end = h.send({ type: 'need-ended', needId: 'game' });
    // the sharer takes the entry over: delete then add of the same 5-tuple, with a new key
    expect(end.decisions.map((d) => [d.needId, d.verdict, d.grants.length])).toEqual([['game', 'withdrawn', 0], ['launcher', 'granted', 1]]);
    expect(end.actions.map((a) => a.op)).toEqual(['delete', 'add']);
    expect(end.actions[1].key).not.toBe(h.actions[0].key);
  });
});
