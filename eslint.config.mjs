// The linter keeps the house's boundaries (see README "Layout"): an integration imports nothing of the
// tracer but the kit, and the core imports nothing of the integrations, the hooks or the launcher.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const INTEGRATION_BOUNDARY = {
  group: ['**/lib/*', '!**/lib/kit', '**/lib/*/**', '!**/lib/kit/index', '**/hooks/**', '**/bin/**', '**/local-agent/**'],
  message: 'An integration imports nothing of the tracer but the kit (lib/kit).',
};
const CORE_BOUNDARY = {
  group: ['**/integrations/**', '**/hooks/**', '**/bin/**', '**/local-agent/**', '**/bundler/**'],
  message: 'The core (lib/) imports nothing of the integrations, hooks, launcher, local agent or bundler plugins.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', '.prisma/**', 'test/fixtures/**', 'viewer/**', 'bench/**', 'examples/**', 'scripts/**', '**/*.mjs', '**/*.cjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Patched code keeps `arguments` on purpose: it hands the exact call on without copying.
      'prefer-rest-params': 'off',
      // Lazy require() is how start-up stays lean: integration code loads only when its library does.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Wrappers take `Function` shapes from the libraries they patch.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // A variable declared before the closures that read it, then assigned once, stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  { files: ['integrations/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [INTEGRATION_BOUNDARY] }] } },
  { files: ['lib/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [CORE_BOUNDARY] }] } },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
