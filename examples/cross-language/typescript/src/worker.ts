// The TypeScript worker: runs the TypeScript workflows of workflows.ts on
// 'typescript-task-queue'. The worker bundles workflows.ts (with webpack) when it
// starts, then polls the server until SIGINT or SIGTERM.
import { NativeConnection, Worker } from '@temporalio/worker';
import { TYPESCRIPT_WORKFLOW_TASK_QUEUE, temporalAddress, temporalNamespace } from './names';

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  try {
    const worker = await Worker.create({
      connection,
      namespace: temporalNamespace(),
      taskQueue: TYPESCRIPT_WORKFLOW_TASK_QUEUE,
      workflowsPath: require.resolve('./workflows'),
      identity: `typescript-worker-${process.pid}`,
    });
    console.log(`TypeScript worker ready: task queue ${TYPESCRIPT_WORKFLOW_TASK_QUEUE} on ${temporalAddress()}`);
    await worker.run(); // until SIGINT or SIGTERM
    console.log('TypeScript worker stopped');
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
