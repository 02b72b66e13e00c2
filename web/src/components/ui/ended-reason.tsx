import { useTranslation } from 'react-i18next';
import { endedReasonLabel } from '@/lib/ended-reason';

/**
 * Why a call ended, in the reader's words, with the provider's own value as the tooltip (what support asks for); a value
 * without a label is shown as received, left to right.
 */
export function EndedReason({ reason, className }: { reason: string; className?: string }) {
  const { t } = useTranslation();
  const label = endedReasonLabel(reason);
  return label ? (
    <span className={className} title={reason}>
      {t(`endedReason.${label}`)}
    </span>
  ) : (
    <bdi dir="ltr" className={className}>
      {reason}
    </bdi>
  );
}
