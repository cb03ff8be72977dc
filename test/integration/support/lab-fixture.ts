import { describeAsRoot } from '../../support/describe-as-root';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp, LabHandle, LabUpOptions } from '../../../plugin/lab/lab';
import { LabRole } from '../../../plugin/lab/lab-plan';
import { CommandResult, runCommand } from '../../../adapters/system/run-command';

/** The compiled CLI; `npm test` builds it first. */
export const HOMENET = join(__dirname, '../../../dist/homenet.js'); // the bin users run (bundled)

/** `describe` for tests that need the lab: root, as every namespace test (see describe-as-root.ts). */
export const describeInLab: jest.Describe = describeAsRoot;

/** A lab instance private to one test file, with a prefix no other run uses. */
export async function startTestLab(tag: string, options: Pick<LabUpOptions, 'matter' | 'profile' | 'router'> = {}): Promise<LabHandle> {
  if (!existsSync(HOMENET)) throw new Error(`${HOMENET} is missing: run 'npm run build' first (npm test does)`);
  const prefix = `${tag}${(process.pid % 46656).toString(36)}`.slice(0, 8);
  return labUp({ prefix, ...options });
}

export async function stopTestLab(lab: LabHandle | undefined): Promise<void> {
  if (lab) await labDown({ prefix: lab.plan.prefix });
}

/** Runs the `homenet` CLI inside a lab host's namespace. */
export function homenetIn(lab: LabHandle, role: LabRole, args: string[], timeoutMs = 20_000): Promise<CommandResult> {
  return runCommand('ip', ['netns', 'exec', lab.plan.hosts[role].namespace, process.execPath, HOMENET, ...args], {
    allowFailure: true,
    timeoutMs,
  });
}

/** Parses the last JSON document a command printed on stdout. */
export function lastJson<T>(result: CommandResult): T {
  const text = result.stdout.trim();
  const start = text.lastIndexOf('\n{');
  try {
    return JSON.parse(start >= 0 ? text.slice(start + 1) : text) as T;
  } catch {
    throw new Error(`expected JSON from homenet (exit ${result.code}), got:\n${result.stdout}\n${result.stderr}`);
  }
}
