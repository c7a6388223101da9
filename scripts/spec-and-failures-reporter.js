'use strict';
// mocha's spec reporter, plus a record of what failed, for scripts/node-matrix.js: with NODE_MATRIX_FAILURES set
// to a file path, writes there at the end { failures, passed }: per failure its full title, its kind ('test' or
// 'hook'), for a hook the full title of the suite whose tests it kept from running, and the first lines of its
// error; and the full titles of the tests that passed. The matrix uses them to run failed tests once more and
// to repeat what failed in its summary.
const { writeFileSync } = require('node:fs');
const { reporters } = require('mocha');

/** Lines of each failure's error (message and the top of its stack) kept for the summary. */
const ERROR_LINES = 8;

class SpecAndFailures extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    const passed = [];
    runner.on('fail', (test, err) => {
      const hook = test.type === 'hook';
      const error = String((err && (err.stack || err.message)) || err).split('\n').slice(0, ERROR_LINES).join('\n');
      failures.push({ title: test.fullTitle(), kind: hook ? 'hook' : 'test', suite: hook && test.parent ? test.parent.fullTitle() : undefined, error });
    });
    runner.on('pass', (test) => passed.push(test.fullTitle()));
    runner.once('end', () => {
      const file = process.env.NODE_MATRIX_FAILURES;
      if (file) writeFileSync(file, JSON.stringify({ failures, passed }));
    });
  }
}

module.exports = SpecAndFailures;
