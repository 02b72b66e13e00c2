import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LOCALES } from '@/lib/i18n';
import { applyTheme, storedTheme, type Theme } from '@/lib/theme';
import { cn } from '@/lib/cn';
import { inputClass } from '@/components/ui/ui';

const NAMES: Record<string, string> = { en: 'English', fr: 'Français', he: 'עברית', ar: 'العربية' };

/** Language picker: switches the UI language and text direction at once. */
export function LanguageSelect({ compact = false }: { compact?: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <label className={cn('flex items-center gap-2 text-sm', compact ? '' : 'w-full justify-between')}>
      <span className={compact ? 'sr-only' : ''}>{t('prefs.language')}</span>
      <select className={inputClass} value={i18n.resolvedLanguage} onChange={(e) => void i18n.changeLanguage(e.target.value)}>
        {LOCALES.map((l) => (
          <option key={l} value={l} lang={l}>
            {NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ThemeSelect() {
  const { t } = useTranslation();
  const [theme, setTheme] = useState<Theme>(storedTheme);
  return (
    <label className="flex w-full items-center justify-between gap-2 text-sm">
      <span>{t('prefs.theme')}</span>
      <select
        className={inputClass}
        value={theme}
        onChange={(e) => {
          const next = e.target.value as Theme;
          setTheme(next);
          applyTheme(next);
        }}
      >
        <option value="system">{t('prefs.system')}</option>
        <option value="light">{t('prefs.light')}</option>
        <option value="dark">{t('prefs.dark')}</option>
      </select>
    </label>
  );
}
