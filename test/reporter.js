// Mocha's spec reporter, plus the summary line every suite of this project ends with: "N passed, N failed".
// With SEGMENT_LENS_RESULTS set, the counts are also written there for scripts/test.mjs to add up.
const Mocha = require('mocha');
const { writeFileSync } = require('node:fs');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (process.env.SEGMENT_LENS_RESULTS)
        writeFileSync(process.env.SEGMENT_LENS_RESULTS, JSON.stringify({ passed, failed }));
      else process.stdout.write(`${passed} passed, ${failed} failed\n`);
    });
  }
}

module.exports = SummaryReporter;
