import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

// Strict TypeScript, React hooks rules, and no physical left/right spacing classes (RTL uses logical ones).
export default tseslint.config(
  { ignores: ['dist', 'src/routeTree.gen.ts', 'src/lib/api/schema.d.ts'] },
  {
    files: ['src/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.strict],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': ['error', {
        selector: 'Literal[value=/(^|\\s)(ml|mr|pl|pr|left|right)-[0-9a-z]/]',
        message: 'Use logical utilities (ms-/me-/ps-/pe-/start-/end-) so right-to-left layouts work.',
      }, {
        selector: 'TemplateElement[value.raw=/(^|\\s)(ml|mr|pl|pr|left|right)-[0-9a-z]/]',
        message: 'Use logical utilities (ms-/me-/ps-/pe-/start-/end-) so right-to-left layouts work.',
      }],
    },
  },
);
