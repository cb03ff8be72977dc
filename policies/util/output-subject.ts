import { ObjectUnsubscribedError, Observer, Subject, config } from 'rxjs';

/** The Subject internals `next` relies on (rxjs 7); checked once, else the stock `next` is used. */
interface SubjectInternals<T> {
  currentObservers: Observer<T>[] | null;
  observers: Observer<T>[];
}

const INTERNALS_AS_EXPECTED = (() => {
  const probe = new Subject<void>() as unknown as SubjectInternals<void>;
  return 'currentObservers' in probe && probe.currentObservers === null && Array.isArray(probe.observers);
})();

/**
 * The Subject behind the engine's output Observables. `next` does exactly
 * what rxjs 7's `Subject.next` does with the default (asynchronous) error
 * handling: throw if the subject was unsubscribed, ignore values after
 * completion, and deliver to a snapshot of the current observers in
 * subscription order. It just skips the closure and the iterator objects
 * rxjs's ES5 build allocates for every value, which showed up as a tenth of
 * the engine's garbage. Anything else (synchronous error handling, other
 * internals) goes through the stock implementation.
 */
export class OutputSubject<T> extends Subject<T> {
  override next(value: T): void {
    if (!INTERNALS_AS_EXPECTED || config.useDeprecatedSynchronousErrorHandling) {
      super.next(value);
      return;
    }
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    const self = this as unknown as SubjectInternals<T>;
    let observers = self.currentObservers;
    if (!observers) observers = self.currentObservers = Array.from(self.observers);
    for (let i = 0; i < observers.length; i++) observers[i].next(value);
  }
}
