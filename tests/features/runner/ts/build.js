#!/usr/bin/env node
/**
 * Compile a temporalio/features checkout's TypeScript features, and this runner, into a
 * build directory inside this npm project (so `node_modules` here resolves for both):
 *
 *   node build.js CHECKOUT_DIR BUILD_DIR
 *
 *   BUILD_DIR/features/**        every .ts of CHECKOUT_DIR/features as CommonJS .js; .json copied
 *   BUILD_DIR/node_modules/@temporalio/harness   src/harness.ts (what the features import)
 *   BUILD_DIR/runner/            src/run-feature.ts and src/workflow-stub.ts
 *
 * Transpile only, no type checking: the features are checked by their own repository,
 * and one file at a time keeps this to about a second.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const COMPILER_OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
  inlineSources: true,
};

function transpile(source, target) {
  const text = fs.readFileSync(source, 'utf8');
  const out = ts.transpileModule(text, { compilerOptions: COMPILER_OPTIONS, fileName: source, reportDiagnostics: true });
  const errors = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    throw new Error(`${source}: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, out.outputText);
}

function compileTree(sourceDir, targetDir) {
  let count = 0;
  for (const entry of fs.readdirSync(sourceDir, { withFileTypes: true })) {
    const source = path.join(sourceDir, entry.name);
    const target = path.join(targetDir, entry.name);
    if (entry.isDirectory()) {
      count += compileTree(source, target);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      transpile(source, target.replace(/\.ts$/, '.js'));
      count += 1;
    } else if (entry.name.endsWith('.json')) {
      fs.mkdirSync(targetDir, { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
  return count;
}

function main() {
  const [checkout, buildDir] = process.argv.slice(2);
  if (!checkout || !buildDir) throw new Error('usage: node build.js CHECKOUT_DIR BUILD_DIR');
  const src = path.join(__dirname, 'src');
  fs.rmSync(buildDir, { recursive: true, force: true });
  const count = compileTree(path.join(checkout, 'features'), path.join(buildDir, 'features'));
  const harnessDir = path.join(buildDir, 'node_modules', '@temporalio', 'harness');
  transpile(path.join(src, 'harness.ts'), path.join(harnessDir, 'index.js'));
  fs.writeFileSync(path.join(harnessDir, 'package.json'), JSON.stringify({ name: '@temporalio/harness', main: 'index.js' }));
  for (const name of ['run-feature', 'workflow-stub']) {
    transpile(path.join(src, `${name}.ts`), path.join(buildDir, 'runner', `${name}.js`));
  }
  // tsconfig-paths (which some features preload into processes they fork) looks for one.
  fs.writeFileSync(path.join(buildDir, 'tsconfig.json'), '{}\n');
  console.log(`compiled ${count} feature files from ${checkout} into ${buildDir}`);
}

main();
