/** The OutputKeys of a deployed reshard stack (`aws cloudformation describe-stacks`), the same on every deploy. */
export const StackOutputs = {
  stateTable: 'StateTableName',
  changeQueue: 'ChangeQueueUrl',
  deadLetterQueue: 'DeadLetterQueueUrl',
  fullCopyStateMachine: 'FullCopyStateMachineArn',
  cutoverStateMachine: 'CutoverStateMachineArn',
  dashboard: 'DashboardUrl',
} as const;
export type StackOutputKey = (typeof StackOutputs)[keyof typeof StackOutputs];
