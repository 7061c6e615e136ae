/** The incidents' reminder schedule: the rule, its rate from the config, its target, and the function's least-privilege grants. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../core/runtime-config.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { functionId, handlerStatements, list, resourcesOf, synth, type Synthesized } from './fixture.js';

let s: Synthesized;
beforeAll(() => {
  s = synth({ incidents: { updateEveryMinutes: 20, checkEveryMinutes: 4 } });
});

const scheduleRules = (x: Synthesized) => resourcesOf(x.json, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.['ScheduleExpression'] !== undefined);

describe('IncidentReminders', () => {
  it('one scheduled rule at the configured rate invokes the incidents function, and nothing else', () => {
    const rules = scheduleRules(s);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties!['ScheduleExpression']).toBe('rate(4 minutes)');
    expect(rule.Properties!['State']).toBe('ENABLED');
    const targets = rule.Properties!['Targets'] as { Arn: unknown; RetryPolicy?: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number } }[];
    expect(targets).toHaveLength(1);
    expect(targets[0]!.Arn).toEqual({ 'Fn::GetAtt': [functionId(s.json, 'incidents'), 'Arn'] });
    expect(targets[0]!.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 240 });
    // Only EventBridge (this rule) may invoke it on its own; operators invoke it through IAM.
    const permissions = resourcesOf(s.json, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties?.['FunctionName']).includes(functionId(s.json, 'incidents')));
    expect(permissions.map(([, p]) => p.Properties!['Principal'])).toEqual(['events.amazonaws.com']);
  });

  it('the default config checks every 5 minutes; the function is told the policy', () => {
    const d = synth();
    expect(scheduleRules(d)[0]![1].Properties!['ScheduleExpression']).toBe('rate(5 minutes)');
    const fn = d.json.Resources[functionId(d.json, 'incidents')] as unknown as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(JSON.parse(fn.Properties.Environment.Variables[ENV.incidents] as string)).toEqual({ updateEveryMinutes: 15, checkEveryMinutes: 5 });
  });

  it('the incidents function lists releases through the release index only, on its one partition, and publishes to the incident topic only', () => {
    const statements = handlerStatements(s.json, 'incidents');
    const queries = statements.filter((st) => list(st.Action).includes('dynamodb:Query'));
    const onIndex = queries.filter((st) => JSON.stringify(st.Resource).includes('/index/gsi1'));
    expect(onIndex).toHaveLength(1);
    expect(JSON.stringify(onIndex[0]!.Resource)).not.toContain('/index/active');
    expect(onIndex[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASES'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
    const publishes = statements.filter((st) => list(st.Action).includes('sns:Publish'));
    expect(publishes).toHaveLength(1);
    expect(JSON.stringify(publishes[0]!.Resource)).toMatch(/IncidentTopic/);
    expect(statements.some((st) => list(st.Action).some((a) => a === 'dynamodb:DeleteItem' || a === 'dynamodb:Scan'))).toBe(false);
  });

  it('the stack outputs the function for the CLI', () => {
    expect(Object.keys(s.json.Outputs ?? {})).toContain('IncidentFunctionName');
  });

  it('a check slower than the updates is refused with the field named', () => {
    expect(() => parsePipelineConfig({ incidents: { updateEveryMinutes: 10, checkEveryMinutes: 15 } })).toThrow(/incidents\.checkEveryMinutes/);
  });
});
