/**
 * Gnomon's own implementation of the `@temporalio/harness` module that the TypeScript
 * features of temporalio/features import: `Feature` (what a feature declares), `Runner`
 * (what runs it) and a few helpers. One feature runs per Node process (see run-feature.ts),
 * so the process-wide client behind `getClient()` is that feature's.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Client,
  Connection,
  ConnectionOptions,
  TLSConfig,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowStartOptions,
} from '@temporalio/client';
import type { DataConverter, UntypedActivities, Workflow, WorkflowResultType } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { IllegalStateError, NativeConnection, NativeConnectionOptions, Worker, WorkerOptions } from '@temporalio/worker';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** `T` with every nested value of type `From` typed `To` instead (used to describe JSON-safe options). */
export type ReplaceNested<T, From, To> = T extends From
  ? To
  : T extends (...args: never[]) => unknown
    ? T
    : T extends object
      ? { [K in keyof T]: ReplaceNested<T[K], From, To> }
      : T;

/** What a feature declares; every hook is optional and has a default. */
export interface FeatureOptions<W extends Workflow, A extends UntypedActivities> {
  /** The workflow the default `execute` starts; defaults to the module's export named `workflow`. */
  workflow?: W;
  activities?: A;
  /** The worker's workflowsPath; defaults to the feature's own compiled module. */
  workflowsPath?: string;
  workflowStartOptions?: Partial<WorkflowStartOptions<W>>;
  workerOptions?: Partial<WorkerOptions>;
  dataConverter?: DataConverter;
  /** Start the workflow; defaults to `Runner.executeSingleParameterlessWorkflow`. */
  execute?: (runner: Runner<W, A>) => Promise<WorkflowHandleWithFirstExecutionRunId<W>>;
  /** Check the run; defaults to `Runner.waitForRunResult`. */
  checkResult?: (runner: Runner<W, A>, handle: WorkflowHandleWithFirstExecutionRunId<W>) => Promise<void>;
  checkHistory?: (runner: Runner<W, A>, handle: WorkflowHandleWithFirstExecutionRunId<W>) => Promise<void>;
  /** Replace the whole default run (start, then check, raced against the worker). */
  alternateRun?: (runner: Runner<W, A>) => Promise<void>;
}

export class Feature<W extends Workflow, A extends UntypedActivities> {
  constructor(readonly options: FeatureOptions<W, A>) {}

  get activities(): A | UntypedActivities {
    return this.options.activities ?? {};
  }
}

export interface RunnerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  proxyUrl?: string;
  tlsConfig?: TLSConfig;
}

/** Where a feature's compiled module is: `relDir` under `features/`, `absDir` on disk. */
export interface FeatureSource {
  relDir: string;
  absDir: string;
}

let processClient: Client | undefined;
let processConnection: Connection | undefined;

/** The client of the feature running in this process (for activities that call the server). */
export function getClient(): Client {
  if (!processClient) throw new IllegalStateError('no feature is running in this process');
  return processClient;
}

export function getConnection(): Connection {
  if (!processConnection) throw new IllegalStateError('no feature is running in this process');
  return processConnection;
}

export class Runner<W extends Workflow, A extends UntypedActivities> {
  /**
   * Load the feature at `source`, connect, and start its worker. `bundlerOptions` are the
   * worker's workflow bundler options (how modules unsafe in workflow code are kept out).
   */
  static async create(
    source: FeatureSource,
    options: RunnerOptions,
    bundlerOptions: WorkerOptions['bundlerOptions'],
  ): Promise<Runner<Workflow, UntypedActivities>> {
    const modulePath = require.resolve(`${source.absDir}/feature.js`);
    const feature: Feature<Workflow, UntypedActivities> | undefined = (await import(modulePath)).feature;
    if (!(feature instanceof Feature)) throw new Error(`${source.relDir}/feature.js exports no Feature named feature`);

    const connectionOpts: ConnectionOptions = { address: options.address, tls: options.tlsConfig };
    const connection = await Connection.connect(connectionOpts);
    const client = new Client({
      connection,
      namespace: options.namespace,
      dataConverter: feature.options.dataConverter,
    });
    processClient = client;
    processConnection = connection;

    const nativeConnectionOpts: NativeConnectionOptions = { address: options.address, tls: options.tlsConfig };
    const nativeConnection = await NativeConnection.connect(nativeConnectionOpts);
    const workerOpts: WorkerOptions = {
      connection: nativeConnection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      workflowsPath: feature.options.workflowsPath ?? modulePath,
      activities: feature.activities,
      dataConverter: feature.options.dataConverter,
      bundlerOptions,
      ...feature.options.workerOptions,
    };
    const runner = new Runner(
      source,
      feature,
      options,
      client,
      connectionOpts,
      nativeConnection,
      nativeConnectionOpts,
      workerOpts,
    );
    await runner.restartWorker();
    return runner;
  }

