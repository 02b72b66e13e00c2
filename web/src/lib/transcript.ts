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
