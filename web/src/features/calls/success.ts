/**
 * Vapi's `analysis.successEvaluation` as a person reads it. With the default rubric it is the string "true" or "false"
 * (shown as a translated yes/no); numeric, descriptive or letter-grade rubrics are shown as the provider wrote them.
 */
export function successText(value: string, t: (key: string) => string): string {
  const v = value.trim().toLowerCase();
  if (v === 'true') return t('call.successYes');
  if (v === 'false') return t('call.successNo');
  return value;
}
