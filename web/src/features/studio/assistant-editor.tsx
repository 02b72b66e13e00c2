import { useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, buttonClass, Card, ErrorMessage, inputClass, PageTitle } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { formatLanguage } from '@/lib/format/format';
import { templateName } from '@/lib/template-name';
import { TOOLS, syncProblem, useAlertSettings, useAssistants, useDeleteAssistant, useSaveAssistant, useTemplates, type Assistant, type AssistantRequest, type AssistantTemplate } from './api';
import { inheritedHint, inheritedOffice, inheritedOnCall } from './alert-policy';
import { fieldErrors, splitList } from './http';
import { parsePhoneList } from '@/lib/phone';
import { FieldError, ReturnToBanner } from './return-to';
import { Field } from './field';
import { SyncBadge } from './assistants-page';

interface Form {
  name: string;
  firstMessage: string;
  instructions: string;
  languages: string;
  voiceProvider: string;
  voiceId: string;
  modelProvider: string;
  model: string;
  tools: string[];
  onCall: string;
  office: string;
  nonUrgentDelivery: string;
  alertLanguage: string;
  recordingEnabled: boolean;
  isDefault: boolean;
}

function toForm(a: Assistant | undefined): Form {
  return {
    name: a?.name ?? '',
    firstMessage: a?.firstMessage ?? '',
    instructions: a?.instructions ?? '',
    languages: (a?.languages ?? ['fr-CA', 'en-US']).join(', '),
    voiceProvider: a?.voice?.provider ?? '',
    voiceId: a?.voice?.voiceId ?? '',
    modelProvider: a?.model?.provider ?? '',
    model: a?.model?.model ?? '',
    tools: a ? [...a.tools] : [...TOOLS],
    onCall: (a?.alertPolicy?.onCallNumbers ?? []).join(', '),
    office: (a?.alertPolicy?.officeNumbers ?? []).join(', '),
    nonUrgentDelivery: a?.alertPolicy?.nonUrgentDelivery ?? 'business-hours',
    alertLanguage: a?.alertPolicy?.language ?? '',
    recordingEnabled: a?.recordingEnabled ?? false,
    isDefault: a?.isDefault ?? false,
  };
}

function toRequest(f: Form): AssistantRequest {
  return {
    name: f.name.trim(),
    firstMessage: f.firstMessage,
    instructions: f.instructions,
    languages: splitList(f.languages),
    voice: f.voiceProvider && f.voiceId ? { provider: f.voiceProvider, voiceId: f.voiceId.trim() } : undefined,
    model: f.modelProvider && f.model ? { provider: f.modelProvider, model: f.model.trim() } : undefined,
    tools: f.tools,
    alertPolicy: {
      // Empty lists inherit the business's numbers (the server's AlertPolicy.For); a null language inherits its language.
      onCallNumbers: parsePhoneList(f.onCall).numbers,
      officeNumbers: parsePhoneList(f.office).numbers,
      nonUrgentDelivery: f.nonUrgentDelivery,
      language: f.alertLanguage.trim() || null,
    },
    recordingEnabled: f.recordingEnabled,
    isDefault: f.isDefault || undefined,
  };
}

/** Settings → Assistant studio → one assistant (or `new`): every field, a template picker, errors at their fields. */
export function AssistantEditorPage() {
  const { t } = useTranslation();
  const { assistantId } = useParams({ from: '/_app/settings/assistants/$assistantId' });
  const { returnTo } = useSearch({ from: '/_app/settings/assistants/$assistantId' });
  const tenantId = useTenantId();
  const assistants = useAssistants(tenantId);
  const isNew = assistantId === 'new';
  const assistant = assistants.data?.find((a) => a.id === assistantId);
  return (
    <>
      <ReturnToBanner returnTo={returnTo} />
      <PageTitle
        actions={
          <Link to="/settings/assistants" search={{ returnTo }} className={buttonClass('ghost')}>
            {t('studio.assistants.backToList')}
          </Link>
        }
      >
        {isNew ? t('studio.assistants.new') : (assistant?.name ?? t('studio.assistants.title'))}
      </PageTitle>
      <ErrorMessage error={assistants.error} />
      {assistants.isPending ? <p>{t('common.loading')}</p> : null}
      {!assistants.isPending && !isNew && !assistant && !assistants.error ? <ErrorMessage error={t('studio.assistants.notFound')} /> : null}
      {isNew || assistant ? <Editor key={assistant?.id ?? 'new'} assistant={assistant} tenantId={tenantId} returnTo={returnTo} /> : null}
    </>
  );
}

