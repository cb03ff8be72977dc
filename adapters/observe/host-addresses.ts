import { spawn } from 'node:child_process';
import { Observable, distinctUntilChanged } from 'rxjs';
import { runCommand } from '../system/run-command';
import { HostAddress, parseIpAddrJson } from './host-address';

/** Reads this host's addresses now. */
export async function readHostAddresses(): Promise<HostAddress[]> {
  const { stdout } = await runCommand('ip', ['-j', 'addr', 'show'], { timeoutMs: 5000 });
  return parseIpAddrJson(stdout);
}

export interface WatchHostAddressesOptions {
  /** Re-read at least this often even without a kernel notification (default 30 s). */
  readonly refreshMs?: number;
}

/**
 * This host's addresses as they change: the current list at once, then a new
 * list each time the kernel reports an address change (`ip monitor address`)
 * and at least every `refreshMs` (lifetimes count down; deprecation is a
 * change too). Unchanged lists are not repeated.
 *
 * @example
 * ```ts
 * watchHostAddresses().subscribe((list) => console.log(list.map((a) => a.address)));
 * ```
 */
export function watchHostAddresses(options: WatchHostAddressesOptions = {}): Observable<HostAddress[]> {
  const refreshMs = options.refreshMs ?? 30_000;
  return new Observable<HostAddress[]>((subscriber) => {
    let closed = false;
    let pending: NodeJS.Timeout | undefined;
    const read = () => {
      readHostAddresses().then(
        (list) => !closed && subscriber.next(list),
        (error: unknown) => !closed && subscriber.error(error),
      );
    };
    const soon = () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        read();
      }, 30);
    };
    const monitor = spawn('ip', ['monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor.on('error', () => undefined); // polling below still works
    monitor.stdout.on('data', soon);
    const timer = setInterval(read, refreshMs);
    read();
    return () => {
      closed = true;
      clearInterval(timer);
      if (pending) clearTimeout(pending);
      monitor.kill();
    };
  }).pipe(
    distinctUntilChanged((a, b) => JSON.stringify(strip(a)) === JSON.stringify(strip(b))),
  );
}

// Lifetimes tick every second; compare what matters for choosing an address.
function strip(list: HostAddress[]) {
  return list.map((a) => [a.interface, a.address, a.prefixLength, a.temporary, a.deprecated, a.tentative]);
}
