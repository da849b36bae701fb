// The TypeScript client: starts Python workflows (run by ../python/worker.py on
// 'hello-task-queue') and talks to them.
//
//   npm run client -- hello [NAME]       SayHello(NAME): prints "Hello NAME, Python here!"
//   npm run client -- signal-query       signals and queries GreetingCollector; prints JSON
//   npm run client -- failure            FailInPython fails; prints the typed failure as JSON
//   npm run client -- timer [MILLIS]     SleepyGreeting sleeps on a timer; prints JSON
//
// The result goes to stdout (last line); progress goes to stderr.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { PYTHON_WORKFLOW_TASK_QUEUE, temporalAddress, temporalNamespace } from './names';

const taskQueue = PYTHON_WORKFLOW_TASK_QUEUE;

function log(message: string): void {
  console.error(message);
}

async function hello(client: Client, name: string): Promise<string> {
  const workflowId = `ts-client-hello-${randomUUID()}`;
  log(`executing SayHello(${JSON.stringify(name)}) as ${workflowId} on ${taskQueue}`);
  return await client.workflow.execute<(name: string) => Promise<string>>('SayHello', {
    taskQueue,
    workflowId,
    args: [name],
  });
}

async function signalQuery(client: Client): Promise<string> {
  const workflowId = `ts-client-collector-${randomUUID()}`;
  log(`starting GreetingCollector as ${workflowId} on ${taskQueue}`);
  const handle = await client.workflow.start('GreetingCollector', { taskQueue, workflowId, args: [] });
  await handle.signal('add_name', 'Ada');
  await handle.signal('add_name', 'Grace');
  const queried = await handle.query<string[]>('names');
  log(`query 'names' answered ${JSON.stringify(queried)}`);
  await handle.signal('finish');
  const result = await handle.result();
  return JSON.stringify({ workflowId, queried, result });
}

async function failure(client: Client): Promise<string> {
  const workflowId = `ts-client-failure-${randomUUID()}`;
  log(`executing FailInPython as ${workflowId} on ${taskQueue}`);
  try {
    await client.workflow.execute('FailInPython', { taskQueue, workflowId, args: ['no reason at all'] });
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const cause = err.cause;
      return JSON.stringify({
        workflowId,
        errorClass: err.constructor.name,
        causeClass: cause.constructor.name,
        type: cause.type,
        message: cause.message,
        details: cause.details,
        nonRetryable: cause.nonRetryable,
      });
    }
    throw err;
  }
  throw new Error('FailInPython unexpectedly succeeded');
}

async function timer(client: Client, millis: number): Promise<string> {
  const workflowId = `ts-client-timer-${randomUUID()}`;
  log(`executing SleepyGreeting("TypeScript", ${millis}) as ${workflowId} on ${taskQueue}`);
  const started = Date.now();
  const result = await client.workflow.execute('SleepyGreeting', {
    taskQueue,
    workflowId,
    args: ['TypeScript', millis],
  });
  return JSON.stringify({ workflowId, result, elapsedMs: Date.now() - started });
}

async function main(): Promise<void> {
  const [command = 'hello', arg] = process.argv.slice(2);
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const client = new Client({ connection, namespace: temporalNamespace() });
    let output: string;
    switch (command) {
      case 'hello':
        output = await hello(client, arg ?? 'TypeScript');
        break;
      case 'signal-query':
        output = await signalQuery(client);
        break;
      case 'failure':
        output = await failure(client);
        break;
      case 'timer':
        output = await timer(client, Number(arg ?? 1500));
        break;
      default:
        throw new Error(`unknown command ${JSON.stringify(command)}: hello, signal-query, failure or timer`);
    }
    console.log(output);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
