// Prints the suite's closing line, `N passed, N failed`, from the Jest JSON report.
const { existsSync, readFileSync } = require('node:fs');

const file = '.test-services/jest.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = r.numPendingTests + r.numTodoTests;
if (r.numRuntimeErrorTestSuites)
  console.log(`${r.numRuntimeErrorTestSuites} test suites failed to run`);
let line = `${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`;
if (skipped) line += `, ${skipped} skipped`;
console.log(line);
