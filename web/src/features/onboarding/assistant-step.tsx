import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, ErrorMessage, Field, inputClass } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { formatLanguage, quoted } from '@/lib/format/format';
import { templateName } from '@/lib/template-name';
import { cn } from '@/lib/cn';
import { useTemplates, type AssistantTemplate } from './api';
import { useAction, type StepProps } from './steps';

/** Step 7: pick a receptionist template (12 trades, en/fr), adjust it, and create or update the default assistant. */
export function AssistantStep(props: StepProps) {
  const { t, i18n } = useTranslation();
  const tenantId = useTenantId();
  const { locale } = useFormat();
  const { server } = props;
  const [language, setLanguage] = useState<'en' | 'fr'>(i18n.resolvedLanguage === 'fr' ? 'fr' : 'en');
  const templates = useTemplates(tenantId, language);
  const existing = server.assistant.assistant;
  const [chosen, setChosen] = useState<AssistantTemplate | null>(null);
  const [form, setForm] = useState({ name: existing?.name ?? '', firstMessage: existing?.firstMessage ?? '', instructions: existing?.instructions ?? '' });
  // Emergencies are texted to this number only (the server's alert policy); without it a flooded basement reaches nobody.
  const [onCall, setOnCall] = useState(existing?.alertPolicy?.onCallNumbers?.[0] ?? '');
  const action = useAction(props);
  const industry = server.profile.industry;
  const items = [...(templates.data?.items ?? [])].sort((a, b) => Number(b.trade === industry) - Number(a.trade === industry));
  const pick = (tpl: AssistantTemplate) => {
    setChosen(tpl);
    setForm({ name: tpl.assistantName, firstMessage: tpl.firstMessage, instructions: tpl.instructions });
  };
  const submit = () =>
    void action.run({
      assistant: {
        name: form.name,
        firstMessage: form.firstMessage,
        instructions: form.instructions,
        languages: chosen?.languages ?? (server.persona.languages.length > 0 ? server.persona.languages : null),
        tools: chosen?.tools ?? null,
        voice: null,
        model: null,
        alertPolicy:
          onCall.trim() === ''
            ? null
            : {
                onCallNumbers: [onCall.trim(), ...(existing?.alertPolicy?.onCallNumbers?.slice(1) ?? [])],
                officeNumbers: existing?.alertPolicy?.officeNumbers ?? null,
                nonUrgentDelivery: existing?.alertPolicy?.nonUrgentDelivery ?? null,
                language: existing?.alertPolicy?.language ?? null,
              },
        recordingEnabled: null,
        isDefault: null,
      },
    });
  return (
    <div className="flex flex-col gap-4">
      {existing ? (
        <p role="status" className="flex flex-wrap items-center gap-2 text-sm">
          {t('onboarding.assistant.current', { name: existing.name })}
          <Badge tone={existing.syncStatus === 'synced' || existing.syncStatus === 'local' ? 'green' : existing.syncStatus === 'failed' ? 'red' : 'amber'}>
            {t(`onboarding.assistant.sync.${existing.syncStatus ?? 'local'}`, { defaultValue: existing.syncStatus ?? '' })}
          </Badge>
        </p>
      ) : null}
      <section aria-labelledby="gallery-title">
        <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
          <h3 id="gallery-title" className="font-medium">
            {t('onboarding.assistant.gallery')}
          </h3>
          <label className="flex items-center gap-2 text-sm">
            {t('onboarding.assistant.templateLanguage')}
            <select className={inputClass} value={language} onChange={(e) => setLanguage(e.target.value as 'en' | 'fr')}>
              <option value="en">{formatLanguage('en', locale)}</option>
              <option value="fr">{formatLanguage('fr', locale)}</option>
            </select>
          </label>
        </div>
        <ErrorMessage error={templates.error} />
        {templates.isPending ? <p>{t('common.loading')}</p> : null}
        <ul className="grid grid-cols-1 gap-2 sm:grid-cols-2 xl:grid-cols-3">
          {items.map((tpl) => (
            <li key={tpl.id}>
              <button
                type="button"
                aria-pressed={chosen?.id === tpl.id}
                onClick={() => pick(tpl)}
                className={cn(
                  'flex h-full w-full flex-col gap-1 rounded-md border p-3 text-start text-sm',
                  chosen?.id === tpl.id ? 'border-brand-600 ring-2 ring-brand-600' : 'border-slate-200 hover:bg-slate-50 dark:border-slate-700 dark:hover:bg-slate-800',
                )}
              >
                <span className="font-medium">{templateName(tpl, t)}</span>
                <span className="text-slate-600 dark:text-slate-400">
                  {tpl.assistantName} · {t(`onboarding.trades.${tpl.trade}`)}
                </span>
                <span className="line-clamp-2" lang={tpl.language}>
                  {quoted(tpl.firstMessage, tpl.language)}
                </span>
                <span className="text-xs text-slate-600 dark:text-slate-400" lang={tpl.language}>
                  {t('onboarding.assistant.urgency')}: {tpl.urgencyCues.slice(0, 3).join(', ')}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section className="grid grid-cols-1 gap-3">
        <Field label={t('onboarding.assistant.name')}>
          <input className={inputClass} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label={t('onboarding.assistant.firstMessage')}>
          <textarea className={inputClass} rows={2} value={form.firstMessage} onChange={(e) => setForm({ ...form, firstMessage: e.target.value })} />
        </Field>
        <Field label={t('onboarding.assistant.onCall')}>
          <input
            className={inputClass}
            type="tel"
            dir="ltr"
            autoComplete="tel"
            placeholder="+1 514 555 0111"
            value={onCall}
            onChange={(e) => setOnCall(e.target.value)}
          />
        </Field>
        <p className="-mt-2 text-xs text-slate-600 dark:text-slate-400">{t('onboarding.assistant.onCallHint')}</p>
        <Field label={t('onboarding.assistant.instructions')}>
          <textarea className={inputClass} rows={8} value={form.instructions} onChange={(e) => setForm({ ...form, instructions: e.target.value })} />
        </Field>
        {chosen ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {t('onboarding.assistant.tools')}: <span dir="ltr">{chosen.tools.join(', ')}</span>
          </p>
        ) : null}
        <div>
          <Button variant="primary" disabled={action.busy || form.name.trim() === ''} onClick={submit}>
            {existing ? t('onboarding.assistant.update') : t('onboarding.assistant.create')}
          </Button>
        </div>
        <ErrorMessage error={action.error} />
      </section>
    </div>
  );
}