  private _worker!: Worker;
  private _workerRunPromise!: Promise<void>;

  private constructor(
    readonly source: FeatureSource,
    readonly feature: Feature<W, A>,
    readonly options: RunnerOptions,
    readonly client: Client,
    readonly connectionOpts: ConnectionOptions,
    readonly nativeConnection: NativeConnection,
    readonly nativeConnectionOpts: NativeConnectionOptions,
    readonly workerOpts: WorkerOptions,
  ) {}

  get worker(): Worker {
    return this._worker;
  }

  /** Settles when the current worker stops: rejects if it failed. */
  get workerRunPromise(): Promise<void> {
    return this._workerRunPromise;
  }

  /** Create and run a (new) worker with the feature's worker options. */
  async restartWorker(): Promise<void> {
    this._worker = await Worker.create(this.workerOpts);
    this._workerRunPromise = this._worker.run();
  }

  /** Run the feature: its `alternateRun`, or start and check its workflow while the worker runs. */
  async run(): Promise<void> {
    const { alternateRun } = this.feature.options;
    if (alternateRun) {
      await alternateRun(this);
      return;
    }
    // A worker that fails ends the feature at once rather than at the workflow's timeout.
    await Promise.race([this._workerRunPromise, this.startAndCheck()]);
  }

  private async startAndCheck(): Promise<void> {
    const { execute } = this.feature.options;
    const handle = execute ? await execute(this) : await this.executeSingleParameterlessWorkflow();
    await this.checkWorkflowResults(handle);
  }

  /** The feature's result and history checks (or the defaults) on `handle`. */
  async checkWorkflowResults(handle: WorkflowHandleWithFirstExecutionRunId<W>): Promise<void> {
    const { checkResult, checkHistory } = this.feature.options;
    if (checkResult) {
      await checkResult(this, handle);
    } else {
      await this.waitForRunResult(handle);
    }
    if (checkHistory) await checkHistory(this, handle);
  }

  async executeSingleParameterlessWorkflow(): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
    return this.executeParameterlessWorkflow(this.feature.options.workflow ?? 'workflow');
  }

  /** Start `workflow` without arguments on the feature's task queue, with a one-minute execution timeout. */
  async executeParameterlessWorkflow(workflow: W | string): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
    const startOptions = {
      taskQueue: this.options.taskQueue,
      workflowId: `${this.source.relDir}-${randomUUID()}`,
      workflowExecutionTimeout: 60_000,
      ...this.feature.options.workflowStartOptions,
    } as WorkflowStartOptions<W>;
    return this.client.workflow.start(workflow as W, startOptions);
  }

  async waitForRunResult<R extends Workflow>(handle: WorkflowHandle<R>): Promise<WorkflowResultType<R>> {
    return handle.result();
  }

  /** Every event of the latest run of `handle`'s workflow, all pages. */
  async getHistoryEvents(handle: WorkflowHandle): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.options.namespace,
        execution: { workflowId: handle.workflowId },
        nextPageToken,
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return events;
  }

  async getWorkflowResultPayload(handle: WorkflowHandle): Promise<Payload | undefined> {
    const events = await this.getHistoryEvents(handle);
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
    return completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0] ?? undefined;
  }

  async getWorkflowArgumentPayload(handle: WorkflowHandle): Promise<Payload | undefined> {
    const events = await this.getHistoryEvents(handle);
    const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
    return started?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] ?? undefined;
  }

  /** Stop the worker (if a feature has not already) and close both connections. */
  async close(): Promise<void> {
    try {
      this._worker.shutdown();
    } catch (err) {
      if (!(err instanceof IllegalStateError)) throw err;
    }
    try {
      await this._workerRunPromise;
    } finally {
      await this.client.connection.close();
      await this.nativeConnection.close();
    }
  }
}

/** Call `fn` up to `retries` times, `duration` ms apart, until it returns true; whether it did. */
export async function retry(fn: () => Promise<boolean>, retries = 3, duration = 1000): Promise<boolean> {
  for (let attempt = 0; attempt < retries; attempt++) {
    if (await fn()) return true;
    await sleep(duration);
  }
  return false;
}

/** Poll `getEvents` every `pollInterval` ms until an event satisfies `predicate`; fail after `timeout` ms. */
export async function waitForEvent(
  getEvents: () => Promise<HistoryEvent[]>,
  predicate: (event: HistoryEvent) => boolean,
  timeout = 30_000,
  pollInterval = 100,
): Promise<HistoryEvent> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const found = (await getEvents()).find(predicate);
    if (found) return found;
    await sleep(pollInterval);
  }
  throw new Error(`no matching event within ${timeout} ms`);
}
