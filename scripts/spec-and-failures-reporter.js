'use strict';
// mocha's spec reporter, plus a record of what failed, for scripts/node-matrix.js: with NODE_MATRIX_FAILURES set
// to a file path, writes there at the end a JSON list of { title, kind } per failure (kind 'test' or 'hook'),
// which the matrix uses to run failed tests once more and to name them in its summary.
const { writeFileSync } = require('node:fs');
const { reporters } = require('mocha');

class SpecAndFailures extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on('fail', (test) => {
      failures.push({ title: test.fullTitle(), kind: test.type === 'hook' ? 'hook' : 'test' });
    });
    runner.once('end', () => {
      const file = process.env.NODE_MATRIX_FAILURES;
      if (file) writeFileSync(file, JSON.stringify(failures));
    });
  }
}

module.exports = SpecAndFailures;