function Editor({ assistant, tenantId, returnTo }: { assistant: Assistant | undefined; tenantId: string; returnTo: string | undefined }) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  const navigate = useNavigate();
  const save = useSaveAssistant(tenantId);
  const remove = useDeleteAssistant(tenantId);
  const [form, setForm] = useState<Form>(() => toForm(assistant));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const serverErrors = fieldErrors(save.error);
  const errors = { ...serverErrors, ...clientErrors };
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setSaved(false);
  };
  const err = (field: string) => errors[field];
  // Under an empty on-call or office field: which of the business's numbers apply instead (Settings → Alerts).
  const business = useAlertSettings(tenantId).data;
  const alertHint = (field: 'onCall' | 'office', fallback: string) => {
    if (!business || parsePhoneList(form[field]).numbers.length > 0 || form[field].trim() !== '') return fallback;
    const hint = inheritedHint(field, field === 'onCall' ? inheritedOnCall(business) : inheritedOffice(business, form.onCall));
    return t(hint.key, { numbers: hint.numbers });
  };

  const applyTemplate = (tpl: AssistantTemplate) => {
    setForm((f) => ({
      ...f,
      name: tpl.assistantName,
      firstMessage: tpl.firstMessage,
      instructions: tpl.instructions,
      languages: tpl.languages.join(', '),
      tools: tpl.tools.filter((x) => (TOOLS as readonly string[]).includes(x)),
    }));
    setSaved(false);
  };

  const submit = () => {
    const problems: Record<string, string> = {};
    if (!form.name.trim()) problems.name = t('studio.errors.required');
    if (parsePhoneList(form.onCall).invalid !== null) problems['alertPolicy.onCallNumbers'] = t('studio.errors.e164');
    if (parsePhoneList(form.office).invalid !== null) problems['alertPolicy.officeNumbers'] = t('studio.errors.e164');
    if ((form.voiceProvider === '') !== (form.voiceId.trim() === '')) problems.voice = t('studio.errors.voice');
    if ((form.modelProvider === '') !== (form.model.trim() === '')) problems.model = t('studio.errors.model');
    setClientErrors(problems);
    if (Object.keys(problems).length > 0) return;
    save.mutate(
      { id: assistant?.id, body: toRequest(form) },
      {
        onSuccess: (result) => {
          setSaved(true);
          if (!assistant) void navigate({ to: '/settings/assistants/$assistantId', params: { assistantId: result.id }, search: { returnTo }, replace: true });
        },
      },
    );
  };

  const described = (field: string, hint?: boolean) => {
    const ids = [err(field) ? `err-${field}` : '', hint ? `hint-${field}` : ''].filter(Boolean).join(' ');
    return { ...(err(field) ? { 'aria-invalid': true } : {}), ...(ids ? { 'aria-describedby': ids } : {}) };
  };
  const row = (label: string, field: string, input: ReactNode, hint?: string) => (
    <div className="flex flex-col gap-1">
      <Field label={label}>{input}</Field>
      {hint ? (
        <p id={`hint-${field}`} className="text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      ) : null}
      <FieldError id={`err-${field}`} message={err(field)} />
    </div>
  );

  return (
    <form
      noValidate
      className="flex flex-col gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <TemplatePicker tenantId={tenantId} onPick={applyTemplate} />
      {assistant ? (
        <Card aria-label={t('studio.sync.title')}>
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span className="font-medium">{t('studio.sync.title')}</span>
            <SyncBadge assistant={assistant} />
            {syncProblem(assistant, t) ? (
              <span className="text-red-700 dark:text-red-300" dir="auto">
                {syncProblem(assistant, t)}
              </span>
            ) : null}
          </div>
        </Card>
      ) : null}
      <Card className="grid gap-3 md:grid-cols-2">
        <h2 className="font-semibold md:col-span-2">{t('studio.assistants.persona')}</h2>
        {row(t('studio.fields.name'), 'name', <input className={inputClass} dir="auto" maxLength={200} value={form.name} onChange={(e) => set('name', e.target.value)} {...described('name')} />)}
        {row(
          t('studio.fields.languages'),
          'languages',
          <input className={inputClass} dir="ltr" value={form.languages} placeholder="fr-CA, en-US" onChange={(e) => set('languages', e.target.value)} {...described('languages')} />,
        )}
        <div className="md:col-span-2">
          {row(
            t('studio.fields.firstMessage'),
            'firstMessage',
            <textarea className={inputClass} dir="auto" rows={2} maxLength={2000} value={form.firstMessage} onChange={(e) => set('firstMessage', e.target.value)} {...described('firstMessage')} />,
          )}
        </div>
        <div className="md:col-span-2">
          {row(
            t('studio.fields.instructions'),
            'instructions',
            <textarea className={inputClass} dir="auto" rows={8} maxLength={20000} value={form.instructions} onChange={(e) => set('instructions', e.target.value)} {...described('instructions')} />,
          )}
        </div>
      </Card>
      <Card className="grid gap-3 md:grid-cols-2">
        <h2 className="font-semibold md:col-span-2">{t('studio.assistants.voiceAndModel')}</h2>
        {row(
          t('studio.fields.voiceProvider'),
          'voice',
          <select className={inputClass} value={form.voiceProvider} onChange={(e) => set('voiceProvider', e.target.value)} {...described('voice')}>
            <option value="">{t('studio.fields.providerDefault')}</option>
            {['11labs', 'openai', 'azure', 'cartesia', 'vapi'].map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>,
        )}
        {row(t('studio.fields.voiceId'), 'voiceId', <input className={inputClass} dir="ltr" value={form.voiceId} placeholder="sarah" onChange={(e) => set('voiceId', e.target.value)} />)}
        {row(
          t('studio.fields.modelProvider'),
          'model',
          <select className={inputClass} value={form.modelProvider} onChange={(e) => set('modelProvider', e.target.value)} {...described('model')}>
            <option value="">{t('studio.fields.providerDefault')}</option>
            {['openai', 'anthropic', 'google', 'groq'].map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>,
        )}
        {row(t('studio.fields.model'), 'modelName', <input className={inputClass} dir="ltr" value={form.model} placeholder="gpt-4o" onChange={(e) => set('model', e.target.value)} />)}
        <fieldset className="flex flex-col gap-1 md:col-span-2">
          <legend className="mb-1 text-sm font-medium text-slate-700 dark:text-slate-300">{t('studio.fields.tools')}</legend>
          <div className="flex flex-wrap gap-4">
            {TOOLS.map((tool) => (
              <label key={tool} className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={form.tools.includes(tool)}
                  onChange={(e) => set('tools', e.target.checked ? [...form.tools, tool] : form.tools.filter((x) => x !== tool))}
                />
                {t(`studio.tools.${tool}`)}
              </label>
            ))}
          </div>
          <p className="text-xs text-slate-600 dark:text-slate-400">{t('studio.fields.knowledgeAlways')}</p>
          <FieldError id="err-tools" message={err('tools')} />
        </fieldset>
      </Card>
      <Card className="grid gap-3 md:grid-cols-2">
        <h2 className="font-semibold md:col-span-2">{t('studio.assistants.alerts')}</h2>
        {row(
          t('studio.fields.onCall'),
          'alertPolicy.onCallNumbers',
          <input
            className={inputClass}
            dir="ltr"
            inputMode="tel"
            value={form.onCall}
            onChange={(e) => set('onCall', e.target.value)}
            {...described('alertPolicy.onCallNumbers', true)}
          />,
          alertHint('onCall', t('studio.fields.onCallInherits')),
        )}
        {row(
          t('studio.fields.office'),
          'alertPolicy.officeNumbers',
          <input
            className={inputClass}
            dir="ltr"
            inputMode="tel"
            value={form.office}
            onChange={(e) => set('office', e.target.value)}
            {...described('alertPolicy.officeNumbers', true)}
          />,
          alertHint('office', t('studio.fields.officeInherits')),
        )}
        {row(
          t('studio.fields.quietHours'),
          'alertPolicy.nonUrgentDelivery',
          <select className={inputClass} value={form.nonUrgentDelivery} onChange={(e) => set('nonUrgentDelivery', e.target.value)}>
            <option value="business-hours">{t('studio.fields.quietBusinessHours')}</option>
            <option value="none">{t('studio.fields.quietNone')}</option>
          </select>,
        )}
        {row(
          t('studio.fields.alertLanguage'),
          'alertPolicy.language',
          <select className={inputClass} value={form.alertLanguage} onChange={(e) => set('alertLanguage', e.target.value)} {...described('alertPolicy.language')}>
            <option value="">{t('studio.fields.tenantLanguage')}</option>
            {['fr-CA', 'en-CA', 'en-US', 'he-IL', 'ar'].map((l) => (
              <option key={l} value={l}>
                {formatLanguage(l, locale)}
              </option>
            ))}
          </select>,
        )}
        <p className="text-xs text-slate-600 md:col-span-2 dark:text-slate-400">{t('studio.fields.alertHint')}</p>
        <FieldError id="err-alertPolicy" message={err('alertPolicy')} />
      </Card>
      <Card className="flex flex-col gap-2">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={form.recordingEnabled} onChange={(e) => set('recordingEnabled', e.target.checked)} />
          {t('studio.fields.recording')}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={form.isDefault} disabled={assistant?.isDefault} onChange={(e) => set('isDefault', e.target.checked)} />
          {t('studio.fields.isDefault')}
        </label>
      </Card>
      {save.error && Object.keys(serverErrors).length === 0 ? <ErrorMessage error={save.error} /> : null}
      {Object.keys(errors).length > 0 ? (
        <p role="status" className="text-sm text-red-700 dark:text-red-300">
          {t('studio.errors.fixFields')}
        </p>
      ) : null}
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" variant="primary" disabled={save.isPending}>
          {assistant ? t('studio.actions.save') : t('studio.actions.create')}
        </Button>
        {saved && !save.isPending ? (
          <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
            {t('studio.actions.saved')}
          </span>
        ) : null}
        {assistant && !assistant.isDefault ? (
          <Button
            variant="danger"
            className="ms-auto"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(t('studio.assistants.confirmDelete', { name: assistant.name }))) {
                remove.mutate(assistant.id, { onSuccess: () => void navigate({ to: '/settings/assistants', search: { returnTo } }) });
              }
            }}
          >
            {t('studio.actions.delete')}
          </Button>
        ) : null}
      </div>
      <ErrorMessage error={remove.error} />
    </form>
  );
}

