import { useState } from 'react';
import { useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Badge, Button, Card, ErrorMessage, inputClass, Ltr, PageTitle } from '@/components/ui/ui';
import { useTenantId } from '@/lib/session';
import { useCurrentPlan, usePlanHas } from '@/lib/plan';
import { PlanUpsell } from '@/components/layout/plan-upsell';
import { formatPhone } from '@/lib/format/format';
import { statusTone, useAssistants, useAttachNumber, useDetachNumber, useNumbers, useUpdateNumber, type PhoneNumber } from './api';
import { E164, fieldErrors } from './http';
import { FieldError, ReturnToBanner } from './return-to';
import { Field } from './field';

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const RANGE = /^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;

/** Settings → Numbers: attach a Twilio number (native or imported into Vapi), per-number hours and after-hours, detach. */
export function NumbersPage() {
  const { t } = useTranslation();
  const { returnTo } = useSearch({ from: '/_app/settings/numbers' });
  const tenantId = useTenantId();
  const numbers = useNumbers(tenantId);
  // Attaching a number needs telephony in the plan: without it, the plan page is offered instead of a form the server refuses.
  const plan = useCurrentPlan(tenantId);
  const hasTelephony = usePlanHas(tenantId, 'telephony');
  return (
    <>
      <ReturnToBanner returnTo={returnTo} />
      <PageTitle>{t('studio.numbers.title')}</PageTitle>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t('studio.numbers.intro')}</p>
      {hasTelephony === false ? <PlanUpsell feature="telephony" plan={plan.data} /> : <AttachForm tenantId={tenantId} />}
      <ErrorMessage error={numbers.error} />
      {numbers.isPending ? <p>{t('common.loading')}</p> : null}
      {numbers.data && numbers.data.length === 0 ? <p className="mt-4 text-sm text-slate-600 dark:text-slate-400">{t('studio.numbers.empty')}</p> : null}
      <ul className="mt-4 grid gap-4">
        {(numbers.data ?? []).map((n) => (
          <NumberCard key={n.id} number={n} tenantId={tenantId} />
        ))}
      </ul>
    </>
  );
}

