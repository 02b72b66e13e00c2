/** i18next's `t`, as much of it as this module uses. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * The name of a receptionist template (an item of GET /api/v1/assistant-templates) in the dashboard's language.
 *
 * The gallery exists in English and French only (its `language` is what the assistant speaks), and its `name` is in that
 * language, so a Hebrew or Arabic dashboard listed "Plumbing receptionist". The name is a label of the dashboard, so it is
 * looked up by `trade` in `templates.names` (areas/templates.<lang>.json); a trade the dashboard does not know yet keeps the
 * server's `name`.
 */
export function templateName(template: { trade: string; name: string }, t: Translate): string {
  return t(`templates.names.${template.trade}`, { defaultValue: template.name });
}
