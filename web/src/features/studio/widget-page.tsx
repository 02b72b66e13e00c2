import { useState } from 'react';
import { useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, Card, ErrorMessage, inputClass, PageTitle } from '@/components/ui/ui';
import { useTenantId } from '@/lib/session';
import { cn } from '@/lib/cn';
import { useCreateWidgetKey, usePlanFeatures, useSaveOrigins, useSaveWidgetSettings, useWidget, type WidgetInstall, type WidgetSettings } from './api';
import { fieldErrors } from './http';
import { FieldError, ReturnToBanner } from './return-to';
import { Field } from './field';
import { useTabs } from '@/components/ui/tabs';
import { installScriptUrl, PLATFORMS, previewDocument, snippet, type Platform } from './snippets';

/** Settings → Widget: install snippet per platform, allowed origins, branding, and a live preview of the real widget. */
export function WidgetPage() {
  const { t } = useTranslation();
  const { returnTo } = useSearch({ from: '/_app/settings/widget' });
  const tenantId = useTenantId();
  const widget = useWidget(tenantId);
  return (
    <>
      <ReturnToBanner returnTo={returnTo} />
      <PageTitle>{t('studio.widget.title')}</PageTitle>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t('studio.widget.intro')}</p>
      <ErrorMessage error={widget.error} />
      {widget.isPending ? <p>{t('common.loading')}</p> : null}
      {widget.data ? (
        <div className="grid gap-4 xl:grid-cols-2">
          <div className="flex min-w-0 flex-col gap-4">
            <Install tenantId={tenantId} install={widget.data.install} />
            <Origins tenantId={tenantId} origins={widget.data.install.allowedOrigins} />
            <Branding tenantId={tenantId} settings={widget.data.settings} />
          </div>
          <Preview install={widget.data.install} settings={widget.data.settings} />
        </div>
      ) : null}
    </>
  );
}

function Install({ tenantId, install }: { tenantId: string; install: WidgetInstall }) {
  const { t } = useTranslation();
  const [platform, setPlatform] = useState<Platform>('html');
  const [copied, setCopied] = useState<string | null>(null);
  const create = useCreateWidgetKey(tenantId);
  const choose = (p: Platform) => {
    setPlatform(p);
    setCopied(null);
  };
  const tabs = useTabs(PLATFORMS, platform, choose);
  const key = install.publishableKey;
  const code = key ? snippet(platform, installScriptUrl(install.scriptUrl, window.location.origin), key) : '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied(t('studio.widget.copied'));
    } catch {
      setCopied(t('studio.widget.copyFailed'));
    }
  };
  return (
    <Card aria-label={t('studio.widget.install')}>
      <h2 className="mb-2 font-semibold">{t('studio.widget.install')}</h2>
      {!key ? (
        <div className="flex flex-col items-start gap-2">
          <p className="text-sm">{t('studio.widget.noKey')}</p>
          <Button variant="primary" disabled={create.isPending} onClick={() => create.mutate(t('studio.widget.keyName'))}>
            {t('studio.widget.createKey')}
          </Button>
          <ErrorMessage error={create.error} />
        </div>
      ) : (
        <>
          <div {...tabs.list} aria-label={t('studio.widget.platform')} className="mb-2 flex flex-wrap gap-1">
            {PLATFORMS.map((p) => (
              <button
                key={p}
                type="button"
                {...tabs.tab(p)}
                className={cn(
                  'rounded-md px-3 py-1.5 text-sm',
                  platform === p ? 'bg-brand-600 font-semibold text-white' : 'text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800',
                )}
              >
                {t(`studio.widget.platforms.${p}`)}
              </button>
            ))}
          </div>
          <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">{t(`studio.widget.where.${platform}`)}</p>
          {/* The panel is focusable (tabs.ts: tabIndex 0): a snippet wider than the screen scrolls sideways, and only
              Chromium lets the keyboard reach a scroller of its own. Labelled by its tab. */}
          <pre
            {...tabs.panel}
            dir="ltr"
            className="mb-2 overflow-x-auto rounded-md bg-slate-950 p-3 text-xs text-slate-100"
          >
            <code>{code}</code>
          </pre>
          <div className="flex items-center gap-2">
            <Button onClick={() => void copy()}>{t('studio.widget.copy')}</Button>
            {copied ? (
              <span role="status" className="text-sm text-slate-600 dark:text-slate-400">
                {copied}
              </span>
            ) : null}
          </div>
        </>
      )}
    </Card>
  );
}

