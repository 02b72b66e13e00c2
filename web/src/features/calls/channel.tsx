import { useTranslation } from 'react-i18next';
import { MessageSquareText, Mic, Phone } from 'lucide-react';
import { cn } from '@/lib/cn';

/** How a conversation reached the business: a phone call, a chat in the website widget, or the widget's voice. */
export type ChannelKind = 'phone' | 'webChat' | 'webVoice';

/**
 * The channel of a call from the API's `channel` (`voice` | `web`) and `type` (`webChat`, `webVoice`, Vapi's `webCall`…):
 * a web conversation is a chat when its type says so, else web voice.
 */
export function channelKind(channel: string, type?: string | null): ChannelKind {
  if (channel !== 'web') return 'phone';
  return type === 'webChat' ? 'webChat' : 'webVoice';
}

const ICONS = { phone: Phone, webChat: MessageSquareText, webVoice: Mic } as const;

/** The channel as an icon and a label (never the icon alone), e.g. in the calls list and on a call's detail. */
export function ChannelLabel({ channel, type, className }: { channel: string; type?: string | null; className?: string }) {
  const { t } = useTranslation();
  const kind = channelKind(channel, type);
  const Icon = ICONS[kind];
  return (
    <span className={cn('inline-flex items-center gap-1', className)} data-channel={kind}>
      <Icon aria-hidden className="size-3.5 shrink-0" />
      {t(`webConversations.channel.${kind}`)}
    </span>
  );
}
