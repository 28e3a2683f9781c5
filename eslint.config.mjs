// ESLint over the TypeScript sources and tests, with type information from tsconfig.check.json (the
// sources and the tests in one program). Layout is Prettier's (`make format`); eslint-config-prettier
// turns off the rules that would argue with it.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'output/', 'runs/', 'native/engine/build/', 'native/faiss-shim/build/'] },
  js.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A leading underscore marks a parameter an interface requires and this implementation ignores.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Shapes and ids go into messages as "2,3,4"; a `never` is what an exhaustive switch reports.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowArray: true, allowNever: true },
      ],
      // An async method may implement an async contract without awaiting anything itself.
      '@typescript-eslint/require-await': 'off',
      // `op(...) as tf.Tensor2D` is how tfjs code states a rank; the cast picks the op's type argument.
      '@typescript-eslint/no-unnecessary-type-assertion': [
        'error',
        {
          typesToIgnore: [
            'tf.Scalar',
            'tf.Tensor',
            'tf.Tensor1D',
            'tf.Tensor2D',
            'tf.Tensor3D',
            'tf.Tensor4D',
            'tf.Tensor[]',
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.closeTo, expect.stringMatching, …) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `expect(a?.b).not.toBeNull()` passes when `a` is missing (undefined is not null): say what the value is.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name='toBeNull'][callee.object.property.name='not'][callee.object.object.arguments.0.type='ChainExpression']",
          message: 'an optional chain is undefined when a link is missing, which is not null: check the value itself',
        },
      ],
    },
  },
  {
    // The run's stages and the training loop stay readable one function at a time; no comment may switch it off.
    files: ['core/pipeline/**/*.ts', 'core/training/**/*.ts'],
    linterOptions: { noInlineConfig: true },
    rules: { 'max-lines-per-function': ['error', { max: 60 }] },
  },
  prettier,
  {
    // After eslint-config-prettier, which turns max-len off: Prettier keeps code within 120 columns where it can
    // break it; strings it cannot break may run to 160, comments may not.
    plugins: { '@stylistic': stylistic },
    rules: {
      '@stylistic/max-len': ['error', { code: 160, comments: 120, ignoreUrls: true }],
    },
  },
);
