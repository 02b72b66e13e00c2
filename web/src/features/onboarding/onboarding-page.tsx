import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { Check, CircleDashed } from 'lucide-react';
import { Badge, Button, buttonClass, Card, ErrorMessage, PageTitle } from '@/components/ui/ui';
import { useTenantId } from '@/lib/session';
import { cn } from '@/lib/cn';
import { completeOnboarding, isStep, onboardingKey, STEPS, useOnboardingState, type OnboardingDto, type OnboardingIssue, type Step } from './api';
import { draftFrom } from './draft';
import { stepDone } from './step-status';
import { IssueText, WarningText } from './issue-text';
import { useAutosave, type SaveStatus } from './use-autosave';
import { AssistantStep, IntegrationsStep, PersonaStep, PlanStep, PROFILE_FIELDS, ProfileStep, TelephonyStep, TwilioStep, VoiceProviderStep, type StepProps } from './steps';

/** `/onboarding`: the nine-step wizard over GET/PATCH /api/v1/onboarding, resumed at the step stored server-side. */
export function OnboardingPage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const state = useOnboardingState(tenantId);
  return (
    <>
      <PageTitle>{t('onboarding.title')}</PageTitle>
      <ErrorMessage error={state.error} />
      {state.data && !state.isFetching ? <Wizard initial={state.data} /> : state.error ? null : <p>{t('common.loading')}</p>}
    </>
  );
}

/** The autosave state; a save the server answered with warnings (some values not kept) is not shown as a plain "Saved". */
function SaveState({ status, warnings }: { status: SaveStatus; warnings: number }) {
  const { t } = useTranslation();
  const withWarnings = status === 'saved' && warnings > 0;
  const tone = status === 'error' ? 'red' : withWarnings ? 'amber' : status === 'saved' ? 'green' : status === 'idle' ? 'slate' : 'amber';
  return (
    <span role="status" aria-live="polite" data-save-status={status}>
      <Badge tone={tone}>{withWarnings ? t('onboarding.save.savedWithWarnings') : t(`onboarding.save.${status}`)}</Badge>
    </span>
  );
}

/**
 * The nine steps as a strip of buttons. On a narrow screen the strip scrolls sideways, so the current step is scrolled into
 * view whenever it changes (resuming at step 7 on a 375 px phone otherwise showed steps 1 to 3 only).
 */
