import { useEffect, useState, type ReactNode } from 'react';
import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Badge, Button, buttonClass, ErrorMessage, Field, FieldProblem, inputClass, Ltr, useFieldProblems } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { formatLanguage, formatNumber, formatPrice, intlLocale } from '@/lib/format/format';
import { browserTimeZone, TENANT_LOCALES } from '@/lib/tenant-locale';
import { acceptedShape, zoneName } from '@/lib/time-zones';
import { TimeZoneField } from '@/components/ui/time-zone-field';
import { errorText } from '@/lib/error-text';
import { templateName } from '@/lib/template-name';
import { checkCredential, useTemplates, type CredentialDto, type OnboardingDto, type OnboardingPatch } from './api';
import { draftFrom, type Draft, type DraftStep } from './draft';
import { IssueText } from './issue-text';
import { checkText } from '@/features/credentials/check-text';
import type { SaveStatus } from './use-autosave';
import { planName } from '@/lib/plan-name';

export { TelephonyStep } from './telephony-step';
export { AssistantStep } from './assistant-step';

/** What every step receives: the draft and its autosave, the last server state, and a way to record a new one. */
export interface StepProps {
  draft: Draft;
  edit: <S extends DraftStep>(step: S, change: Partial<Draft[S]>) => void;
  save: (extra?: OnboardingPatch) => Promise<OnboardingDto | null>;
  reset: (fresh: Draft) => void;
  status: SaveStatus;
  /** The last autosave's failure (a 422 names the profile fields at fault in its details). */
  error: unknown;
  server: OnboardingDto;
  setServer: (s: OnboardingDto) => void;
}

export const INDUSTRIES = ['plumbing', 'hvac', 'electrician', 'locksmith', 'roofing', 'dental-clinic', 'veterinary-clinic', 'notary', 'law-firm', 'real-estate', 'hair-salon', 'restaurant', 'other'];
const VOICE_LANGUAGES = ['fr-CA', 'en-US', 'en-CA', 'es-US', 'he-IL', 'ar'];
const TONES = ['warm', 'formal', 'concise', 'friendly'];
const KNOWN_INTEGRATIONS: Record<'calendar' | 'crm' | 'workspace', string[]> = {
  calendar: ['google-calendar', 'outlook-calendar', 'calendly', 'cal-com'],
  crm: ['hubspot', 'salesforce', 'pipedrive', 'zoho', 'jobber', 'housecall-pro'],
  workspace: ['slack', 'microsoft-teams', 'google-workspace'],
};

/** A link to a settings page that brings the user back to the wizard (`?returnTo=/onboarding`). */
export function SettingsLink({ to, children }: { to: '/settings/credentials'; children: ReactNode }) {
  return (
    <Link to={to} search={{ returnTo: '/onboarding' }} className={buttonClass('secondary')}>
      {children}
    </Link>
  );
}

