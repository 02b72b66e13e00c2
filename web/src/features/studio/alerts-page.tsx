import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Button, Card, ErrorMessage, Field, inputClass, PageTitle, useFieldProblems } from '@/components/ui/ui';
import { useSession, useTenantId } from '@/lib/session';
import { parsePhoneList, splitPhones } from '@/lib/phone';
import { useAlertSettings, useSaveAlertSettings, type AlertSettings, type AlertSettingsRequest } from './api';
import { numbersText } from './alert-policy';

/** The languages alert texts are written in (the server's `SmsText.LanguageCodes`); empty is the business's language. */
const SMS_LANGUAGES = ['fr', 'en', 'es', 'de', 'he', 'ar'] as const;

interface Form {
  onCall: string;
  office: string;
  nonUrgentDelivery: string;
  language: string;
}

function toForm(s: AlertSettings): Form {
  return {
    onCall: numbersText(s.onCallNumbers),
    office: numbersText(s.officeNumbers),
    nonUrgentDelivery: s.nonUrgentDelivery,
    // A tag such as fr-CA set through the API shows as its language.
    language: SMS_LANGUAGES.find((l) => s.language?.toLowerCase().split('-')[0] === l) ?? '',
  };
}

function toRequest(f: Form, stored: AlertSettings): AlertSettingsRequest {
  const sameLanguage = (stored.language?.toLowerCase().split('-')[0] ?? '') === f.language;
  return {
    // As typed: the server reads them in the business's region, and quotes a refused one as the owner wrote it.
    onCallNumbers: splitPhones(f.onCall),
    officeNumbers: splitPhones(f.office),
    nonUrgentDelivery: f.nonUrgentDelivery,
    language: sameLanguage ? (stored.language ?? null) : f.language || null,
  };
}

/**
 * Settings → Alerts: the business's own SMS alert policy, the one every assistant's empty on-call or office list falls back
 * to. Owners and admins edit it (numbers as people type them, read in the business's region by the server); members read it.
 */
export function AlertsPage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const settings = useAlertSettings(tenantId);
  return (
    <>
      <PageTitle>{t('alertSettings.title')}</PageTitle>
      <p className="mb-4 max-w-prose text-sm text-slate-600 dark:text-slate-400">{t('alertSettings.intro')}</p>
      <ErrorMessage error={settings.error} />
      {settings.isPending ? <p role="status">{t('common.loading')}</p> : null}
      {settings.data ? <AlertsForm key={tenantId} tenantId={tenantId} stored={settings.data} /> : null}
    </>
  );
}

function AlertsForm({ tenantId, stored }: { tenantId: string; stored: AlertSettings }) {
  const { t } = useTranslation();
  const role = useSession().tenant?.role;
  const canEdit = role === 'owner' || role === 'admin';
  const save = useSaveAlertSettings(tenantId);
  const [form, setForm] = useState<Form>(() => toForm(stored));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const serverProblem = useFieldProblems(save.error);
  const problem = (field: string) => clientErrors[field] ?? serverProblem(field);
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setSaved(false);
  };

  const submit = () => {
    const problems: Record<string, string> = {};
    for (const [field, text] of [
      ['onCallNumbers', form.onCall],
      ['officeNumbers', form.office],
    ] as const) {
      const { invalid } = parsePhoneList(text);
      if (invalid !== null) problems[field] = t('alertSettings.notANumber', { value: invalid });
    }
    setClientErrors(problems);
    if (Object.keys(problems).length > 0) return;
    save.mutate(toRequest(form, stored), {
      onSuccess: (result) => {
        // The numbers as stored (E.164, duplicates dropped): what will be texted.
        setForm(toForm(result));
        setSaved(true);
      },
    });
  };

  const shown = ['onCallNumbers', 'officeNumbers', 'nonUrgentDelivery', 'language'];
  return (
    <form
      noValidate
      className="flex max-w-3xl flex-col gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {!canEdit ? (
        <p role="status" className="rounded-md border border-slate-300 bg-white p-3 text-sm dark:border-slate-700 dark:bg-slate-900">
          {t('alertSettings.readOnly')}
        </p>
      ) : null}
      <Card className="grid gap-4 md:grid-cols-2">
        <div className="flex min-w-0 flex-col gap-1">
          <Field label={t('alertSettings.onCall')} error={problem('onCallNumbers')}>
            <input
              className={inputClass}
              dir="ltr"
              inputMode="tel"
              autoComplete="off"
              readOnly={!canEdit}
              value={form.onCall}
              placeholder="+1 514 555 0111"
              aria-describedby="hint-onCallNumbers"
              onChange={(e) => set('onCall', e.target.value)}
            />
          </Field>
          <p id="hint-onCallNumbers" className="text-xs text-slate-600 dark:text-slate-400">
            {t('alertSettings.onCallHint')}
          </p>
        </div>
        <div className="flex min-w-0 flex-col gap-1">
          <Field label={t('alertSettings.office')} error={problem('officeNumbers')}>
            <input
              className={inputClass}
              dir="ltr"
              inputMode="tel"
              autoComplete="off"
              readOnly={!canEdit}
              value={form.office}
              placeholder="+1 514 555 0100"
              aria-describedby="hint-officeNumbers"
              onChange={(e) => set('office', e.target.value)}
            />
          </Field>
          <p id="hint-officeNumbers" className="text-xs text-slate-600 dark:text-slate-400">
            {t('alertSettings.officeHint')}
          </p>
        </div>
        <Field label={t('alertSettings.nonUrgentDelivery')} error={problem('nonUrgentDelivery')}>
          <select className={inputClass} disabled={!canEdit} value={form.nonUrgentDelivery} onChange={(e) => set('nonUrgentDelivery', e.target.value)}>
            <option value="business-hours">{t('alertSettings.businessHours')}</option>
            <option value="none">{t('alertSettings.none')}</option>
          </select>
        </Field>
        <Field label={t('alertSettings.language')} error={problem('language')}>
          <select className={inputClass} disabled={!canEdit} value={form.language} onChange={(e) => set('language', e.target.value)}>
            <option value="">{t('alertSettings.businessLanguage')}</option>
            {SMS_LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {t(`alertSettings.languages.${l}`)}
              </option>
            ))}
          </select>
        </Field>
        <p className="text-xs text-slate-600 md:col-span-2 dark:text-slate-400">{t('alertSettings.numbersHint')}</p>
      </Card>
      <ErrorMessage error={save.error} shownFields={shown} />
      {canEdit ? (
        <div className="flex flex-wrap items-center gap-2">
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {t('alertSettings.save')}
          </Button>
          {saved && !save.isPending ? (
            <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
              {t('alertSettings.saved')}
            </span>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
