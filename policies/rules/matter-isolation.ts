import { Device, isIsolatedKind } from '../model/device';
import { Reason, reason } from '../model/reason';

/**
 * Rule 1, Matter and IoT isolation: no inbound grant to any address of a
 * device known to be Matter, a Thread border router or another IoT kind,
 * unless the owner explicitly allowed that device. Applied on every need and
 * again whenever a device's kinds change, so a device revealed as Matter after
 * a grant loses it in the same event.
 *
 * @returns `{ deny }` to refuse, `{ allow }` for an isolated device the owner
 *          allowed (the reason is kept on the decision), `undefined` otherwise.
 */
export function checkIsolation(target: Device | undefined): { deny: Reason } | { allow: Reason } | undefined {
  if (!target) return undefined;
  const evidence = isIsolatedKind(target.kinds);
  if (!evidence) return undefined;
  const detail = `${target.id} is ${evidence.kind} (${evidence.evidence})`;
  if (target.ownerAllowed) {
    return { allow: reason('matter-isolation', 'owner-allowed', { detail }) };
  }
  const code = evidence.kind === 'matter' ? 'matter-device-isolation' : evidence.kind === 'thread-border-router' ? 'thread-border-router' : 'iot-device';
  return { deny: reason('matter-isolation', code, { conflictsWith: { kind: 'device', id: target.id }, detail }) };
}
