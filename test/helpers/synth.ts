/**
 * Synthesizes the stack the way the CDK assertion tests do (bundling skipped) and turns every state
 * machine's `DefinitionString` into plain ASL JSON: CloudFormation intrinsics (`Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub`-style `DefinitionSubstitutions`) are replaced by well-formed placeholder values,
 * so ARN-shaped fields stay ARN-shaped for validators.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ReshardStack, type ReshardStackProps } from '../../lib/reshard-stack.js';

const PLACEHOLDER_ACCOUNT = '123456789012';
const PLACEHOLDER_REGION = 'us-east-1';

type CfnResource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, CfnResource>;

/** The stack with the tests' usual minimal props; `overrides` go on top. */
export function synthTemplate(overrides: Partial<ReshardStackProps> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ReshardStack(app, 'ReshardAslTest', { migrationConfigJson: '{}', ...overrides });
  return Template.fromStack(stack);
}

function arnOf(resources: Resources, logicalId: string): string {
  const type = resources[logicalId]?.Type ?? 'AWS::Unknown::Resource';
  const [, service = 'unknown'] = type.split('::');
  const s = service.toLowerCase();
  const where = `${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}`;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${where}:function:${logicalId}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${where}:table/${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${where}:stateMachine:${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${where}:secret:${logicalId}`;
    default:
      return `arn:aws:${s}:${where}:${logicalId}`;
  }
}

function refOf(resources: Resources, name: string): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': PLACEHOLDER_REGION,
    'AWS::AccountId': PLACEHOLDER_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'ReshardAslTest',
  };
  if (pseudo[name] !== undefined) return pseudo[name];
  const type = resources[name]?.Type;
  if (type === 'AWS::SQS::Queue') return `https://sqs.${PLACEHOLDER_REGION}.amazonaws.com/${PLACEHOLDER_ACCOUNT}/${name}`;
  if (type === 'AWS::SNS::Topic' || type === 'AWS::StepFunctions::StateMachine') return arnOf(resources, name);
  if (type === 'AWS::S3::Bucket') return name.toLowerCase();
  return name; // function, table, log group … names
}

/** Resolves the intrinsics CDK puts into a definition string to a plain string. */
function resolveIntrinsic(value: unknown, resources: Resources): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) return refOf(resources, String(obj.Ref));
  if ('Fn::GetAtt' in obj) {
    const [id, attr] = obj['Fn::GetAtt'] as [string, string];
    return attr === 'Arn' ? arnOf(resources, id) : `${id}.${attr}`;
  }
  if ('Fn::Select' in obj) {
    const [index, list] = obj['Fn::Select'] as [number | string, unknown];
    const items = Array.isArray(list) ? list.map((i) => resolveIntrinsic(i, resources)) : resolveList(list, resources);
    const item = items[Number(index)];
    if (item === undefined) throw new Error(`Fn::Select index ${index} out of range`);
    return item;
  }
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsic(p, resources)).join(sep);
  }
  throw new Error(`state machine definition uses an intrinsic the test helper cannot resolve yet: ${JSON.stringify(value).slice(0, 200)}`);
}

function resolveList(value: unknown, resources: Resources): string[] {
  const obj = value as Record<string, unknown>;
  if ('Fn::Split' in obj) {
    const [sep, text] = obj['Fn::Split'] as [string, unknown];
    return resolveIntrinsic(text, resources).split(sep);
  }
  throw new Error(`cannot resolve a list from ${JSON.stringify(value).slice(0, 200)}`);
}

export interface SynthesizedStateMachine {
  readonly logicalId: string;
  /** The ASL document, parsed. */
  readonly definition: Record<string, unknown>;
}

/** Every `AWS::StepFunctions::StateMachine` of the template, with its definition as parsed ASL. */
export function stateMachinesOf(template: Template): SynthesizedStateMachine[] {
  const resources = (template.toJSON() as { Resources: Resources }).Resources;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId, r]) => {
      const props = r.Properties ?? {};
      if (props.DefinitionString === undefined) throw new Error(`${logicalId}: no DefinitionString (Definition / DefinitionS3Location are not handled by this helper)`);
      let text = resolveIntrinsic(props.DefinitionString, resources);
      const subs = (props.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(subs)) text = text.replaceAll(`\${${k}}`, resolveIntrinsic(v, resources));
      return { logicalId, definition: JSON.parse(text) as Record<string, unknown> };
    });
}
