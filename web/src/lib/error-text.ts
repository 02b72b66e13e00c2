import { ApiError } from './api/client';

/** i18next's `t`, as much of it as this module uses. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * One translation of an envelope code. `message` restricts it to the server messages it matches (its named groups
 * become interpolation values); `needs` names the `details` values the sentence interpolates. A variant that does not
 * match, or lacks a value, is skipped: a translation never drops a limit, a plan or a name the server's sentence gives.
 */
interface Variant {
  key: string;
  message?: RegExp;
  needs?: readonly string[];
  /**
   * Turns the values into the ones the sentence takes (e.g. a feature id into its translation), given the server's
   * message too; null skips the variant.
   */
  adapt?: (values: Record<string, string>, t: Translate, message: string) => Record<string, string> | null;
}

/**
 * The plan features FEATURE_NOT_IN_PLAN names in its `details.feature` (the server's `Features` ids, Billing/Plans.cs), by
 * their key under `errors.features`.
 */
const FEATURES: Readonly<Record<string, string>> = {
  telephony: 'telephony',
  widget: 'widget',
  webhooks: 'webhooks',
  recording: 'recording',
  custom_branding: 'customBranding',
  api_access: 'apiAccess',
  widget_voice: 'widgetVoice',
};

/**
 * A plan feature's name as a sentence takes it ("webhooks", « l’envoi d’événements (webhooks) »), from its id (the
 * server's `Features` ids); an unknown id is returned as it is.
 */
export function featureName(t: Translate, feature: string): string {
  return Object.hasOwn(FEATURES, feature) ? t(`errors.features.${FEATURES[feature]}`) : feature;
}

/**
 * A plan's name in the reader's language from its id (`details.plan`, as `GET /api/v1/plans` lists it): the catalog's
 * plans are in the locale files (`plans.*`); another keeps the English name the server's message gives
 * ("The Gold plan …"), else its id.
 */
