/**
 * The engine's output Subject delivers values without rxjs's per-value
 * allocations; everything observable must be what rxjs's Subject does.
 */
import { ObjectUnsubscribedError, Subject, Subscription } from 'rxjs';
import { OutputSubject } from '../../../../policies/util/output-subject';

function script(make: () => Subject<number>): string[] {
  const log: string[] = [];
  const s = make();
  const subs: Subscription[] = [];
  subs.push(s.subscribe({ next: (v) => log.push(`a${v}`), complete: () => log.push('a-done') }));
  subs.push(
    s.subscribe((v) => {
      log.push(`b${v}`);
      if (v === 2) subs[0].unsubscribe(); // an earlier observer leaves mid-delivery
      if (v === 3) subs.push(s.subscribe((w) => log.push(`c${w}`))); // a new one joins mid-delivery
    }),
  );
  subs.push(s.subscribe((v) => log.push(`d${v}`)));
  for (const v of [1, 2, 3, 4]) s.next(v);
  log.push(`observed ${s.observed}`);
  s.complete();
  s.next(5); // ignored after completion
  s.subscribe({ complete: () => log.push('late-done') });
  s.unsubscribe();
  try {
    s.next(6);
  } catch (e) {
    log.push(e instanceof ObjectUnsubscribedError ? 'throws ObjectUnsubscribedError' : `throws ${String(e)}`);
  }
  return log;
}

describe('OutputSubject', () => {
  it('delivers, snapshots observers, completes and fails exactly like Subject', () => {
    const expected = script(() => new Subject<number>());
    expect(expected).toContain('throws ObjectUnsubscribedError');
    expect(script(() => new OutputSubject<number>())).toEqual(expected);
  });

  it('reports observers like Subject', () => {
    const s = new OutputSubject<number>();
    expect(s.observed).toBe(false);
    const sub = s.asObservable().subscribe();
    expect(s.observed).toBe(true);
    sub.unsubscribe();
    expect(s.observed).toBe(false);
  });
});
