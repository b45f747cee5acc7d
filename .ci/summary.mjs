// Prints vitest's JSON results as the line CI reads: "Tests: N passed, M failed".
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no test results in ${file}: ${error.message}`);
  console.log('Tests: 0 passed, 1 failed');
  process.exit(1);
}
const passed = results.numPassedTests ?? 0;
// A test file that fails to load has no test results of its own: count it as one failure.
const brokenFiles = (results.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).length).length;
const failed = (results.numFailedTests ?? 0) + brokenFiles;
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
