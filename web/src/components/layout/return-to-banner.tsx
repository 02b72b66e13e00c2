import { useRouter } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";
import { ArrowLeft } from "lucide-react";
import { buttonClass } from "@/components/ui/ui";
import { safeReturnTo } from "@/lib/return-to";

/**
 * The banner a settings page shows when it was opened with a valid `?returnTo=` (the onboarding wizard's "go to Settings
 * and come back"): a link back, "Back to onboarding" when it leads there, else "Back". Nothing for an invalid value.
 */
export function ReturnToBanner({ returnTo }: { returnTo: unknown }) {
  const { t } = useTranslation();
  const router = useRouter();
  const target = safeReturnTo(returnTo);
  if (!target) return null;
  const toOnboarding = target.startsWith("/onboarding");
  const label = toOnboarding
    ? t("studio.returnTo.onboarding")
    : t("studio.returnTo.back");
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-sky-300 bg-sky-50 p-3 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100">
      <span>
        {toOnboarding ? t("admin.returnTo.text") : t("studio.returnTo.hint")}
      </span>
      <a
        href={target}
        className={buttonClass("primary")}
        onClick={(e) => {
          e.preventDefault();
          router.history.push(target);
        }}
      >
        <ArrowLeft aria-hidden className="size-4 rtl:rotate-180" />
        {label}
      </a>
    </div>
  );
}
