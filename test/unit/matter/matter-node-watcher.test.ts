// The node watcher reads a node again after a failed read, backing off, instead of waiting a whole interval.
import { VirtualTimeScheduler } from 'rxjs';
import { watchMatterNodes, MatterNodeReader } from '../../../adapters/matter/matter-node-watcher';
import type { MatterNodeReport } from '../../../adapters/matter/matter-controller';
import type { DeviceSeen } from '../../../policies/model/event';

const NODE = '0000000000000001';

function report(): MatterNodeReport {
  return {
    nodeId: NODE,
    compressedFabricId: 'AA68A939AAD6676C',
    vendorName: 'homenet lab',
    productName: 'homenet lab plug',
    endpoints: [{ endpoint: 1, deviceTypes: [{ id: 266, name: 'On/Off Plug-in Unit', revision: 1 }] }],
    interfaces: [{ name: 'eth0', operational: true, hardwareAddress: '8a:9c:a4:c7:19:5f', ipv4: [], ipv6: ['2001:db8:77::20'], type: 2 }],
    elapsedMs: 1,
  };
}

/** A controller whose first `failFirst` reads reject; each read settles at once (a resolved/rejected promise). */
function reader(failFirst: number): MatterNodeReader & { readsAt: number[] } {
  const readsAt: number[] = [];
  let calls = 0;
  return {
    readsAt,
    nodeIds: () => [NODE],
    read: () => {
      calls++;
      return calls <= failFirst ? Promise.reject(new Error('no answer within 10000 ms')) : Promise.resolve(report());
    },
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('watchMatterNodes', () => {
  it('reads a node again after a failed read, doubling the wait, and emits once it answers', async () => {
    const scheduler = new VirtualTimeScheduler();
    const controller = reader(3);
    const times: number[] = [];
    const original = controller.read.bind(controller);
    controller.read = (id: string, t?: number) => {
      times.push(scheduler.now());
      return original(id, t);
    };
    const problems: number[] = [];
    const events: DeviceSeen[] = [];
    const sub = watchMatterNodes({ controller, scheduler, retryMs: 1000, intervalMs: 60_000, onProblem: (p) => problems.push(p.at) }).subscribe((e) => events.push(e));
    // Step virtual time by hand so that promise callbacks (microtasks) run between the scheduled reads.
    for (let t = 0; t <= 10_000; t += 500) {
      scheduler.maxFrames = t;
      scheduler.flush();
      await flush();
    }
    sub.unsubscribe();
    expect(times).toEqual([0, 1000, 3000, 7000]);
    expect(problems).toHaveLength(3);
    expect(events).toHaveLength(1);
  });

  it('a node that answers is not read again before the interval', async () => {
    const scheduler = new VirtualTimeScheduler();
    const controller = reader(0);
    let reads = 0;
    const original = controller.read.bind(controller);
    controller.read = (id: string, t?: number) => {
      reads++;
      return original(id, t);
    };
    const sub = watchMatterNodes({ controller, scheduler, retryMs: 1000, intervalMs: 60_000 }).subscribe();
    for (let t = 0; t <= 30_000; t += 500) {
      scheduler.maxFrames = t;
      scheduler.flush();
      await flush();
    }
    sub.unsubscribe();
    expect(reads).toBe(1);
  });
});
