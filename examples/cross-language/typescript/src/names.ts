// Names shared by both languages. The Python side spells the same strings in
// ../python/names.py: a workflow type, an activity type, a signal or query name
// and a task queue are just strings on the wire.

/** Python worker: the Python workflows (SayHello, GreetingCollector, ...). */
export const PYTHON_WORKFLOW_TASK_QUEUE = 'hello-task-queue';
/** Python worker: the Python activities called by the TypeScript workflows. */
export const PYTHON_ACTIVITY_TASK_QUEUE = 'python-activity-task-queue';
/** TypeScript worker: the TypeScript workflows. */
export const TYPESCRIPT_WORKFLOW_TASK_QUEUE = 'typescript-task-queue';

export function temporalAddress(): string {
  return process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
}

export function temporalNamespace(): string {
  return process.env.TEMPORAL_NAMESPACE ?? 'default';
}
