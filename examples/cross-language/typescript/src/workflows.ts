// TypeScript workflows, run by the TypeScript worker (worker.ts) on
// 'typescript-task-queue'. They call activities implemented in Python
// (../python/activities.py), served by the Python worker on
// 'python-activity-task-queue'. The workflow type of each is its function name.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { PYTHON_ACTIVITY_TASK_QUEUE } from './names';

/** The Python activities, by their activity type names (see ../python/activities.py). */
export interface PythonActivities {
  compose_greeting(greeting: string, name: string): Promise<string>;
  flaky_greeting(name: string, failures: number): Promise<{ greeting: string; attempt: number }>;
  refuse_greeting(name: string): Promise<string>;
}

const { compose_greeting, refuse_greeting } = proxyActivities<PythonActivities>({
  taskQueue: PYTHON_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', maximumAttempts: 3 },
});

const { flaky_greeting } = proxyActivities<PythonActivities>({
  taskQueue: PYTHON_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 1, maximumAttempts: 5 },
});

/** A TypeScript workflow that asks a Python activity to compose its greeting. */
export async function sayHelloFromTypeScript(name: string): Promise<string> {
  const greeting = await compose_greeting('Hello', name);
  return `${greeting}, TypeScript here!`;
}

export const addNameSignal = defineSignal<[string]>('add_name');
export const finishSignal = defineSignal('finish');
export const namesQuery = defineQuery<string[]>('names');

/** Collects names sent by signal (from any language) until 'finish'; 'names' queries them. */
export async function greetingCollector(): Promise<string> {
  const names: string[] = [];
  let finished = false;
  setHandler(addNameSignal, (name: string) => {
    names.push(name);
  });
  setHandler(finishSignal, () => {
    finished = true;
  });
  setHandler(namesQuery, () => names);
  await condition(() => finished);
  return `Hello ${names.join(' and ')}, TypeScript here!`;
}

/** Fails with a typed application failure that a Python client receives as an ApplicationError. */
export async function failInTypeScript(reason: string): Promise<never> {
  throw ApplicationFailure.create({
    message: `TypeScript workflow refused: ${reason}`,
    type: 'TypeScriptWorkflowError',
    details: [{ language: 'typescript', code: 7 }, 'second detail'],
    nonRetryable: true,
  });
}

/** Calls a Python activity that fails, and reports what the failure looked like from TypeScript. */
export async function activityFailureSeenByTypeScript(name: string): Promise<Record<string, unknown>> {
  try {
    await refuse_greeting(name);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      return {
        errorClass: err.constructor.name,
        activityType: err.activityType,
        retryState: err.retryState,
        causeClass: err.cause.constructor.name,
        type: err.cause.type,
        message: err.cause.message,
        details: err.cause.details,
        nonRetryable: err.cause.nonRetryable,
      };
    }
    throw err;
  }
  throw ApplicationFailure.nonRetryable('refuse_greeting unexpectedly succeeded', 'UnexpectedSuccess');
}

/** Calls a Python activity that fails `failures` times before it succeeds; the server retries it. */
export async function flakyGreeting(name: string, failures: number): Promise<{ greeting: string; attempt: number }> {
  return await flaky_greeting(name, failures);
}

/** Sleeps on a durable timer, then greets. */
export async function sleepyGreeting(name: string, millis: number): Promise<string> {
  await sleep(millis);
  return `Hello ${name}, TypeScript here after a ${millis} ms timer!`;
}