function planText(t: Translate, id: string, message: string): string {
  const named = /^The (?<name>.+?) plan(?:'s| does)\b/.exec(message)?.groups?.name;
  return t(`plans.${id}`, { defaultValue: named ?? id });
}

/** A code translated whatever the server's message (the code alone says it all). */
const always = (key: string): Variant[] => [{ key }];

/**
 * The envelope codes a dashboard user can meet, with their translations (`errors.codes.*`, or an area's existing
 * sentence). The messages matched are the server's (src/Switchboard, `ApiError.*` and the *Api.cs files).
 */
const CODES: Readonly<Record<string, readonly Variant[]>> = {
  // Platform (Platform/Http: ErrorHandling, ApiGuard, StorableTextGuard; Tenancy/SessionAuthentication)
  UNAUTHENTICATED: always('errors.codes.UNAUTHENTICATED'),
  FORBIDDEN: always('errors.codes.FORBIDDEN'),
  NOT_FOUND: always('errors.codes.NOT_FOUND'),
  CONFLICT: always('errors.codes.CONFLICT'),
  DATABASE_BUSY: always('errors.codes.DATABASE_BUSY'),
  INTERNAL_ERROR: always('errors.codes.INTERNAL_ERROR'),
  PAYLOAD_TOO_LARGE: [
    { key: 'errors.codes.PAYLOAD_TOO_LARGE.any', message: /^The request body is too large\.$/ },
    { key: 'errors.codes.PAYLOAD_TOO_LARGE.bytes', message: /^The body exceeds (?<bytes>\d+) bytes\.$/ },
  ],
  CSRF_TOKEN_INVALID: always('errors.codes.CSRF_TOKEN_INVALID'),
  // A query value that does not parse, or a date not in ISO 8601 (ErrorHandling, StorableTextGuard); details names the parameter.
  BAD_REQUEST: [{ key: 'errors.codes.BAD_REQUEST.parameter', message: /^The parameter '(?<parameter>[^']+)' has an invalid value: / }],
  // Platform/Http/UnknownFields.cs: a field the route does not take (an older or newer dashboard than the server).
  UNKNOWN_FIELD: [{ key: 'errors.codes.UNKNOWN_FIELD', message: /^The body names '(?<field>[^']*)', which this request does not take/ }],
  TENANT_SUSPENDED: always('errors.codes.TENANT_SUSPENDED'),
  NO_TENANT: always('errors.codes.NO_TENANT'),
  INSUFFICIENT_ROLE: [
    { key: 'errors.codes.INSUFFICIENT_ROLE.any', message: /^Your role does not allow this\.$/ },
    { key: 'errors.codes.INSUFFICIENT_ROLE.ownerRole', message: /^Only an owner can grant or change the owner role\.$/ },
    { key: 'errors.codes.INSUFFICIENT_ROLE.removeOwner', message: /^Only an owner can remove an owner\.$/ },
    { key: 'errors.codes.INSUFFICIENT_ROLE.inviteOwner', message: /^Only an owner can invite an owner\.$/ },
  ],
  RATE_LIMITED: [{ key: 'errors.codes.RATE_LIMITED', needs: ['limit'] }],
  // Billing/FeatureGate.cs: details {feature, plan} (ids); the message is English and read only for an unknown plan's name.
  FEATURE_NOT_IN_PLAN: [
    {
      key: 'errors.codes.FEATURE_NOT_IN_PLAN',
      needs: ['feature', 'plan'],
      adapt: ({ plan = '', feature = '' }, t, message) => {
        const name = Object.hasOwn(FEATURES, feature) ? FEATURES[feature] : undefined;
        return name ? { plan: planText(t, plan, message), feature: t(`errors.features.${name}`) } : null;
      },
    },
  ],
  // Widget/WidgetApi.cs: the month's visitor messages are used up; details {quota, period, plan}.
  CHAT_QUOTA_EXCEEDED: [
    {
      key: 'errors.codes.CHAT_QUOTA_EXCEEDED',
      needs: ['quota', 'plan'],
      adapt: ({ plan = '', quota = '' }, t, message) => ({ quota, plan: planText(t, plan, message) }),
    },
  ],
  VALIDATION_FAILED: [
    // The server's summaries of a 422; each field's problem is shown beside it (field-errors.ts).
    { key: 'errors.validation', message: /^Some fields are invalid\.$/ },
    { key: 'errors.profileInvalid', message: /^The profile is invalid\.$/ },
    { key: 'errors.codes.VALIDATION_FAILED.storable', message: /^Some fields hold text that cannot be stored\.$/ },
    { key: 'errors.codes.VALIDATION_FAILED.request', message: /^The request is invalid\.$/ },
  ],

  // Sign-up, sign-in, invitations, password reset, email verification, organisations (Tenancy)
  ACCOUNT_LOCKED: always('account.errors.locked'),
  INVALID_CREDENTIALS: [
    { key: 'account.errors.invalidCredentials', message: /^Wrong email or password\.$/ },
    { key: 'errors.codes.INVALID_CREDENTIALS.invitation', message: /^This email has an account: give its password to accept\.$/ },
  ],
  EMAIL_TAKEN: always('account.errors.emailTaken'),
  TOKEN_INVALID: always('account.errors.tokenInvalid'),
  INVITATION_NOT_FOUND: [
    { key: 'account.errors.invitationNotFound', message: /^This invitation is unknown, used, revoked or expired\.$/ },
    { key: 'errors.codes.INVITATION_NOT_FOUND', message: /^No such invitation\.$/ },
  ],
  ALREADY_VERIFIED: always('errors.codes.ALREADY_VERIFIED'),
  TOO_MANY_EMAILS: always('errors.codes.TOO_MANY_EMAILS'),
  TENANT_NOT_FOUND: [
    { key: 'errors.codes.TENANT_NOT_FOUND.notMember', message: /^You are not a member of that tenant\.$/ },
    { key: 'errors.codes.TENANT_NOT_FOUND.any', message: /^No such tenant\.$/ },
  ],
  EMAIL_NOT_FOUND: always('errors.codes.EMAIL_NOT_FOUND'),

  // Team
  ALREADY_MEMBER: always('errors.codes.ALREADY_MEMBER'),
  LAST_OWNER: always('errors.codes.LAST_OWNER'),
  MEMBER_NOT_FOUND: always('errors.codes.MEMBER_NOT_FOUND'),

  // API keys
  TOO_MANY_KEYS: [{ key: 'errors.codes.TOO_MANY_KEYS', message: /^At most (?<max>\d+) active keys\b/ }],
  KEY_NOT_FOUND: always('errors.codes.KEY_NOT_FOUND'),
  KEY_ALREADY_ROTATED: always('errors.codes.KEY_ALREADY_ROTATED'),

  // Webhooks (and the URL checks shared with the knowledge base's URL documents)
  ENDPOINT_LIMIT_REACHED: [{ key: 'errors.codes.ENDPOINT_LIMIT_REACHED', message: /^A tenant may have at most (?<max>\d+) webhook endpoints\.$/ }],
  WEBHOOK_ENDPOINT_NOT_FOUND: always('errors.codes.WEBHOOK_ENDPOINT_NOT_FOUND'),
  WEBHOOK_DELIVERY_NOT_FOUND: always('errors.codes.WEBHOOK_DELIVERY_NOT_FOUND'),
  DELIVERY_PENDING: always('errors.codes.DELIVERY_PENDING'),
  ENDPOINT_DISABLED: always('errors.codes.ENDPOINT_DISABLED'),
  REPLAY_CONFLICT: always('errors.codes.REPLAY_CONFLICT'),
  INVALID_URL: [
    { key: 'errors.codes.INVALID_URL.required', message: /^url is required\.$/ },
    { key: 'errors.codes.INVALID_URL.maxLength', message: /^url must be at most (?<max>\d+) characters\.$/ },
    { key: 'errors.codes.INVALID_URL.absolute', message: /^url must be an absolute (?<scheme>[a-z]+):\/\/ URL\.$/ },
    { key: 'errors.codes.INVALID_URL.credentials', message: /^url must not contain credentials\b/ },
    { key: 'errors.codes.INVALID_URL.fragment', message: /^url must not contain a #fragment\.$/ },
    { key: 'errors.codes.INVALID_URL.query', message: /^url must not contain a query string\.$/ },
  ],
  HTTPS_REQUIRED: [{ key: 'errors.codes.HTTPS_REQUIRED', message: /^url must use (?<scheme>[a-z]+):\/\/\.$/ }],
  URL_UNRESOLVABLE: [{ key: 'errors.codes.URL_UNRESOLVABLE', message: /^The host '(?<host>[^']+)' (?:could not be resolved|has no addresses)\.$/ }],
  URL_BLOCKED: [{ key: 'errors.codes.URL_BLOCKED', message: /^The host '(?<host>[^']+)' resolves to an? .+ address \((?<address>[^)]+)\), where Switchboard may not connect\.$/ }],
  INVALID_HEADERS: [
    { key: 'errors.codes.INVALID_HEADERS.tooMany', message: /^At most (?<max>\d+) custom headers\.$/ },
    { key: 'errors.codes.INVALID_HEADERS.name', message: /^'(?<name>.+)' is not a valid header name\.$/ },
    { key: 'errors.codes.INVALID_HEADERS.twice', message: /^The header '(?<name>.+)' is given twice\.$/ },
    { key: 'errors.codes.INVALID_HEADERS.value', message: /^The value of '(?<name>.+)' must be at most (?<max>\d+) characters with no line breaks or control characters\.$/ },
  ],
  RESERVED_HEADER: [{ key: 'errors.codes.RESERVED_HEADER', message: /^The header '(?<name>.+)' is set by Switchboard and cannot be customised\.$/ }],
  INVALID_DESCRIPTION: [{ key: 'errors.codes.INVALID_DESCRIPTION', message: /^description must be at most (?<max>\d+) characters\.$/ }],
  INVALID_EVENT_TYPES: [{ key: 'errors.codes.INVALID_EVENT_TYPES', message: /^Too many event types\.$/ }],
  UNKNOWN_EVENT_TYPE: [{ key: 'errors.codes.UNKNOWN_EVENT_TYPE', message: /^'(?<type>.+)' is not an event type\.$/ }],
  INVALID_OVERLAP: [{ key: 'errors.codes.INVALID_OVERLAP', message: /^overlapHours must be between (?<min>\d+) and (?<max>\d+)\.$/ }],
  INVALID_RANGE: [
    { key: 'errors.codes.INVALID_RANGE.sinceRequired', message: /^since is required\b/ },
    { key: 'errors.codes.INVALID_RANGE.sinceAfterUntil', message: /^since must not be after until\.$/ },
  ],

  // Numbers
  NUMBER_TAKEN: always('errors.codes.NUMBER_TAKEN'),
  NUMBER_NOT_FOUND: always('errors.codes.NUMBER_NOT_FOUND'),

  // Plan and billing
  PLAN_CHANGES_DISABLED: always('errors.codes.PLAN_CHANGES_DISABLED'),
  MANAGE_IN_PORTAL: always('errors.codes.MANAGE_IN_PORTAL'),
  CHECKOUT_REQUIRED: [{ key: 'errors.codes.CHECKOUT_REQUIRED', message: /^The (?<plan>.+) plan is paid: / }],
  ALREADY_SUBSCRIBED: always('errors.codes.ALREADY_SUBSCRIBED'),
  NO_SUBSCRIPTION: always('errors.codes.NO_SUBSCRIPTION'),
  STRIPE_NOT_CONFIGURED: always('errors.codes.STRIPE_NOT_CONFIGURED'),
  STRIPE_NOT_SET_UP: [{ key: 'errors.codes.STRIPE_NOT_SET_UP', message: /^No Stripe price for the (?<plan>.+) plan: / }],
  STRIPE_ERROR: [
    { key: 'errors.codes.STRIPE_ERROR.refused', message: /^Stripe refused the request: (?<reason>[\s\S]+)$/ },
    { key: 'errors.codes.STRIPE_ERROR.erasure', message: /^The Stripe subscription could not be cancelled, so nothing was erased\./ },
  ],

  // Privacy and audit (Compliance)
  CONFIRMATION_MISMATCH: always('errors.codes.CONFIRMATION_MISMATCH'),
  INVALID_FILTER: [{ key: 'errors.codes.INVALID_FILTER.audit', message: /^The audit filters are not valid\.$/ }],

  // Onboarding
  PROFILE_INCOMPLETE: always('errors.codes.PROFILE_INCOMPLETE'),

  // Knowledge base
  KNOWLEDGE_BASE_FULL: [{ key: 'errors.codes.KNOWLEDGE_BASE_FULL', message: /^The knowledge base holds at most (?<max>\d+) documents\.$/ }],
  DOCUMENT_TOO_LARGE: [
    { key: 'errors.codes.DOCUMENT_TOO_LARGE.bytes', message: /^(?:A document may be at most|The document exceeds) (?<bytes>\d+) bytes\.$/ },
    { key: 'errors.codes.DOCUMENT_TOO_LARGE.text', message: /^The document's text exceeds (?<max>\d+) characters\.$/ },
  ],
  DUPLICATE_DOCUMENT: always('errors.codes.DUPLICATE_DOCUMENT'),
  DOCUMENT_NOT_FOUND: always('errors.codes.DOCUMENT_NOT_FOUND'),
  UNSUPPORTED_MEDIA_TYPE: [{ key: 'errors.codes.UNSUPPORTED_MEDIA_TYPE.upload', message: /^Upload a PDF \(\.pdf\), Markdown \(\.md\), HTML \(\.html\) or plain-text \(\.txt\) file\.$/ }],
  URL_TIMEOUT: [{ key: 'errors.codes.URL_TIMEOUT', message: /^The URL did not answer within (?<seconds>\d+) s\.$/ }],
  URL_REDIRECTED: [{ key: 'errors.codes.URL_REDIRECTED', message: /^The URL answered (?<status>\d+) \(a redirect\)/ }],

  // Calls, recordings, leads, assistants, credentials
  CALL_NOT_FOUND: always('errors.codes.CALL_NOT_FOUND'),
  RECORDING_NOT_FOUND: [
    { key: 'errors.codes.RECORDING_NOT_FOUND.none', message: /^This call has no recording\.$/ },
    { key: 'errors.codes.RECORDING_NOT_FOUND.gone', message: /^The provider no longer has this recording\.$/ },
  ],
  RECORDING_UNAVAILABLE: always('errors.codes.RECORDING_UNAVAILABLE'),
  LEAD_NOT_FOUND: always('errors.codes.LEAD_NOT_FOUND'),
  INVALID_ASSIGNEE: always('errors.codes.INVALID_ASSIGNEE'),
  ASSISTANT_NOT_FOUND: always('errors.codes.ASSISTANT_NOT_FOUND'),
  CREDENTIAL_NOT_FOUND: [
    { key: 'errors.codes.CREDENTIAL_NOT_FOUND.any', message: /^No such credential is stored\.$/ },
    { key: 'errors.codes.CREDENTIAL_NOT_FOUND.twilioKey', message: /^No Twilio shared key is stored\.$/ },
  ],
};

/** Every translation key {@link codeText} may use (a test checks each exists in every language). */
export const CODE_TEXT_KEYS: readonly string[] = [
  ...Object.values(CODES).flatMap((variants) => variants.map((v) => v.key)),
  ...new Set(Object.values(FEATURES).map((name) => `errors.features.${name}`)),
];

/** The string and number entries of an envelope's `details`, as text. */
function detailValues(details: unknown): Record<string, string> {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(details as Record<string, unknown>)) {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) out[name] = String(value);
  }
  return out;
}

/**
 * The translation of an envelope's code in the reader's language, or null when the code has none for this message
 * (unknown code, a message the translation was not written for, or a value it needs missing from `details`).
 */
export function codeText(error: ApiError, t: Translate): string | null {
  const variants = Object.hasOwn(CODES, error.code) ? CODES[error.code] : undefined;
  if (!variants) return null;
  for (const variant of variants) {
    const match = variant.message ? variant.message.exec(error.message) : null;
    if (variant.message && !match) continue;
    let values: Record<string, string> | null = { ...detailValues(error.rawDetails), ...(match?.groups ?? {}) };
    if (variant.needs?.some((name) => values?.[name] === undefined)) continue;
    if (variant.adapt) values = variant.adapt(values, t, error.message);
    if (!values) continue;
    // The server's sentence stands in for a translation missing from the reader's language.
    return t(variant.key, { ...values, defaultValue: error.message });
  }
  return null;
}

/**
 * True for a request that never got an answer: the server is stopped, the network is down, or a proxy dropped it.
 * `fetch` rejects with a TypeError then ("Failed to fetch" in Chromium, "NetworkError when attempting to fetch
 * resource." in Firefox, "Load failed" in Safari); other TypeErrors are bugs and keep their own message.
 */
export function isUnreachable(error: unknown): boolean {
  return error instanceof TypeError && /failed to fetch|networkerror|load failed|network request failed/i.test(error.message);
}

/**
 * The sentence shown for a failed request, in the reader's language where possible: a translated one when the server
 * could not be reached or answered 5xx without Switchboard's error envelope (a proxy's "Bad Gateway" page), the
 * translation of the envelope's code when there is one for its message (`errors.codes.*`, see {@link codeText}), else
 * the envelope's own (English) message.
 */
export function errorText(error: unknown, t: Translate): string {
  if (isUnreachable(error)) return t('errors.unreachable');
  if (error instanceof ApiError) {
    if (/^HTTP_5\d\d$/.test(error.code)) return t('errors.serverUnavailable');
    return codeText(error, t) ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
