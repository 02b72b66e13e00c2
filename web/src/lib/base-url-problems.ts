/**
 * The problems of a refused OpenAI-compatible base URL (src/Switchboard/Credentials/BaseUrlGuard.cs), keyed by the server's
 * English phrase (`details.problem`), each to the short name its translations use (`credentials.checkBaseUrl.*` on the
 * credentials page, `onboarding.warning.baseUrl.*` in onboarding). A phrase not listed here is shown as the server wrote it.
 */
export const BASE_URL_PROBLEMS: Readonly<Record<string, string>> = {
  'must be an absolute URL': 'absolute',
  'must use https': 'https',
  'host does not resolve': 'unresolvable',
  'must not point at a private or local address': 'private',
  'must not contain credentials, a query or a fragment': 'parts',
};
