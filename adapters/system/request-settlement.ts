/**
 * The settling of one HTTP request's promise when several things race to end
 * it (the answer, a socket error, an oversized body, the timeout): the first
 * `finish` wins and clears the timer; with an error it also destroys the
 * request. Later calls do nothing.
 *
 * @example
 * ```ts
 * return new Promise<Answer>((resolve, reject) => {
 *   const settlement = new RequestSettlement<Answer>(resolve, reject);
 *   const { finish } = settlement;
 *   const req = (settlement.request = request(url, (res) => readAnswer(res, finish)));
 *   settlement.timer = setTimeout(() => finish(new Error('no answer within 5 s')), 5000);
 *   req.on('error', (error) => finish(error));
 *   req.end();
 * });
 * ```
 */
export class RequestSettlement<T> {
  /** The request to destroy when it ends with an error. */
  request: { destroy(): void } | undefined;
  /** The timeout to clear when it ends. */
  timer: ReturnType<typeof setTimeout> | undefined;
  private settled = false;

  constructor(
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Whether `finish` was called. */
  get done(): boolean {
    return this.settled;
  }

  /** Ends the request: rejects with `error` (destroying the request), or resolves with `value`; only the first call counts. */
  readonly finish = (error: Error | undefined, value?: T): void => {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (error) {
      this.request?.destroy();
      this.reject(error);
    } else this.resolve(value as T);
  };
}
