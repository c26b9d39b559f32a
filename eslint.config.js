import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // docs/results/ and docs/measurements/ hold what runs recorded, the throwaway probe scripts beside their outputs included: data, not product code.
  { ignores: ['dist/', 'node_modules/', 'runs/', '.gpu/', 'docs/results/', 'docs/measurements/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Benchmarks and the CLI print their results; library code never does.
    files: ['scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