function Origins({ tenantId, origins }: { tenantId: string; origins: string[] }) {
  const { t } = useTranslation();
  const save = useSaveOrigins(tenantId);
  const [rows, setRows] = useState<string[]>(origins.length > 0 ? origins : ['']);
  const [saved, setSaved] = useState(false);
  const errors = fieldErrors(save.error);
  return (
    <Card aria-label={t('studio.widget.origins')}>
      <form
        noValidate
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(
            rows.map((r) => r.trim()).filter(Boolean),
            {
              // Show the origins as the server normalised them (lower case, no default port, duplicates merged).
              onSuccess: (result) => {
                setRows(result.origins.length > 0 ? result.origins : ['']);
                setSaved(true);
              },
            },
          );
        }}
      >
        <h2 className="font-semibold">{t('studio.widget.origins')}</h2>
        <p className="text-sm text-slate-600 dark:text-slate-400">{t('studio.widget.originsHint')}</p>
        {rows.map((value, i) => (
          <div key={i} className="flex flex-col gap-1">
            <div className="flex gap-2">
              <input
                className={cn(inputClass, 'min-w-0 flex-1')}
                dir="ltr"
                type="url"
                aria-label={t('studio.widget.originN', { n: i + 1 })}
                placeholder="https://www.example.com"
                value={value}
                aria-invalid={errors[`origins[${i}]`] ? true : undefined}
                onChange={(e) => {
                  setRows((r) => r.map((x, j) => (j === i ? e.target.value : x)));
                  setSaved(false);
                }}
              />
              <Button aria-label={t('studio.widget.removeOrigin', { n: i + 1 })} onClick={() => setRows((r) => r.filter((_, j) => j !== i))}>
                ×
              </Button>
            </div>
            <FieldError id={`err-origin-${i}`} message={errors[`origins[${i}]`]} />
          </div>
        ))}
        <FieldError id="err-origins" message={errors.origins} />
        {save.error && Object.keys(errors).length === 0 ? <ErrorMessage error={save.error} /> : null}
        <div className="flex flex-wrap items-center gap-2">
          <Button disabled={rows.length >= 10} onClick={() => setRows((r) => [...r, ''])}>
            {t('studio.widget.addOrigin')}
          </Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {t('studio.widget.saveOrigins')}
          </Button>
          {saved && !save.isPending ? (
            <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
              {t('studio.actions.saved')}
            </span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

function Branding({ tenantId, settings }: { tenantId: string; settings: WidgetSettings }) {
  const { t } = useTranslation();
  const save = useSaveWidgetSettings(tenantId);
  // The colour (and avatar) show on the widget only with custom branding; the hint says so only to a plan without it.
  const features = usePlanFeatures(tenantId).data;
  const brandingMissing = features !== undefined && !features.includes('custom_branding');
  const [form, setForm] = useState({
    accentColor: settings.accentColor ?? '#2563eb',
    position: settings.position ?? 'end',
    title: settings.title ?? '',
    greeting: settings.greeting ?? '',
  });
  const errors = fieldErrors(save.error);
  return (
    <Card aria-label={t('studio.widget.branding')}>
      <form
        noValidate
        // grid-cols-1 (minmax(0, 1fr)), not the implicit auto column: a select is as wide as its longest option, and the
        // French position wording pushed the form past a 375 px screen.
        className="grid grid-cols-1 gap-3 sm:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({
            accentColor: form.accentColor,
            position: form.position,
            title: form.title.trim() || null,
            greeting: form.greeting.trim() || null,
            avatarUrl: settings.avatarUrl ?? null,
          });
        }}
      >
        <h2 className="font-semibold sm:col-span-2">{t('studio.widget.branding')}</h2>
        <div className="flex flex-col gap-1">
          <Field label={t('studio.widget.colour')} hint={brandingMissing ? t('studio.widget.brandingHint') : undefined}>
            <input className={cn(inputClass, 'h-9 w-20 p-1')} type="color" value={form.accentColor} onChange={(e) => setForm({ ...form, accentColor: e.target.value })} />
          </Field>
          <FieldError id="err-accent" message={errors.accentColor} />
        </div>
        {/* The options stay short, the right-to-left note under them: a long option was cut in the closed select, even at 1280 px. */}
        <Field label={t('studio.widget.position')} hint={t('studio.widget.positionHint')}>
          <select className={inputClass} value={form.position} onChange={(e) => setForm({ ...form, position: e.target.value })}>
            <option value="end">{t('studio.widget.positions.end')}</option>
            <option value="start">{t('studio.widget.positions.start')}</option>
          </select>
        </Field>
        <div className="flex flex-col gap-1 sm:col-span-2">
          <Field label={t('studio.widget.titleField')}>
            <input className={inputClass} dir="auto" maxLength={100} value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} />
          </Field>
          <FieldError id="err-title" message={errors.title} />
        </div>
        <div className="flex flex-col gap-1 sm:col-span-2">
          <Field label={t('studio.widget.greeting')}>
            <textarea className={inputClass} dir="auto" rows={2} maxLength={500} value={form.greeting} onChange={(e) => setForm({ ...form, greeting: e.target.value })} />
          </Field>
          <FieldError id="err-greeting" message={errors.greeting} />
        </div>
        {save.error && Object.keys(errors).length === 0 ? (
          <div className="sm:col-span-2">
            <ErrorMessage error={save.error} />
          </div>
        ) : null}
        <div className="flex items-center gap-2 sm:col-span-2">
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {t('studio.actions.save')}
          </Button>
          {save.isSuccess ? (
            <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
              {t('studio.actions.saved')}
            </span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

function Preview({ install, settings }: { install: WidgetInstall; settings: WidgetSettings }) {
  const { t, i18n } = useTranslation();
  const key = install.publishableKey;
  const lang = i18n.language.slice(0, 2);
  const dir = lang === 'he' || lang === 'ar' ? 'rtl' : 'ltr';
  // The script is this host's own /widget.js (same origin as the dashboard), whatever the public URL says.
  const scriptUrl = `${window.location.origin}/widget.js`;
  return (
    <Card aria-label={t('studio.widget.preview')} className="flex flex-col gap-2">
      <h2 className="font-semibold">{t('studio.widget.preview')}</h2>
      <p className="text-sm text-slate-600 dark:text-slate-400">{t('studio.widget.previewHint')}</p>
      {key ? (
        <iframe
          // A new document whenever the saved branding or the language changes.
          key={`${key}|${lang}|${JSON.stringify(settings)}`}
          title={t('studio.widget.preview')}
          className="h-[560px] w-full rounded-md border border-slate-200 dark:border-slate-700"
          srcDoc={previewDocument(scriptUrl, key, lang, settings.position ?? 'end', dir)}
        />
      ) : (
        <p className="text-sm">{t('studio.widget.noKey')}</p>
      )}
    </Card>
  );
}
