import { useTranslation } from 'react-i18next';
import { Badge, Ltr, type Tone } from '@/components/ui/ui';
import { formatDateTime } from '@/lib/format/format';
import { useFormat } from '@/lib/session';
import { smsWhen } from '@/lib/sms-when';

/** Badge colour of an SMS status: red when it did not reach the phone (failed, undelivered), green once sent or delivered. */
export function smsTone(status: string): Tone {
  if (status === 'failed' || status === 'undelivered') return 'red';
  if (status === 'delivered' || status === 'sent') return 'green';
  if (status === 'scheduled' || status === 'queued' || status === 'sending') return 'amber';
  return 'slate';
}

/** An SMS's status as a badge, in the reader's words (an unknown status as received). */
export function SmsStatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  return <Badge tone={smsTone(status)}>{t(`smsStatus.${status}`, { defaultValue: status })}</Badge>;
}

/**
 * Why an SMS did not go through: Twilio's error code (left to right) and, for the codes a text to staff usually ends with
 * (30003–30008, 21610), their meaning in the reader's language, else Twilio's message.
 */
export function SmsError({ code, message, className }: { code: string | null; message: string | null; className?: string }) {
  const { t } = useTranslation();
  if (!code && !message) return null;
  const text = code ? t(`smsError.${code}`, { defaultValue: message ?? '' }) : message;
  return (
    <p className={className}>
      {code ? <Ltr>{code}</Ltr> : null} {text}
    </p>
  );
}

/** When an SMS went (or was made), or, for one held until business hours, when it will be sent, in the tenant's time zone. */
export function SmsWhen({ sms, className }: { sms: Parameters<typeof smsWhen>[0]; className?: string }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const when = smsWhen(sms);
  const at = formatDateTime(when.at, locale, timeZone);
  return (
    <time dateTime={when.at} className={className}>
      {when.kind === 'scheduled' ? t('sms.scheduledFor', { at }) : at}
    </time>
  );
}