/** The template gallery: trade personas in English or French; picking one fills the form (saved with the form). */
function TemplatePicker({ tenantId, onPick }: { tenantId: string; onPick: (tpl: AssistantTemplate) => void }) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  const [open, setOpen] = useState(false);
  const [language, setLanguage] = useState('');
  const templates = useTemplates(tenantId, language, open);
  return (
    <Card aria-label={t('studio.templates.title')}>
      <div className="flex flex-wrap items-center gap-2">
        <h2 className="font-semibold">{t('studio.templates.title')}</h2>
        <Button className="ms-auto" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
          {open ? t('studio.templates.hide') : t('studio.templates.show')}
        </Button>
      </div>
      {open ? (
        <div className="mt-3 flex flex-col gap-3">
          <Field label={t('studio.templates.language')} className="max-w-xs">
            <select className={inputClass} value={language} onChange={(e) => setLanguage(e.target.value)}>
              <option value="">{t('studio.templates.allLanguages')}</option>
              <option value="en">{formatLanguage('en', locale)}</option>
              <option value="fr">{formatLanguage('fr', locale)}</option>
            </select>
          </Field>
          <ErrorMessage error={templates.error} />
          {templates.isPending ? <p>{t('common.loading')}</p> : null}
          <ul className="grid gap-2 sm:grid-cols-2 xl:grid-cols-3">
            {(templates.data?.items ?? []).map((tpl) => (
              <li key={tpl.id}>
                <button
                  type="button"
                  onClick={() => onPick(tpl)}
                  className="flex w-full flex-col items-start gap-1 rounded-md border border-slate-300 p-3 text-start text-sm hover:bg-slate-50 dark:border-slate-700 dark:hover:bg-slate-800"
                >
                  <span className="font-medium">{templateName(tpl, t)}</span>
                  <span className="text-xs text-slate-600 dark:text-slate-400">
                    {t(`studio.trades.${tpl.trade}`, { defaultValue: tpl.trade })} · {formatLanguage(tpl.language, locale)} · {tpl.assistantName}
                  </span>
                </button>
              </li>
            ))}
          </ul>
          <p className="text-xs text-slate-600 dark:text-slate-400">{t('studio.templates.hint')}</p>
        </div>
      ) : null}
    </Card>
  );
}
