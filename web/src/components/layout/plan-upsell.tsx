import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { buttonClass } from '@/components/ui/ui';
import { featureName } from '@/lib/error-text';
import { planName } from '@/lib/plan-name';
import type { CurrentPlan } from '@/lib/plan';

/**
 * What a page gated by a plan feature shows instead of its content on a plan without it (webhooks, numbers): a calm note,
 * in the information style (not an error: nothing went wrong), naming the feature and the plan, with a link to the plan
 * page. `feature` is the server's `Features` id (Billing/Plans.cs).
 */
export function PlanUpsell({ feature, plan }: { feature: string; plan: CurrentPlan | undefined }) {
  const { t } = useTranslation();
  return (
    <div
      role="note"
      className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-sky-300 bg-sky-50 p-3 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
    >
      <p className="max-w-prose">{t('billing.upsell.text', { plan: plan ? planName(t, plan.plan) : '—', feature: featureName(t, feature) })}</p>
      <Link to="/settings/plan" className={buttonClass('primary')}>
        {t('billing.upsell.link')}
      </Link>
    </div>
  );
}