function AttachForm({ tenantId }: { tenantId: string }) {
  const { t } = useTranslation();
  const attach = useAttachNumber(tenantId);
  const assistants = useAssistants(tenantId);
  const [number, setNumber] = useState('');
  const [mode, setMode] = useState('twilio');
  const [assistantId, setAssistantId] = useState('');
  const [clientError, setClientError] = useState<string | undefined>();
  const errors = fieldErrors(attach.error);
  const numberError = clientError ?? errors.number;
  return (
    <Card aria-label={t('studio.numbers.attach')}>
      <form
        noValidate
        className="grid items-start gap-3 sm:grid-cols-4"
        onSubmit={(e) => {
          e.preventDefault();
          const value = number.replace(/[\s().-]/g, '');
          if (!E164.test(value)) {
            setClientError(t('studio.errors.e164'));
            return;
          }
          setClientError(undefined);
          attach.mutate({ number: value, mode, assistantId: assistantId || undefined }, { onSuccess: () => setNumber('') });
        }}
      >
        <h2 className="font-semibold sm:col-span-4">{t('studio.numbers.attach')}</h2>
        <div className="flex flex-col gap-1">
          <Field label={t('studio.numbers.number')}>
            <input
              className={inputClass}
              dir="ltr"
              inputMode="tel"
              placeholder="+15145550123"
              value={number}
              onChange={(e) => setNumber(e.target.value)}
              aria-invalid={numberError ? true : undefined}
              aria-describedby={numberError ? 'err-number' : undefined}
            />
          </Field>
          <FieldError id="err-number" message={numberError} />
        </div>
        <Field label={t('studio.numbers.mode')}>
          <select className={inputClass} value={mode} onChange={(e) => setMode(e.target.value)}>
            <option value="twilio">{t('studio.numbers.modes.twilio')}</option>
            <option value="vapi">{t('studio.numbers.modes.vapi')}</option>
          </select>
        </Field>
        <Field label={t('studio.numbers.assistant')}>
          <select className={inputClass} value={assistantId} onChange={(e) => setAssistantId(e.target.value)}>
            <option value="">{t('studio.numbers.defaultAssistant')}</option>
            {(assistants.data ?? []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </Field>
        <Button type="submit" variant="primary" className="self-end" disabled={attach.isPending}>
          {t('studio.numbers.attachButton')}
        </Button>
        {attach.error && !errors.number ? (
          <div className="sm:col-span-4">
            <ErrorMessage error={attach.error} />
          </div>
        ) : null}
      </form>
    </Card>
  );
}

function NumberCard({ number, tenantId }: { number: PhoneNumber; tenantId: string }) {
  const { t } = useTranslation();
  const update = useUpdateNumber(tenantId);
  const detach = useDetachNumber(tenantId);
  const assistants = useAssistants(tenantId);
  const [hours, setHours] = useState<Record<string, string>>(() =>
    Object.fromEntries(DAYS.map((d) => [d, (number.businessHours?.weekly?.[d] ?? []).join(', ')])),
  );
  const [holidays, setHolidays] = useState((number.businessHours?.holidays ?? []).join(', '));
  const [action, setAction] = useState(number.afterHours.action ?? 'assistant');
  const [forwardTo, setForwardTo] = useState(number.afterHours.forwardTo ?? '');
  const [message, setMessage] = useState(number.afterHours.message ?? '');
  const [assistantId, setAssistantId] = useState(number.assistantId ?? '');
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const errors = { ...fieldErrors(update.error), ...clientErrors };
  const label = formatPhone(number.number);

  const save = () => {
    const problems: Record<string, string> = {};
    const weekly: Record<string, string[]> = {};
    for (const d of DAYS) {
      const ranges = (hours[d] ?? '')
        .split(/[,;\s]+/)
        .map((r) => r.trim())
        .filter(Boolean);
      if (ranges.some((r) => !RANGE.test(r))) problems.businessHours = t('studio.errors.range');
      if (ranges.length > 0) weekly[d] = ranges;
    }
    const dates = holidays
      .split(/[,;\s]+/)
      .map((h) => h.trim())
      .filter(Boolean);
    if (dates.some((h) => !/^\d{4}-\d{2}-\d{2}$/.test(h))) problems.businessHours = t('studio.errors.date');
    if (action === 'forward' && !E164.test(forwardTo.trim())) problems['afterHours.forwardTo'] = t('studio.errors.e164');
    setClientErrors(problems);
    if (Object.keys(problems).length > 0) return;
    update.mutate(
      {
        id: number.id,
        body: {
          assistantId: assistantId || undefined,
          businessHours: { weekly, holidays: dates },
          afterHours: { action, forwardTo: action === 'forward' ? forwardTo.trim() : null, message: message.trim() || null },
        },
      },
      { onSuccess: () => setSaved(true) },
    );
  };

  return (
    <li>
      <Card aria-label={label}>
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <h2 className="font-semibold">
            <Ltr>{label}</Ltr>
          </h2>
          <Badge tone="slate">{t(`studio.numbers.modes.${number.mode}`, { defaultValue: number.mode })}</Badge>
          <Badge tone={statusTone(number.status)}>{t(`studio.numbers.status.${number.status}`, { defaultValue: number.status })}</Badge>
          {number.lastError ? (
            <span className="text-sm text-red-700 dark:text-red-300" dir="auto">
              {number.lastError}
            </span>
          ) : null}
        </div>
        <form
          noValidate
          className="grid gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <fieldset className="grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
            <legend className="mb-1 text-sm font-medium">{t('studio.numbers.hours')}</legend>
            <p className="text-xs text-slate-600 sm:col-span-2 lg:col-span-4 dark:text-slate-400">
              {number.businessHours ? t('studio.numbers.hoursHint') : t('studio.numbers.usesTenantHours')}
            </p>
            {DAYS.map((d) => (
              <Field key={d} label={t(`studio.days.${d}`)}>
                <input
                  className={inputClass}
                  dir="ltr"
                  placeholder={t('studio.numbers.closed')}
                  value={hours[d]}
                  onChange={(e) => {
                    setHours((h) => ({ ...h, [d]: e.target.value }));
                    setSaved(false);
                  }}
                />
              </Field>
            ))}
            <Field label={t('studio.numbers.holidays')} className="sm:col-span-2">
              <input className={inputClass} dir="ltr" placeholder="2026-12-25, 2027-01-01" value={holidays} onChange={(e) => setHolidays(e.target.value)} />
            </Field>
            <div className="sm:col-span-2 lg:col-span-4">
              <FieldError id={`err-hours-${number.id}`} message={errors.businessHours} />
            </div>
          </fieldset>
          <fieldset className="grid gap-2 sm:grid-cols-3">
            <legend className="mb-1 text-sm font-medium">{t('studio.numbers.afterHours')}</legend>
            <Field label={t('studio.numbers.afterHoursAction')}>
              <select className={inputClass} value={action} onChange={(e) => setAction(e.target.value)}>
                {['assistant', 'voicemail', 'forward'].map((a) => (
                  <option key={a} value={a}>
                    {t(`studio.numbers.actions.${a}`)}
                  </option>
                ))}
              </select>
            </Field>
            {action === 'forward' ? (
              <div className="flex flex-col gap-1">
                <Field label={t('studio.numbers.forwardTo')}>
                  <input className={inputClass} dir="ltr" inputMode="tel" placeholder="+15145550111" value={forwardTo} onChange={(e) => setForwardTo(e.target.value)} />
                </Field>
                <FieldError id={`err-forward-${number.id}`} message={errors['afterHours.forwardTo']} />
              </div>
            ) : null}
            {action === 'voicemail' ? (
              <Field label={t('studio.numbers.message')}>
                <input className={inputClass} dir="auto" maxLength={500} value={message} onChange={(e) => setMessage(e.target.value)} />
              </Field>
            ) : null}
            <Field label={t('studio.numbers.assistant')}>
              <select className={inputClass} value={assistantId} onChange={(e) => setAssistantId(e.target.value)}>
                <option value="">{t('studio.numbers.defaultAssistant')}</option>
                {(assistants.data ?? []).map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </Field>
          </fieldset>
          {update.error && Object.keys(fieldErrors(update.error)).length === 0 ? <ErrorMessage error={update.error} /> : null}
          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" variant="primary" disabled={update.isPending}>
              {t('studio.actions.save')}
            </Button>
            {saved && !update.isPending ? (
              <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
                {t('studio.actions.saved')}
              </span>
            ) : null}
            <Button
              variant="danger"
              className="ms-auto"
              disabled={detach.isPending}
              onClick={() => {
                if (window.confirm(t('studio.numbers.confirmDetach', { number: label }))) detach.mutate(number.id);
              }}
            >
              {t('studio.numbers.detach')}
            </Button>
          </div>
          <ErrorMessage error={detach.error} />
        </form>
      </Card>
    </li>
  );
}
