import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { X } from 'lucide-react';
import { Badge, Button, ErrorMessage, Field, inputClass, Ltr } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { useCurrentPlan, usePlanHas } from '@/lib/plan';
import { PlanUpsell } from '@/components/layout/plan-upsell';
import { DateField, TimeField } from '@/components/ui/date-field';
import { formatPickedDate, formatPickedTime, intlLocale } from '@/lib/format/format';
import { zoneName } from '@/lib/time-zones';
import { WEEKDAYS, type Draft } from './draft';
import { useAction, type StepProps } from './steps';

type Hours = Draft['telephony']['hours'];

/**
 * Weekly hours (one range per day, "HH:MM-HH:MM", "24:00" for the end of the day) and closed dates ("YYYY-MM-DD"), in the
 * tenant's time zone. Times and dates are typed in the dashboard's language ({@link TimeField}, {@link DateField}), not in
 * native pickers, which speak the browser's; each open day's range is also read back as one phrase (`formatPickedTime`).
 */
export function HoursEditor({ hours, onChange }: { hours: Hours; onChange: (h: Hours) => void }) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  const [holiday, setHoliday] = useState('');
  const setDay = (day: string, range: string[] | null) => {
    const weekly = Object.fromEntries(Object.entries(hours.weekly).filter(([d]) => d !== day));
    if (range) weekly[day] = range;
    onChange({ ...hours, weekly });
  };
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-col divide-y divide-slate-100 text-sm dark:divide-slate-800">
        {WEEKDAYS.map((day) => {
          const range = hours.weekly[day]?.[0];
          const [from, to] = (range ?? '09:00-17:00').split('-');
          const open = range !== undefined;
          const dayName = t(`onboarding.days.${day}`);
          return (
            <div key={day} role="group" aria-label={dayName} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-1.5">
              <span className="w-24 font-medium">{dayName}</span>
              <label className="flex w-24 items-center gap-1.5">
                <input type="checkbox" checked={open} onChange={(e) => setDay(day, e.target.checked ? ['09:00-17:00'] : null)} />
                {open ? t('onboarding.telephony.open') : t('onboarding.telephony.closed')}
              </label>
              {open ? (
                // The pair follows the page's direction, like the range read back beside it: "from" comes first in reading
                // order, at the right in Arabic and Hebrew. "24:00" (open until midnight) shows as 23:59, as before.
                <span className="flex flex-wrap items-center gap-1">
                  <TimeField
                    label={t('onboarding.telephony.from', { day: dayName })}
                    locale={locale}
                    value={from ?? ''}
                    onChange={(value) => setDay(day, [`${value}-${to}`, ...(hours.weekly[day]?.slice(1) ?? [])])}
                  />
                  –
                  <TimeField
                    label={t('onboarding.telephony.to', { day: dayName })}
                    locale={locale}
                    value={to === '24:00' ? '23:59' : (to ?? '')}
                    onChange={(value) => setDay(day, [`${from}-${value}`, ...(hours.weekly[day]?.slice(1) ?? [])])}
                  />
                </span>
              ) : null}
              {open ? (
                <span className="text-xs text-slate-600 dark:text-slate-400">
                  {/* bdi: each time is isolated, so "9:00 a.m." or "٩:٠٠ ص" never reorders with the dash and the other time. */}
                  <bdi>{formatPickedTime(from ?? '', locale)}</bdi> – <bdi>{formatPickedTime(to ?? '', locale)}</bdi>
                </span>
              ) : null}
            </div>
          );
        })}
      </div>
      <div>
        <p className="mb-1 text-sm font-medium">{t('onboarding.telephony.holidays')}</p>
        <ul className="mb-2 flex flex-wrap gap-2">
          {hours.holidays.map((d) => (
            <li key={d}>
              <Badge>
                {formatPickedDate(d, locale) || <Ltr>{d}</Ltr>}
                <button
                  type="button"
                  className="ms-1"
                  aria-label={t('onboarding.telephony.removeHoliday', { date: formatPickedDate(d, locale) || d })}
                  onClick={() => onChange({ ...hours, holidays: hours.holidays.filter((h) => h !== d) })}
                >
                  <X aria-hidden className="size-3" />
                </button>
              </Badge>
            </li>
          ))}
        </ul>
        <div className="flex flex-wrap items-end gap-2">
          {/* Day, month and year in the page's language (a native date input follows the browser's locale instead). */}
          <DateField label={t('onboarding.telephony.holidayDate')} locale={locale} value={holiday} onChange={setHoliday} />
          <Button
            disabled={!holiday || hours.holidays.includes(holiday)}
            onClick={() => {
              onChange({ ...hours, holidays: [...hours.holidays, holiday].sort() });
              setHoliday('');
            }}
          >
            {t('onboarding.telephony.addHoliday')}
          </Button>
        </div>
      </div>
    </div>
  );
}

