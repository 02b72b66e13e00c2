import type { TFunction } from 'i18next';

/**
 * A plan's name in the reader's language: the catalog's plans (`free`, `starter`, `pro`, `telephony`; `PlanCatalog`)
 * have their names in the locale files ("Gratuit", "مجانية"); a plan the dashboard does not know keeps the server's name.
 */
export function planName(t: TFunction, plan: { id: string; name: string }): string {
  return t(`plans.${plan.id}`, { defaultValue: plan.name });
}
