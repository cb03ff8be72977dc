import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { PolicyEvent, createPolicyEngine } from '../../../policies';
import { consoleDevice, gateway, submitNeed } from './support';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('policy engine on the rxjs TestScheduler (marbles)', () => {
  it('decides at the frame each event arrives; a Matter reveal withdraws in the same frame', () => {
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const values: Record<string, PolicyEvent> = {
        g: gateway(),
        a: consoleDevice('a', 10),
        b: consoleDevice('b', 11),
        x: submitNeed('x', 'a', { family: 'ipv4' }),
        y: submitNeed('y', 'b', { family: 'ipv4' }),
        p: { type: 'device-seen', deviceId: 'b', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }] },
        e: { type: 'need-ended', needId: 'x' },
      };
      const events$ = cold<PolicyEvent>('(gab) 10ms x 9ms y 9ms p 9ms e', values);
      const engine = createPolicyEngine({ scheduler: ts, events$ });
      expectObservable(engine.decisions$.pipe(map((d) => `${d.needId}:${d.verdict}:${d.reasons.map((r) => r.code).join('+')}`))).toBe('15ms a 9ms b 9ms c 9ms d', {
        a: 'x:granted:admitted',
        b: 'y:granted-with-changes:admitted+external-port-in-use',
        c: 'y:denied:matter-device-isolation',
        d: 'x:withdrawn:session-ended',
      });
      expectObservable(engine.actions$.pipe(map((a) => `${a.op}:${a.needId}:${a.externalPort}`))).toBe('15ms a 9ms b 9ms c 9ms d', {
        a: 'add:x:3074',
        b: 'add:y:3075',
        c: 'delete:y:3075',
        d: 'delete:x:3074',
      });
    });
  });

  it('renews on the virtual clock before half of the lease, until the session ends', () => {
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const events$ = cold<PolicyEvent>('1ms (gan) 9994ms e', {
        g: gateway(),
        a: consoleDevice('a', 10),
        n: submitNeed('n', 'a', { family: 'ipv6', leaseSeconds: 10 }),
        e: { type: 'need-ended', needId: 'n' },
      });
      const engine = createPolicyEngine({ scheduler: ts, events$ });
      expectObservable(engine.actions$.pipe(map((a) => `${a.op}@${a.at}`))).toBe('1ms a 3999ms b 3999ms c 1998ms d', {
        a: 'add@1',
        b: 'renew@4001',
        c: 'renew@8001',
        d: 'delete@10000',
      });
      expectObservable(engine.state$.pipe(map((s) => `${s.cause}:${s.grants}`))).toBe('1ms (wxy) 3995ms b 3999ms c 1998ms d', {
        w: 'gateway-seen:0',
        x: 'device-seen:0',
        y: 'need-submitted:1',
        b: 'lease-timer:1',
        c: 'lease-timer:1',
        d: 'need-ended:0',
      });
    });
  });
});