/**
 * Step 5, phone and hours. The phone number and what happens to calls after hours need the plan's `telephony` feature
 * (Billing/Plans.cs; attaching a number is refused with FEATURE_NOT_IN_PLAN without it): on a plan without it, the step
 * shows the calm upsell note (as the Numbers page does) in place of the number, keeps the business hours (alerts,
 * analytics and callbacks read them whatever the channel), and the wizard's Skip and Continue move on as usual. While the
 * plan loads, the number part says so rather than offering a form that may be refused.
 */
export function TelephonyStep(props: StepProps) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  const tenantId = useTenantId();
  const plan = useCurrentPlan(tenantId);
  const hasPhone = usePlanHas(tenantId, 'telephony');
  const { draft, edit, server } = props;
  const [number, setNumber] = useState('');
  const action = useAction(props);
  const tel = draft.telephony;
  const attached = server.telephony.number;
  const attach = () =>
    void action.run({
      telephony: {
        number: number.trim(),
        mode: null,
        businessHours: null,
        afterHours: { action: tel.afterHours, forwardTo: tel.afterHours === 'forward' ? tel.forwardTo || null : null, message: tel.afterHours === 'voicemail' ? tel.message || null : null },
      },
    });
  return (
    <div className="flex flex-col gap-5">
      <section>
        <h3 className="mb-2 font-medium">{t('onboarding.telephony.number')}</h3>
        {attached ? (
          <p className="flex flex-wrap items-center gap-2 text-sm">
            <Ltr>{attached.number}</Ltr> <Badge tone={attached.status === 'active' ? 'green' : 'amber'}>{attached.status}</Badge>
          </p>
        ) : hasPhone === false ? (
          <>
            <PlanUpsell feature="telephony" plan={plan.data} />
            <p className="text-sm text-slate-600 dark:text-slate-400">{t('onboarding.telephony.noPhoneHelp')}</p>
          </>
        ) : hasPhone === undefined ? (
          <p className="text-sm">{t('common.loading')}</p>
        ) : (
          <div className="flex flex-wrap items-end gap-2">
            <Field label={t('onboarding.telephony.numberLabel')}>
              <input className={inputClass} dir="ltr" type="tel" placeholder="+15145550100" value={number} onChange={(e) => setNumber(e.target.value)} />
            </Field>
            <Button variant="primary" disabled={action.busy || !/^\+[1-9]\d{7,14}$/.test(number.trim())} onClick={attach}>
              {t('onboarding.telephony.attach')}
            </Button>
          </div>
        )}
        <ErrorMessage error={action.error} />
      </section>
      <section>
        <h3 className="mb-2 font-medium">
          {t('onboarding.telephony.hours')} <span className="text-sm font-normal text-slate-600 dark:text-slate-400">({zoneName(server.telephony.timeZone, intlLocale(locale))})</span>
        </h3>
        <HoursEditor hours={tel.hours} onChange={(hours) => edit('telephony', { hours })} />
      </section>
      {/* What happens to calls after hours: only with a number, or a plan that can have one. */}
      {attached || hasPhone ? (
        <section className="grid grid-cols-1 gap-2 sm:grid-cols-2">
          <Field label={t('onboarding.telephony.afterHours')}>
            <select className={inputClass} value={tel.afterHours} onChange={(e) => edit('telephony', { afterHours: e.target.value })}>
              {['assistant', 'voicemail', 'forward'].map((a) => (
                <option key={a} value={a}>
                  {t(`onboarding.telephony.after.${a}`)}
                </option>
              ))}
            </select>
          </Field>
          {tel.afterHours === 'forward' ? (
            <Field label={t('onboarding.telephony.forwardTo')}>
              <input className={inputClass} dir="ltr" type="tel" value={tel.forwardTo} onChange={(e) => edit('telephony', { forwardTo: e.target.value })} />
            </Field>
          ) : null}
          {tel.afterHours === 'voicemail' ? (
            <Field label={t('onboarding.telephony.message')}>
              <input className={inputClass} value={tel.message} onChange={(e) => edit('telephony', { message: e.target.value })} />
            </Field>
          ) : null}
          {!attached ? <p className="text-xs text-slate-600 dark:text-slate-400 sm:col-span-2">{t('onboarding.telephony.afterHoursHelp')}</p> : null}
        </section>
      ) : null}
    </div>
  );
}
