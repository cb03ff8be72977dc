/**
 * Which engine decisions a person should see in Home Assistant (the "Decision"
 * event entity), and the event each becomes: `{"event_type", "reason_code",
 * "rule", "text", "device_id", "need_id", "verdict"}`. Pure.
 *
 * - `matter-refused`: a port for a Matter / Thread / IoT device refused (matter-isolation);
 * - `port-opening-refused`: a device the owner switched off asked for a port (owner-port-opening);
 * - `conflict-settled`: two needs wanted the same thing and one gave way (pre-emption, an external port taken or reassigned);
 * - `router-reboot-recovered`: the router rebooted and the grants were put back (one event per reboot, see {@link RebootCoalescer}).
 *
 * @example
 * ```ts
 * notableEventOf(decision)?.event_type; // 'matter-refused' for the plug's refused pinhole
 * ```
 */
import type { Decision } from '../../policies/model/decision';

export const NOTABLE_EVENT_TYPES = ['matter-refused', 'port-opening-refused', 'conflict-settled', 'router-reboot-recovered'] as const;
export type NotableEventType = (typeof NOTABLE_EVENT_TYPES)[number];

export interface NotableEvent {
  readonly event_type: NotableEventType;
  readonly reason_code: string;
  readonly rule: string;
  readonly text: string;
  readonly device_id: string;
  readonly need_id: string;
  readonly verdict: string;
}

const ISOLATION_CODES = new Set(['matter-device-isolation', 'thread-border-router', 'iot-device']);
const CONFLICT_CODES = new Set(['preempted', 'preempted-lower-class', 'external-port-in-use', 'external-port-reassigned', 'external-port-held-by-router']);

function textOf(r: { rule: string; code: string; detail?: string; conflictsWith?: { kind: string; id: string } }): string {
  const party = r.conflictsWith ? ` (${r.conflictsWith.kind} ${r.conflictsWith.id})` : '';
  return `${r.rule}/${r.code}${party}${r.detail ? `: ${r.detail}` : ''}`;
}

/** The event a decision becomes, or undefined when it is routine. */
export function notableEventOf(d: Decision): NotableEvent | undefined {
  const pick = (type: NotableEventType, r: Decision['reasons'][number]): NotableEvent => ({
    event_type: type,
    reason_code: r.code,
    rule: r.rule,
    text: textOf(r),
    device_id: d.deviceId,
    need_id: d.needId,
    verdict: d.verdict,
  });
  for (const r of d.reasons) {
    if (d.verdict === 'denied' && r.rule === 'matter-isolation' && ISOLATION_CODES.has(r.code)) return pick('matter-refused', r);
    if (d.verdict === 'denied' && r.rule === 'owner-port-opening') return pick('port-opening-refused', r);
    if (CONFLICT_CODES.has(r.code) && r.conflictsWith?.kind === 'need') return pick('conflict-settled', r);
    if (r.code === 'gateway-rebooted' && (d.verdict === 'granted' || d.verdict === 'granted-with-changes')) return pick('router-reboot-recovered', r);
  }
  return undefined;
}

/**
 * One `router-reboot-recovered` per reboot: a reboot re-adds every grant, so
 * its decisions come in a burst; later ones within `windowMs` are dropped.
 */
export class RebootCoalescer {
  private last = -Infinity;

  constructor(private readonly windowMs = 5000) {}

  /** True when this event should be sent (at `now` ms). */
  admit(event: NotableEvent, now: number): boolean {
    if (event.event_type !== 'router-reboot-recovered') return true;
    if (now - this.last < this.windowMs) return false;
    this.last = now;
    return true;
  }
}