/** Runs an explicit save (secrets, attach, create) and keeps its result or error for the step to show. */
export function useAction(props: StepProps) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (patch: OnboardingPatch): Promise<OnboardingDto | null> => {
    setBusy(true);
    try {
      const state = await props.save(patch);
      setError(null);
      if (state) props.reset(draftFrom(state));
      return state;
    } catch (e) {
      setError(e);
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}

export function CredentialStatus({ credential }: { credential: CredentialDto }) {
  const { t } = useTranslation();
  if (!credential.configured) return <Badge tone="slate">{t('onboarding.credential.notConfigured')}</Badge>;
  return (
    <span className="flex flex-wrap items-center gap-2 text-sm">
      <Badge tone="green">{t('onboarding.credential.configured')}</Badge>
      {credential.preview ? <Ltr>{credential.preview}</Ltr> : null}
      {credential.accountSid ? <Ltr>{credential.accountSid}</Ltr> : null}
      {credential.lastCheck ? (
        <Badge tone={credential.lastCheck.ok ? 'green' : 'red'}>{credential.lastCheck.ok ? t('onboarding.credential.checkOk') : t('onboarding.credential.checkFailed')}</Badge>
      ) : null}
    </span>
  );
}

/** The profile fields shown beside their controls (the wizard's summary lists any others). */
export const PROFILE_FIELDS = ['fullName', 'organisation', 'industry', 'locale', 'timeZone', 'acceptedTerms', 'acceptedTerms.version', 'acceptedTerms.at'];

export function ProfileStep({ draft, edit, server, error }: StepProps) {
  const { t } = useTranslation();
  const problem = useFieldProblems(error);
  const termsProblem = problem('acceptedTerms') ?? problem('acceptedTerms.version') ?? problem('acceptedTerms.at');
  const { locale } = useFormat();
  const p = draft.profile;
  const set = (change: Partial<Draft['profile']>) => edit('profile', change);
  const browserZone = browserTimeZone();
  // An organisation still on the server's default zone gets the browser's, until the owner first completes this step
  // (after that, UTC is their choice): the zone is what hours, analytics days and callback windows are read in.
  const firstVisit = !server.profile.acceptedTerms;
  useEffect(() => {
    if (firstVisit && p.timeZone === 'UTC' && browserZone && browserZone !== 'UTC' && acceptedShape(browserZone)) set({ timeZone: browserZone });
    // Once, on arrival: the owner may pick UTC again afterwards.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
      <Field label={t('onboarding.profile.fullName')} error={problem('fullName')}>
        <input className={inputClass} value={p.fullName} autoComplete="name" required onChange={(e) => set({ fullName: e.target.value })} />
      </Field>
      <Field label={t('onboarding.profile.organisation')} error={problem('organisation')}>
        <input className={inputClass} value={p.organisation} autoComplete="organization" required onChange={(e) => set({ organisation: e.target.value })} />
      </Field>
      <Field label={t('onboarding.profile.industry')} error={problem('industry')}>
        <select className={inputClass} value={p.industry} onChange={(e) => set({ industry: e.target.value })}>
          <option value="">—</option>
          {INDUSTRIES.map((i) => (
            <option key={i} value={i}>
              {t(`onboarding.trades.${i}`)}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('onboarding.profile.locale')} error={problem('locale')}>
        <select className={inputClass} value={p.locale} onChange={(e) => set({ locale: e.target.value })}>
          {[...new Set([p.locale, ...TENANT_LOCALES])].map((l) => (
            <option key={l} value={l}>
              {formatLanguage(l, locale)}
            </option>
          ))}
        </select>
      </Field>
      <TimeZoneField label={t('onboarding.profile.timeZone')} error={problem('timeZone')} value={p.timeZone} onChange={(timeZone) => set({ timeZone })} locale={locale} suggest={browserZone} />
      <div className="flex items-end">
        {browserZone && browserZone !== p.timeZone ? (
          <Button onClick={() => set({ timeZone: browserZone })}>{t('onboarding.profile.useMyZone', { zone: zoneName(browserZone, intlLocale(locale)) })}</Button>
        ) : null}
      </div>
      <label className="flex items-center gap-2 text-sm sm:col-span-2">
        <input type="checkbox" checked={p.marketingOptIn} onChange={(e) => set({ marketingOptIn: e.target.checked })} />
        {t('onboarding.profile.marketing')}
      </label>
      <label className="flex items-center gap-2 text-sm sm:col-span-2">
        <input
          type="checkbox"
          checked={p.acceptTerms}
          disabled={p.acceptTerms && server.profile.acceptedTerms?.version === server.profile.termsVersion}
          onChange={(e) => set({ acceptTerms: e.target.checked })}
          aria-invalid={termsProblem ? true : undefined}
          aria-describedby={termsProblem ? 'problem-terms' : undefined}
        />
        {t('onboarding.profile.terms', { version: server.profile.termsVersion })}
      </label>
      {termsProblem ? (
        <div className="sm:col-span-2">
          <FieldProblem id="problem-terms" message={termsProblem} />
        </div>
      ) : null}
    </div>
  );
}

export function VoiceProviderStep(props: StepProps) {
  const { t } = useTranslation();
  const { draft, edit, server } = props;
  const [vapiKey, setVapiKey] = useState('');
  const [openAiKey, setOpenAiKey] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [check, setCheck] = useState<{ ok: boolean; message: string } | null>(null);
  const action = useAction(props);
  const provider = draft.voiceProvider.provider;
  const saveVapi = async () => {
    const state = await action.run({ voiceProvider: { provider: 'vapi', vapiApiKey: vapiKey, openAiApiKey: null, openAiBaseUrl: null } });
    if (state?.voiceProvider.vapi.configured && !state.warnings.some((w) => w.field === 'vapiApiKey')) {
      setVapiKey('');
      try {
        setCheck(await checkCredential('vapi'));
      } catch (e) {
        setCheck({ ok: false, message: errorText(e, t) });
      }
    }
  };
  const saveOpenAi = async () => {
    const state = await action.run({ voiceProvider: { provider: 'realtime', vapiApiKey: null, openAiApiKey: openAiKey, openAiBaseUrl: baseUrl || null } });
    if (state?.voiceProvider.openAi.configured) setOpenAiKey('');
  };
  return (
    <div className="flex flex-col gap-4">
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-sm font-medium">{t('onboarding.voice.provider')}</legend>
        {['vapi', 'realtime'].map((v) => (
          <label key={v} className="flex items-start gap-2 text-sm">
            <input type="radio" name="provider" value={v} checked={provider === v} onChange={() => edit('voiceProvider', { provider: v })} />
            <span>
              <span className="font-medium">{t(`onboarding.voice.${v}`)}</span>
              <span className="block text-slate-600 dark:text-slate-400">{t(`onboarding.voice.${v}Help`)}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {provider === 'vapi' ? (
        <div className="flex flex-col gap-2">
          <CredentialStatus credential={server.voiceProvider.vapi} />
          <div className="flex flex-wrap items-end gap-2">
            <Field label={t('onboarding.voice.vapiKey')} className="min-w-0 flex-1">
              <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={vapiKey} onChange={(e) => setVapiKey(e.target.value)} />
            </Field>
            <Button variant="primary" disabled={action.busy || vapiKey.trim().length === 0} onClick={() => void saveVapi()}>
              {t('onboarding.voice.saveKey')}
            </Button>
          </div>
          {check ? (
            <p role="status" className="text-sm">
              <Badge tone={check.ok ? 'green' : 'red'}>{check.ok ? t('onboarding.credential.checkOk') : t('onboarding.credential.checkFailed')}</Badge> {checkText(check, t)}
            </p>
          ) : null}
        </div>
      ) : null}
      {provider === 'realtime' ? (
        <div className="flex flex-col gap-2">
          <CredentialStatus credential={server.voiceProvider.openAi} />
          <div className="grid grid-cols-1 gap-2 sm:grid-cols-2">
            <Field label={t('onboarding.voice.openAiKey')}>
              <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={openAiKey} onChange={(e) => setOpenAiKey(e.target.value)} />
            </Field>
            <Field label={t('onboarding.voice.baseUrl')}>
              <input className={inputClass} dir="ltr" placeholder="https://api.openai.com/v1" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
            </Field>
          </div>
          <div>
            <Button variant="primary" disabled={action.busy || openAiKey.trim().length === 0} onClick={() => void saveOpenAi()}>
              {t('onboarding.voice.saveKey')}
            </Button>
          </div>
        </div>
      ) : null}
      <ErrorMessage error={action.error} />
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span>{t('onboarding.orSettings')}</span>
        <SettingsLink to="/settings/credentials">{t('onboarding.goToSettings')}</SettingsLink>
      </div>
    </div>
  );
}

export function PersonaStep({ draft, edit, server }: StepProps) {
  const { t, i18n } = useTranslation();
  const { locale } = useFormat();
  const tenantId = useTenantId();
  const templates = useTemplates(tenantId, i18n.resolvedLanguage === 'fr' ? 'fr' : 'en');
  const p = draft.persona;
  const set = (change: Partial<Draft['persona']>) => edit('persona', change);
  const toggle = (lang: string, on: boolean) => set({ languages: on ? [...p.languages, lang] : p.languages.filter((l) => l !== lang) });
  const fromTemplate = (id: string) => {
    const tpl = templates.data?.items.find((x) => x.id === id);
    if (tpl) set({ persona: `${tpl.assistantName} — ${tpl.name}`, languages: [...tpl.languages], guidelines: tpl.instructions });
  };
  const items = [...(templates.data?.items ?? [])].sort((a, b) => Number(b.trade === server.profile.industry) - Number(a.trade === server.profile.industry));
  return (
    <div className="grid grid-cols-1 gap-3">
      <Field label={t('onboarding.persona.template')}>
        <select className={`${inputClass} w-full max-w-full`} value="" onChange={(e) => fromTemplate(e.target.value)}>
          <option value="">{t('onboarding.persona.templateNone')}</option>
          {items.map((tpl) => (
            <option key={tpl.id} value={tpl.id}>
              {templateName(tpl, t)} ({tpl.assistantName})
            </option>
          ))}
        </select>
      </Field>
      <ErrorMessage error={templates.error} />
      <Field label={t('onboarding.persona.persona')}>
        <textarea className={inputClass} rows={2} value={p.persona} placeholder={t('onboarding.persona.personaPlaceholder')} onChange={(e) => set({ persona: e.target.value })} />
      </Field>
      <Field label={t('onboarding.persona.job')}>
        <textarea className={inputClass} rows={2} value={p.jobToBeDone} placeholder={t('onboarding.persona.jobPlaceholder')} onChange={(e) => set({ jobToBeDone: e.target.value })} />
      </Field>
      <fieldset>
        <legend className="mb-1 text-sm font-medium">{t('onboarding.persona.languages')}</legend>
        <div className="flex flex-wrap gap-3">
          {[...new Set([...VOICE_LANGUAGES, ...p.languages])].map((l) => (
            <label key={l} className="flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={p.languages.includes(l)} onChange={(e) => toggle(l, e.target.checked)} />
              {formatLanguage(l, locale)}
            </label>
          ))}
        </div>
      </fieldset>
      <Field label={t('onboarding.persona.tone')}>
        <select className={inputClass} value={p.tone} onChange={(e) => set({ tone: e.target.value })}>
          <option value="">—</option>
          {[...new Set([...TONES, ...(p.tone ? [p.tone] : [])])].map((tone) => (
            <option key={tone} value={tone}>
              {t(`onboarding.persona.tones.${tone}`, { defaultValue: tone })}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('onboarding.persona.guidelines')}>
        <textarea className={inputClass} rows={4} value={p.guidelines} placeholder={t('onboarding.persona.guidelinesPlaceholder')} onChange={(e) => set({ guidelines: e.target.value })} />
      </Field>
      <Field label={t('onboarding.persona.fallbackEmail')}>
        <input className={inputClass} type="email" dir="ltr" value={p.fallbackEmail} onChange={(e) => set({ fallbackEmail: e.target.value })} />
      </Field>
    </div>
  );
}

export function TwilioStep(props: StepProps) {
  const { t } = useTranslation();
  const { server } = props;
  const [sid, setSid] = useState('');
  const [token, setToken] = useState('');
  const [sender, setSender] = useState(server.twilio.credential.smsSender ?? '');
  const action = useAction(props);
  const save = async () => {
    const state = await action.run({ twilio: { accountSid: sid || null, authToken: token || null, smsSender: sender } });
    if (state && !state.warnings.some((w) => w.step === 'twilio')) setToken('');
  };
  const sms = server.twilio.sms;
  // The checklist's item says why in the owner's words; `sms.problem` is the API's sentence for integrators.
  const senderMissing = server.missing.find((m) => m.step === 'twilio' && m.field === 'smsSender');
  return (
    <div className="flex flex-col gap-3">
      <CredentialStatus credential={server.twilio.credential} />
      <p className="text-sm">
        {t('onboarding.twilio.sender')}: {sms.sender ? <Ltr>{sms.sender}</Ltr> : <span>{senderMissing ? <IssueText issue={senderMissing} /> : t('onboarding.twilio.noSender')}</span>}
      </p>
      <div className="grid grid-cols-1 gap-2 sm:grid-cols-3">
        <Field label={t('onboarding.twilio.accountSid')}>
          <input className={inputClass} dir="ltr" autoComplete="off" placeholder="AC…" value={sid} onChange={(e) => setSid(e.target.value.trim())} />
        </Field>
        <Field label={t('onboarding.twilio.authToken')}>
          <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
        </Field>
        <Field label={t('onboarding.twilio.smsSender')}>
          <input className={inputClass} dir="ltr" placeholder="+15145550100 / MG…" value={sender} onChange={(e) => setSender(e.target.value.trim())} />
        </Field>
      </div>
      <p className="text-xs text-slate-600 dark:text-slate-400">{t('onboarding.twilio.senderHelp')}</p>
      <div>
        <Button variant="primary" disabled={action.busy || ((sid === '' || token === '') && !server.twilio.credential.configured)} onClick={() => void save()}>
          {t('onboarding.twilio.save')}
        </Button>
      </div>
      <ErrorMessage error={action.error} />
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span>{t('onboarding.orSettings')}</span>
        <SettingsLink to="/settings/credentials">{t('onboarding.goToSettings')}</SettingsLink>
      </div>
    </div>
  );
}

export function IntegrationsStep({ draft, edit }: StepProps) {
  const { t } = useTranslation();
  return (
    <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
      {(['calendar', 'crm', 'workspace'] as const).map((kind) => (
        <Field key={kind} label={t(`onboarding.integrations.${kind}`)}>
          <select className={inputClass} value={draft.integrations[kind]} onChange={(e) => edit('integrations', { [kind]: e.target.value })}>
            <option value="">{t('onboarding.integrations.none')}</option>
            {KNOWN_INTEGRATIONS[kind].map((v) => (
              <option key={v} value={v}>
                {t(`onboarding.integrations.names.${v}`)}
              </option>
            ))}
          </select>
        </Field>
      ))}
    </div>
  );
}

export function PlanStep({ draft, edit, server }: StepProps) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  return (
    <fieldset className="grid grid-cols-1 gap-2 sm:grid-cols-2">
      <legend className="sr-only">{t('onboarding.steps.plan')}</legend>
      {server.plan.available.map((plan) => (
        <label key={plan.id} className="flex items-start gap-2 rounded-md border border-slate-200 p-3 text-sm dark:border-slate-700">
          <input type="radio" name="plan" value={plan.id} checked={draft.plan.planId === plan.id} onChange={() => edit('plan', { planId: plan.id })} />
          <span>
            <span className="font-medium">{planName(t, plan)}</span> — {t('onboarding.plan.perMonth', { price: formatPrice(plan.monthlyPriceUsd, locale) })}
            <span className="block text-slate-600 dark:text-slate-400">
              {t('onboarding.plan.details', { minutes: formatNumber(plan.includedMinutes, locale), count: plan.concurrentCalls })}
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}
