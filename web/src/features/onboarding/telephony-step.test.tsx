// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryHistory, createRootRoute, createRouter, RouterProvider } from '@tanstack/react-router';
import i18n from '@/lib/i18n';
import { keys } from '@/lib/query-keys';
import { featureName } from '@/lib/error-text';
import { planName } from '@/lib/plan-name';
import type { CurrentPlan } from '@/lib/plan';
import type { SessionInfo } from '@/lib/session';
import { render } from '@/testing/render';
import type { OnboardingDto } from './api';
import type { Draft } from './draft';
import type { StepProps } from './steps';
import { TelephonyStep } from './telephony-step';

const TENANT = '00000000-0000-0000-0000-0000000000a1';

const draft: Draft = {
  profile: { fullName: 'Ada', organisation: 'Plomberie', industry: 'plumbing', timeZone: 'America/Toronto', locale: 'fr-CA', marketingOptIn: false, acceptTerms: true },
  voiceProvider: { provider: '' },
  persona: { persona: '', jobToBeDone: '', languages: [], tone: '', guidelines: '', fallbackEmail: '' },
  telephony: { hours: { weekly: { monday: ['09:00-17:00'] }, holidays: [] }, afterHours: 'assistant', forwardTo: '', message: '' },
  integrations: { calendar: '', crm: '', workspace: '' },
  plan: { planId: 'free' },
};
// Only what the step reads of the server state.
const server = { telephony: { number: null, timeZone: 'America/Toronto' } } as unknown as OnboardingDto;

function plan(id: string, features: string[]): CurrentPlan {
  return { plan: { id, name: id, features }, changedAt: null } as unknown as CurrentPlan;
}

/** Renders the step as the wizard does, over a query cache that already holds the session, studio and `currentPlan`. */
async function renderStep(currentPlan: CurrentPlan) {
  const qc = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  qc.setQueryData(keys.session, { tenant: { id: TENANT } } as unknown as SessionInfo);
  qc.setQueryData(keys.studio(TENANT), { timeZone: 'America/Toronto' });
  qc.setQueryData(keys.plan(TENANT), currentPlan);
  const props: StepProps = {
    draft,
    edit: vi.fn(),
    save: vi.fn(async () => null),
    reset: vi.fn(),
    status: 'idle',
    error: null,
    server,
    setServer: vi.fn(),
  };
  const router = createRouter({ routeTree: createRootRoute({ component: () => <TelephonyStep {...props} /> }), history: createMemoryHistory({ initialEntries: ['/onboarding'] }) });
  await router.load();
  return render(
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

let fetchMock: ReturnType<typeof vi.fn>;
let unmount: (() => Promise<void>) | undefined;
beforeEach(async () => {
  await i18n.changeLanguage('en');
  // Every answer the step needs is in the cache: any request (a number attach refused with 403…) is a failure.
  fetchMock = vi.fn(() => Promise.reject(new Error('unexpected request')));
  vi.stubGlobal('fetch', fetchMock);
  vi.spyOn(window, 'scrollTo').mockImplementation(() => undefined); // the router restores scroll; jsdom has no layout
});
afterEach(async () => {
  await unmount?.();
  unmount = undefined;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('TelephonyStep and the plan', () => {
  it('on a plan without telephony shows the upsell note instead of the number, keeps the hours, and asks nothing of the server', async () => {
    const r = await renderStep(plan('free', ['widget']));
    unmount = r.unmount;
    const text = r.container.textContent ?? '';
    const note = r.container.querySelector('[role=note]');
    expect(note?.textContent).toContain(i18n.t('billing.upsell.text', { plan: planName(i18n.t, { id: 'free', name: 'free' }), feature: featureName(i18n.t, 'telephony') }));
    expect(note?.querySelector('a')?.getAttribute('href')).toBe('/settings/plan');
    expect(text).toContain(i18n.t('onboarding.telephony.noPhoneHelp'));
    expect(r.container.querySelector('input[type=tel]')).toBeNull();
    expect(text).not.toContain(i18n.t('onboarding.telephony.attach'));
    expect(text).not.toContain(i18n.t('onboarding.telephony.afterHours'));
    // The business hours are still there to set.
    expect(r.container.querySelector(`[role=group][aria-label="${i18n.t('onboarding.days.monday')}"]`)).not.toBeNull();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('on a plan with telephony offers the number and the after-hours choice, without the note', async () => {
    const r = await renderStep(plan('telephony', ['telephony', 'widget']));
    unmount = r.unmount;
    const text = r.container.textContent ?? '';
    expect(r.container.querySelector('[role=note]')).toBeNull();
    expect(text).not.toContain(i18n.t('onboarding.telephony.noPhoneHelp'));
    expect(r.container.querySelector('input[type=tel]')).not.toBeNull();
    expect(text).toContain(i18n.t('onboarding.telephony.attach'));
    expect(text).toContain(i18n.t('onboarding.telephony.afterHours'));
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
