'use strict';
// mocha's spec reporter, plus a record of what failed, for scripts/node-matrix.js: with NODE_MATRIX_FAILURES set
// to a file path, writes there at the end { failures, passed }: per failure its full title, its kind ('test' or
// 'hook') and, for a hook, the full title of the suite whose tests it kept from running; and the full titles of
// the tests that passed. The matrix uses them to run failed tests once more and to name them in its summary.
const { writeFileSync } = require('node:fs');
const { reporters } = require('mocha');

class SpecAndFailures extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    const passed = [];
    runner.on('fail', (test) => {
      const hook = test.type === 'hook';
      failures.push({ title: test.fullTitle(), kind: hook ? 'hook' : 'test', suite: hook && test.parent ? test.parent.fullTitle() : undefined });
    });
    runner.on('pass', (test) => passed.push(test.fullTitle()));
    runner.once('end', () => {
      const file = process.env.NODE_MATRIX_FAILURES;
      if (file) writeFileSync(file, JSON.stringify({ failures, passed }));
    });
  }
}

module.exports = SpecAndFailures;