function Stepper({ current, state, onGo }: { current: Step; state: OnboardingDto; onGo: (s: Step) => void }) {
  const { t } = useTranslation();
  const currentButton = useRef<HTMLButtonElement>(null);
  // What widens the buttons: a step's "(skipped)" mark arrives with the saved state, after the step has changed, and
  // pushed the current step back off the strip's edge (skipping the plan left "9. Launch" cut at 375 px).
  const marks = STEPS.map((s) => `${stepDone(s, state) ? 1 : 0}${state.skipped[s] ? 1 : 0}`).join('');
  useEffect(() => {
    // 'nearest' on the block axis: the page itself does not move when the strip is already on screen.
    currentButton.current?.scrollIntoView({ block: 'nearest', inline: 'center' });
  }, [current, marks]);
  return (
    <nav aria-label={t('onboarding.stepper')} className="-mx-1 mb-4 overflow-x-auto pb-1">
      <ol className="flex min-w-max gap-1 px-1 lg:min-w-0 lg:flex-wrap">
        {STEPS.map((s, i) => {
          const done = stepDone(s, state);
          return (
            <li key={s}>
              <button
                ref={s === current ? currentButton : undefined}
                type="button"
                onClick={() => onGo(s)}
                aria-current={s === current ? 'step' : undefined}
                className={cn(
                  // relative: the visually hidden "done" text is placed inside the button, so inside the scrolling strip, not
                  // at its static position off the screen's edge (it widened the page at 375 px).
                  'relative flex items-center gap-1.5 rounded-full border px-3 py-1.5 text-sm whitespace-nowrap',
                  s === current
                    ? 'border-brand-600 bg-brand-600 text-white'
                    : 'border-slate-300 bg-white text-slate-800 hover:bg-slate-100 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800',
                )}
              >
                {done ? <Check aria-hidden className="size-3.5" /> : <CircleDashed aria-hidden className="size-3.5" />}
                <span>
                  {i + 1}. {t(`onboarding.steps.${s}`)}
                </span>
                {done ? <span className="sr-only">({t('onboarding.doneMark')})</span> : null}
                {/* A step done since (or before) it was skipped is done: "✓ 8. Plan (skipped)" read as both at once. */}
                {state.skipped[s] && !done ? <span className="text-xs opacity-80">({t('onboarding.skippedMark')})</span> : null}
              </button>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}

function Warnings({ warnings }: { warnings: OnboardingIssue[] }) {
  const { t } = useTranslation();
  if (warnings.length === 0) return null;
  return (
    <div role="status" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-200">
      <p className="font-medium">{t('onboarding.warnings')}</p>
      <ul className="mt-1 list-disc ps-5">
        {warnings.map((w, i) => (
          <li key={i}>
            {t(`onboarding.steps.${w.step}`, { defaultValue: w.step })} — <WarningText issue={w} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function Wizard({ initial }: { initial: OnboardingDto }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const tenantId = useTenantId();
  const [server, setServer] = useState(initial);
  const [step, setStep] = useState<Step>(isStep(initial.currentStep) ? initial.currentStep : 'profile');
  const onSaved = useCallback(
    (s: OnboardingDto) => {
      setServer(s);
      qc.setQueryData(onboardingKey(tenantId), s);
    },
    [qc, tenantId],
  );
  const autosave = useAutosave(draftFrom(initial), initial.profile.termsVersion, onSaved);
  const { save, flush } = autosave;

  const go = (next: Step, extra: Parameters<typeof save>[0] = {}) => {
    setStep(next);
    window.scrollTo({ top: 0 });
    save({ currentStep: next, ...extra }).catch(() => undefined);
  };
  const index = STEPS.indexOf(step);
  const nextStep = STEPS[Math.min(index + 1, STEPS.length - 1)]!;
  const prevStep = STEPS[Math.max(index - 1, 0)]!;
  const p = autosave.draft.profile;
  const profileReady = p.fullName.trim() !== '' && p.organisation.trim() !== '' && p.acceptTerms;

  const props: StepProps = { ...autosave, server, setServer: onSaved };
  return (
    <div onBlur={flush}>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-600 dark:text-slate-400">{t('onboarding.progress', { current: index + 1, total: STEPS.length })}</p>
        <SaveState status={autosave.status} warnings={server.warnings.length} />
      </div>
      <Stepper current={step} state={server} onGo={(s) => go(s)} />
      <ErrorMessage error={autosave.error} shownFields={step === 'profile' ? PROFILE_FIELDS : []} />
      <Warnings warnings={server.warnings} />
      <Card>
        <h2 className="mb-1 text-lg font-semibold">{t(`onboarding.steps.${step}`)}</h2>
        <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t(`onboarding.intro.${step}`)}</p>
        {step === 'profile' ? <ProfileStep {...props} /> : null}
        {step === 'voiceProvider' ? <VoiceProviderStep {...props} /> : null}
        {step === 'persona' ? <PersonaStep {...props} /> : null}
        {step === 'twilio' ? <TwilioStep {...props} /> : null}
        {step === 'telephony' ? <TelephonyStep {...props} /> : null}
        {step === 'integrations' ? <IntegrationsStep {...props} /> : null}
        {step === 'assistant' ? <AssistantStep {...props} /> : null}
        {step === 'plan' ? <PlanStep {...props} /> : null}
        {step === 'done' ? <LaunchSummary server={server} onGo={(s) => go(s)} /> : null}
      </Card>
      {step !== 'done' ? (
        <div className="mt-4 flex flex-wrap items-center justify-between gap-2">
          <Button onClick={() => go(prevStep)} disabled={index === 0}>
            {t('onboarding.back')}
          </Button>
          <div className="flex flex-wrap gap-2">
            {step !== 'profile' ? (
              <Button variant="ghost" onClick={() => go(nextStep, { skipped: { [step]: true } })}>
                {t('onboarding.skip')}
              </Button>
            ) : null}
            <Button
              variant="primary"
              disabled={step === 'profile' && !profileReady}
              onClick={() => go(nextStep, step === 'profile' || !server.skipped[step] ? {} : { skipped: { [step]: false } })}
            >
              {t('onboarding.continue')}
            </Button>
          </div>
          {step === 'profile' && !profileReady ? <p className="w-full text-sm text-slate-600 dark:text-slate-400">{t('onboarding.profile.required')}</p> : null}
        </div>
      ) : null}
    </div>
  );
}

function LaunchSummary({ server, onGo }: { server: OnboardingDto; onGo: (s: Step) => void }) {
  const { t } = useTranslation();
  const [result, setResult] = useState<{ completedAt: string; missing: OnboardingIssue[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const missing = result?.missing ?? server.missing;
  const finish = async () => {
    setBusy(true);
    try {
      setResult(await completeOnboarding());
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const completed = result !== null || server.completedAt !== null;
  return (
    <div className="flex flex-col gap-4">
      {completed ? (
        <p role="status" className="rounded-md border border-emerald-300 bg-emerald-50 p-3 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">
          {t('onboarding.done.completed')}
        </p>
      ) : null}
      {missing.length === 0 ? (
        <p>{t('onboarding.done.nothingMissing')}</p>
      ) : (
        <section aria-labelledby="missing-title">
          <h3 id="missing-title" className="mb-2 font-medium">
            {t('onboarding.done.missingTitle', { count: missing.length })}
          </h3>
          {/* On a phone each item is the step's link over its sentence, every sentence starting at the same edge; from
              sm up, the links are one column and the sentences another. Wrapping all three in one row left long
              sentences under the link at one item and beside it at the next. */}
          <ul className="flex flex-col gap-3 sm:gap-2">
            {missing.map((m, i) => (
              <li key={i} className="flex flex-col items-start gap-0.5 text-sm sm:flex-row sm:items-baseline sm:gap-3">
                <Button variant="ghost" className="min-h-0 shrink-0 justify-start px-0 py-0 text-start underline sm:w-44" onClick={() => isStep(m.step) && onGo(m.step)}>
                  {t(`onboarding.steps.${m.step}`, { defaultValue: m.step })}
                </Button>
                <span className="min-w-0 flex-1 break-words">
                  <IssueText issue={m} />
                  {m.skipped ? (
                    <>
                      {' '}
                      <Badge tone="amber">{t('onboarding.skippedMark')}</Badge>
                    </>
                  ) : null}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <ErrorMessage error={error} />
      <div className="flex flex-wrap gap-2">
        <Button variant="primary" disabled={busy} onClick={() => void finish()}>
          {t('onboarding.done.finish')}
        </Button>
        {completed ? (
          <Link to="/" className={buttonClass('secondary')}>
            {t('onboarding.done.toDashboard')}
          </Link>
        ) : null}
      </div>
    </div>
  );
}
