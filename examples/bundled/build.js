'use strict';
// Bundle the Express + PostgreSQL example with esbuild (or webpack: `node examples/bundled/build.js webpack`)
// and the ddtrace-run plugin, into examples/bundled/dist/. Then run the bundle traced:
//
//   npm run build && node examples/bundled/build.js && npx ddtrace-run --service users-api node examples/bundled/dist/app.js
//
// In your own build: `plugins: [require('ddtrace-run/esbuild').ddtraceRun()]` (esbuild) or
// `plugins: [new (require('ddtrace-run/webpack').DdtraceRunWebpackPlugin)()]` (webpack).
const path = require('node:path');
const { ddtraceRun } = require('../../dist/bundler/esbuild');
const { DdtraceRunWebpackPlugin } = require('../../dist/bundler/webpack');

const entry = path.join(__dirname, '..', 'express-pg', 'app.js');
const outDir = path.join(__dirname, 'dist');

async function main() {
  if (process.argv[2] === 'webpack') {
    const webpack = require('webpack');
    await new Promise((resolve, reject) =>
      webpack(
        {
          mode: 'production',
          target: 'node',
          entry,
          output: { path: outDir, filename: 'app.js' },
          externals: { 'pg-native': 'commonjs pg-native' },
          plugins: [new DdtraceRunWebpackPlugin()],
        },
        (err, stats) => (err || stats.hasErrors() ? reject(err || new Error(stats.toString('errors-only'))) : resolve()),
      ),
    );
  } else {
    await require('esbuild').build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      outfile: path.join(outDir, 'app.js'),
      external: ['pg-native'], // pg's optional native client, required only when asked for
      plugins: [ddtraceRun()],
    });
  }
  console.log(`bundled ${path.relative(process.cwd(), entry)} -> ${path.relative(process.cwd(), path.join(outDir, 'app.js'))}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
