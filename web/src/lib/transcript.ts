/**
 * The roles the host writes on transcript turns: `assistant`, `user`, and the tool turns `tool_call` / `tool_result`
 * (Vapi's `tool_calls` and `tool_call_result` messages in VapiEventProcessor.TurnsFrom, and the native bridge's function
 * calls in MediaBridge.Turns), plus the provider spellings older rows may carry.
 */
export const TRANSCRIPT_ROLES = ['assistant', 'bot', 'user', 'customer', 'tool_call', 'tool_result', 'tool', 'system'] as const;

/** Who a turn belongs to on screen: the assistant, the caller, or the assistant's tools (a function call and its result). */
export type TurnKind = 'assistant' | 'caller' | 'tool';

export function turnKind(role: string): TurnKind {
  if (role === 'user' || role === 'customer') return 'caller';
  if (role === 'tool_call' || role === 'tool_result' || role === 'tool') return 'tool';
  return 'assistant';
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && Object.keys(value).length > 0;
}

function scalar(value: unknown, continuation: string): string {
  if (typeof value === 'string') return value.replace(/\n/g, `\n${continuation}`);
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  return String(value);
}

function lines(value: object, indent: string): string[] {
  const out: string[] = [];
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      if (isContainer(item)) {
        const sub = lines(item, inner);
        out.push(`${indent}- ${sub[0]!.trimStart()}`, ...sub.slice(1));
      } else out.push(`${indent}- ${scalar(item, inner)}`);
    }
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    if (isContainer(item)) out.push(`${indent}${key}:`, ...lines(item, inner));
    else out.push(`${indent}${key}: ${scalar(item, inner)}`);
  }
  return out;
}

/**
 * A JSON value as plain lines for people: `key: value`, nested values indented by two spaces, list items after `- `, and
 * strings as their text (so `Territoire\u00A0desservi`, `jusqu\u0027à` and `\n` read as written, not as escapes).
 */
export function readableJson(value: unknown, indent = ''): string {
  return isContainer(value) ? lines(value, indent).join('\n') : indent + scalar(value, indent);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The text of a tool turn for display: a call `name({"a":1})` (the native bridge and Vapi's `tool_calls`, several joined
 * by `; `) becomes the name and its arguments as readable lines; a result that is a JSON object or list becomes readable
 * lines; anything else is shown as written.
 */
export function readableToolText(text: string): string {
  const whole = parseJson(text.trim());
  if (whole.ok) return isContainer(whole.value) ? readableJson(whole.value) : text;
  const calls = text.trim().split(/\);\s*(?=[A-Za-z_][\w.-]*\()/);
  const shown = calls.map((part, i) => {
    const call = /^([A-Za-z_][\w.-]*)\(([\s\S]*)\)$/.exec(i < calls.length - 1 ? `${part})` : part);
    if (!call) return null;
    const name = call[1]!;
    const args = call[2]!.trim();
    if (args === '' || args === '{}') return name;
    const parsed = parseJson(args);
    if (!parsed.ok) return null;
    return isContainer(parsed.value) ? `${name}\n${readableJson(parsed.value, '  ')}` : `${name}(${scalar(parsed.value, '')})`;
  });
  return shown.every((s) => s !== null) ? shown.join('\n') : text;
}
