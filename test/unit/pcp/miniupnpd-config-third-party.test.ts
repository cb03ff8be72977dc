import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labPlan } from '../../../plugin/lab/lab-plan';
import { miniupnpdAllowsThirdParty, miniupnpdConfig, miniupnpdPaths } from '../../../plugin/lab/miniupnpd-config';

describe('the lab miniupnpd.conf and PCP THIRD_PARTY', () => {
  const plan = labPlan({ prefix: 'cfg', runDir: mkdtempSync(join(tmpdir(), 'pcp-cfg-')) });

  it('leaves THIRD_PARTY at miniupnpd\'s default (off) unless asked', () => {
    expect(miniupnpdConfig(plan)).not.toMatch(/pcp_allow_thirdparty/);
    expect(miniupnpdConfig(plan, { pcpAllowThirdParty: true }).split('\n')).toContain('pcp_allow_thirdparty=yes');
  });

  it('reads the setting back from the written file (so reboot-router keeps it)', async () => {
    expect(await miniupnpdAllowsThirdParty(plan)).toBe(false); // no file yet
    writeFileSync(miniupnpdPaths(plan).config, miniupnpdConfig(plan, { pcpAllowThirdParty: true }));
    expect(await miniupnpdAllowsThirdParty(plan)).toBe(true);
    writeFileSync(miniupnpdPaths(plan).config, miniupnpdConfig(plan));
    expect(await miniupnpdAllowsThirdParty(plan)).toBe(false);
  });
});
