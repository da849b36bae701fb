/**
 * Run one TypeScript feature, compiled into this build directory, and write its outcome.
 *
 *   node runner/run-feature.js --feature area/name --server HOST:PORT --namespace NS \
 *     --task-queue TQ --result FILE [--proxy-url URL]
 *
 * The outcome file is JSON `{"outcome": "passed"|"failed", "message": ...}`, read by
 * tests/features/runner/results.py; the exit code is 0 whenever it was written.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Runner } from '@temporalio/harness';
import { DefaultLogger, Runtime, WorkerOptions } from '@temporalio/worker';
import { disallowedModules } from '@temporalio/worker/lib/workflow/bundler';

function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad arguments: ${argv.join(' ')}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['feature', 'server', 'namespace', 'task-queue', 'result']) {
    if (!args[required]) throw new Error(`--${required} is required`);
  }
  return args;
}

/** Modules a feature module may import for its runner side, replaced by the inert stub in workflow bundles. */
const RUNNER_SIDE_MODULES = ['@temporalio/harness', '@grpc/grpc-js', ...disallowedModules];

function bundlerOptions(): WorkerOptions['bundlerOptions'] {
  const stub = require.resolve('./workflow-stub');
  return {
    ignoreModules: RUNNER_SIDE_MODULES,
    webpackConfigHook(config) {
      // The bundler aliases every ignored module (and its subpaths) to an empty module; the
      // modules themselves become the stub instead ("name$" matches the name alone), ahead of those.
      const exact = Object.fromEntries(RUNNER_SIDE_MODULES.map((name) => [`${name}$`, stub]));
      return { ...config, resolve: { ...config.resolve, alias: { ...exact, ...config.resolve?.alias } } };
    },
  };
}

/** The error, its stack, and every cause below it: a workflow failure's reason is in its causes. */
function describe(err: unknown): string {
  return inspect(err, { depth: 6, breakLength: 120 });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const absDir = path.resolve(__dirname, '..', 'features', ...args.feature.split('/'));
  let outcome = 'passed';
  let message = '';
  let runner: Runner<never, never> | undefined;
  try {
    runner = (await Runner.create(
      { relDir: args.feature, absDir },
      {
        address: args.server,
        namespace: args.namespace,
        taskQueue: args['task-queue'],
        proxyUrl: args['proxy-url'],
      },
      bundlerOptions(),
    )) as unknown as Runner<never, never>;
    await runner.run();
  } catch (err) {
    outcome = 'failed';
    message = describe(err);
  }
  try {
    await runner?.close();
  } catch (err) {
    if (outcome === 'passed') {
      outcome = 'failed';
      message = `the feature passed, but closing its worker failed: ${describe(err)}`;
    }
  }
  writeFileSync(args.result, JSON.stringify({ outcome, message }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
